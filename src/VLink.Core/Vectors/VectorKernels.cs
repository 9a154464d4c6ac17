using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VLink.Core.Vectors;

/// <summary>
/// SIMD distance kernels on float vectors of any length. The widest vector unit the CPU accelerates
/// (512, 256 or 128 bits) is used, with fused multiply-add and two accumulators; the ragged tail is
/// handled by one masked, overlapping load rather than a scalar loop.
/// </summary>
public static unsafe class VectorKernels
{
    /// <summary>Dot product Σ a_i·b_i.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        fixed (float* pa = a, pb = b)
            return Dot(pa, pb, a.Length);
    }

    /// <summary>Squared Euclidean distance Σ (a_i − b_i)².</summary>
    public static float SquaredEuclidean(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        fixed (float* pa = a, pb = b)
            return SquaredEuclidean(pa, pb, a.Length);
    }

    /// <summary>Cosine distance 1 − a·b / (|a|·|b|) on raw vectors; 1 when either vector is zero.</summary>
    public static float CosineDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a, b);
        fixed (float* pa = a, pb = b)
        {
            float dot = Dot(pa, pb, a.Length);
            float na = Dot(pa, pa, a.Length), nb = Dot(pb, pb, b.Length);
            if (na == 0f || nb == 0f) return 1f;
            return 1f - dot / MathF.Sqrt(na * nb);
        }
    }

    /// <summary>Euclidean norm |a|.</summary>
    public static float Norm(ReadOnlySpan<float> a)
    {
        float squares;
        fixed (float* pa = a)
            squares = Dot(pa, pa, a.Length);
        // Fast path in float; squares that overflow or underflow are summed again in double.
        if (float.IsFinite(squares) && squares > 1e-30f) return MathF.Sqrt(squares);
        double sum = 0;
        foreach (float x in a) sum += (double)x * x;
        return (float)Math.Sqrt(sum);
    }

    /// <summary>Scales a vector to unit length in place.</summary>
    /// <exception cref="ArgumentException">The vector is zero (it has no direction).</exception>
    public static void Normalize(Span<float> a)
    {
        float norm = Norm(a);
        if (norm == 0f)
            throw new ArgumentException("Cannot normalise a zero vector for cosine distance: it has no direction.", nameof(a));
        if (!float.IsFinite(norm))
            throw new ArgumentException("Cannot normalise a vector whose norm is not finite.", nameof(a));
        float inv = 1f / norm;
        if (float.IsFinite(inv) && inv != 0f)
            System.Numerics.Tensors.TensorPrimitives.Multiply(a, inv, a);
        else
            for (int i = 0; i < a.Length; i++) a[i] = (float)(a[i] / (double)norm);
    }

    /// <summary>The distance of <paramref name="metric"/> between two raw vectors (cosine normalises on the fly).</summary>
    public static float Distance(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b) => metric switch
    {
        DistanceMetric.Cosine => CosineDistance(a, b),
        DistanceMetric.Dot => 1f - Dot(a, b),
        DistanceMetric.Euclidean => SquaredEuclidean(a, b),
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "A custom metric has no built-in kernel."),
    };

    /// <summary>Dot product over raw pointers; the hot-loop entry point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16) return Dot512(a, b, n);
        if (Vector256.IsHardwareAccelerated && n >= 8) return Dot256(a, b, n);
        return DotScalarTail(a, b, 0, n, 0f);
    }

    /// <summary>Squared Euclidean distance over raw pointers; the hot-loop entry point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredEuclidean(float* a, float* b, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16) return L2Sq512(a, b, n);
        if (Vector256.IsHardwareAccelerated && n >= 8) return L2Sq256(a, b, n);
        return L2ScalarTail(a, b, 0, n, 0f);
    }

    private static float Dot512(float* a, float* b, int n)
    {
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
        }
        if (i <= n - 16)
        {
            acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            i += 16;
        }
        int rest = n - i;
        if (rest > 0)
        {
            // Overlapping last load; the lanes already counted are masked out.
            var mask = TailMask512(rest);
            var va = Vector512.BitwiseAnd(Vector512.Load(a + n - 16), mask);
            acc1 = Vector512.FusedMultiplyAdd(va, Vector512.Load(b + n - 16), acc1);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    private static float L2Sq512(float* a, float* b, int n)
    {
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            var d0 = Vector512.Load(a + i) - Vector512.Load(b + i);
            var d1 = Vector512.Load(a + i + 16) - Vector512.Load(b + i + 16);
            acc0 = Vector512.FusedMultiplyAdd(d0, d0, acc0);
            acc1 = Vector512.FusedMultiplyAdd(d1, d1, acc1);
        }
        if (i <= n - 16)
        {
            var d = Vector512.Load(a + i) - Vector512.Load(b + i);
            acc0 = Vector512.FusedMultiplyAdd(d, d, acc0);
            i += 16;
        }
        int rest = n - i;
        if (rest > 0)
        {
            var d = Vector512.BitwiseAnd(Vector512.Load(a + n - 16) - Vector512.Load(b + n - 16), TailMask512(rest));
            acc1 = Vector512.FusedMultiplyAdd(d, d, acc1);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    private static float Dot256(float* a, float* b, int n)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), acc1);
        }
        if (i <= n - 8)
        {
            acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
            i += 8;
        }
        int rest = n - i;
        if (rest > 0)
        {
            var va = Vector256.BitwiseAnd(Vector256.Load(a + n - 8), TailMask256(rest));
            acc1 = Vector256.FusedMultiplyAdd(va, Vector256.Load(b + n - 8), acc1);
        }
        return Vector256.Sum(acc0 + acc1);
    }

    private static float L2Sq256(float* a, float* b, int n)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            var d0 = Vector256.Load(a + i) - Vector256.Load(b + i);
            var d1 = Vector256.Load(a + i + 8) - Vector256.Load(b + i + 8);
            acc0 = Vector256.FusedMultiplyAdd(d0, d0, acc0);
            acc1 = Vector256.FusedMultiplyAdd(d1, d1, acc1);
        }
        if (i <= n - 8)
        {
            var d = Vector256.Load(a + i) - Vector256.Load(b + i);
            acc0 = Vector256.FusedMultiplyAdd(d, d, acc0);
            i += 8;
        }
        int rest = n - i;
        if (rest > 0)
        {
            var d = Vector256.BitwiseAnd(Vector256.Load(a + n - 8) - Vector256.Load(b + n - 8), TailMask256(rest));
            acc1 = Vector256.FusedMultiplyAdd(d, d, acc1);
        }
        return Vector256.Sum(acc0 + acc1);
    }

    // Lanes [16 - rest, 16) are the ones not yet counted.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailMask512(int rest) =>
        Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(16 - rest)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TailMask256(int rest) =>
        Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(8 - rest)).AsSingle();

    private static float DotScalarTail(float* a, float* b, int i, int n, float sum)
    {
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private static float L2ScalarTail(float* a, float* b, int i, int n, float sum)
    {
        for (; i < n; i++)
        {
            float d = a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }

    private static void CheckLengths(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Vectors differ in dimension: {a.Length} and {b.Length}.");
    }
}
