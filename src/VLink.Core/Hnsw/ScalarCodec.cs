using System.Runtime.CompilerServices;
using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

/// <summary>
/// Int8 codes of a vector: c = round((x − μ) / s) clipped to [−127, 127], with one scale s per vector. A coded
/// record is [codes (d rounded up to 4, zero padded)] [s] [s²·Σc²]; a coded query adds q·μ after them.
/// </summary>
/// <remarks>
/// Euclidean: |q − x|² ≈ |q̂|² + |x̂|² − 2·s_q·s_x·Σ c_q·c_x, both coded around μ (which cancels).
/// Inner product: q·x = q·(x − μ) + q·μ, so the query is coded as it is and q·μ is a per-query constant.
/// </remarks>
internal static unsafe class ScalarCodec
{
    /// <summary>Bytes a coded query needs: codes, scale, squared norm, q·μ.</summary>
    public static int QueryBytes(int dimension) => ((dimension + 3) & ~3) + 3 * sizeof(float);

    /// <summary>Codes <paramref name="x"/> − <paramref name="center"/> (or x itself when null) into <paramref name="destination"/>.</summary>
    public static void Encode(float* x, float[]? center, int dimension, double quantile, byte* destination, Span<float> scratch)
    {
        var centred = scratch[..dimension];
        for (int i = 0; i < dimension; i++) centred[i] = center is null ? x[i] : x[i] - center[i];
        float limit = Limit(centred, quantile, scratch.Slice(dimension, dimension));
        float scale = limit > 0f ? limit / 127f : 1f;
        float inverse = 1f / scale;
        int codeBytes = (dimension + 3) & ~3;
        var codes = (sbyte*)destination;
        long squares = 0;
        for (int i = 0; i < dimension; i++)
        {
            int c = (int)MathF.Round(centred[i] * inverse);
            c = Math.Clamp(c, -127, 127);
            codes[i] = (sbyte)c;
            squares += c * c;
        }
        for (int i = dimension; i < codeBytes; i++) codes[i] = 0;
        var tail = (float*)(destination + codeBytes);
        tail[0] = scale;
        tail[1] = (float)(scale * (double)scale * squares);
    }

    /// <summary>Codes a prepared query for the metric's code kernel (centred for Euclidean, with q·μ for inner products).</summary>
    public static void EncodeQuery(float* q, float[]? center, int dimension, double quantile, bool euclidean, byte* destination, Span<float> scratch)
    {
        Encode(q, euclidean ? center : null, dimension, quantile, destination, scratch);
        float dotCenter = 0f;
        if (!euclidean && center is not null)
        {
            fixed (float* c = center)
                dotCenter = VectorKernels.Dot(q, c, dimension);
        }
        ((float*)(destination + ((dimension + 3) & ~3)))[2] = dotCenter;
    }

    /// <summary>The magnitude the code range covers: the largest |component|, or its <paramref name="quantile"/>.</summary>
    private static float Limit(Span<float> centred, double quantile, Span<float> scratch)
    {
        if (quantile >= 1.0)
        {
            float max = 0f;
            foreach (float v in centred) max = MathF.Max(max, MathF.Abs(v));
            return max;
        }
        for (int i = 0; i < centred.Length; i++) scratch[i] = MathF.Abs(centred[i]);
        scratch.Sort();
        int rank = (int)Math.Ceiling(quantile * centred.Length) - 1;
        return scratch[Math.Clamp(rank, 0, centred.Length - 1)];
    }
}

/// <summary>Euclidean distance between a coded query and a coded record (see <see cref="ScalarCodec"/>).</summary>
internal readonly unsafe struct CodeEuclideanKernel : IDistanceKernel
{
    public static bool OnCodes => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(float* query, float* record, int n)
    {
        int codeBytes = (n + 3) & ~3;
        int dot = Int8Kernels.Dot((sbyte*)query, (sbyte*)record, codeBytes);
        var q = (float*)((byte*)query + codeBytes);
        var r = (float*)((byte*)record + codeBytes);
        return q[1] + r[1] - 2f * q[0] * r[0] * dot;
    }
}

/// <summary>Inner-product distance 1 − q·x between a coded query and a coded record (see <see cref="ScalarCodec"/>).</summary>
internal readonly unsafe struct CodeInnerProductKernel : IDistanceKernel
{
    public static bool OnCodes => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(float* query, float* record, int n)
    {
        int codeBytes = (n + 3) & ~3;
        int dot = Int8Kernels.Dot((sbyte*)query, (sbyte*)record, codeBytes);
        var q = (float*)((byte*)query + codeBytes);
        var r = (float*)((byte*)record + codeBytes);
        return 1f - (q[0] * r[0] * dot + q[2]);
    }
}
