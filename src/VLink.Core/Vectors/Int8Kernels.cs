using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VLink.Core.Vectors;

/// <summary>
/// SIMD kernels on int8 codes (scalar quantization). Codes lie in [−127, 127], so a product fits a short pair
/// sum and a dot product of up to 65,536 components fits an int. Each step sign-extends 32 or 64 codes to 16 bits
/// and uses the widening multiply-add (<c>vpmaddwd</c>: 16×16 → 32-bit pairs summed) into int accumulators.
/// </summary>
public static unsafe class Int8Kernels
{
    /// <summary>Σ a_i·b_i over int8 codes.</summary>
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Codes differ in length: {a.Length} and {b.Length}.");
        fixed (sbyte* pa = a, pb = b)
            return Dot(pa, pb, a.Length);
    }

    /// <summary>Σ a_i·b_i over raw pointers; the hot-loop entry point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(sbyte* a, sbyte* b, int n)
    {
        if (Avx512BW.IsSupported && n >= 64) return Dot512(a, b, n);
        if (Avx2.IsSupported && n >= 32) return Dot256(a, b, n);
        return DotScalar(a, b, 0, n, 0);
    }

    private static int Dot512(sbyte* a, sbyte* b, int n)
    {
        Vector512<int> acc0 = Vector512<int>.Zero, acc1 = Vector512<int>.Zero;
        int i = 0;
        for (; i <= n - 64; i += 64)
        {
            var a0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i));
            var b0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i));
            var a1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i + 32));
            var b1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i + 32));
            acc0 += Avx512BW.MultiplyAddAdjacent(a0, b0);
            acc1 += Avx512BW.MultiplyAddAdjacent(a1, b1);
        }
        if (i <= n - 32)
        {
            var a0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i));
            var b0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i));
            acc0 += Avx512BW.MultiplyAddAdjacent(a0, b0);
            i += 32;
        }
        int sum = Vector512.Sum(acc0 + acc1);
        return i < n ? DotScalar(a, b, i, n, sum) : sum;
    }

    private static int Dot256(sbyte* a, sbyte* b, int n)
    {
        Vector256<int> acc0 = Vector256<int>.Zero, acc1 = Vector256<int>.Zero;
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            var a0 = Avx2.ConvertToVector256Int16(Vector128.Load(a + i));
            var b0 = Avx2.ConvertToVector256Int16(Vector128.Load(b + i));
            var a1 = Avx2.ConvertToVector256Int16(Vector128.Load(a + i + 16));
            var b1 = Avx2.ConvertToVector256Int16(Vector128.Load(b + i + 16));
            acc0 += Avx2.MultiplyAddAdjacent(a0, b0);
            acc1 += Avx2.MultiplyAddAdjacent(a1, b1);
        }
        if (i <= n - 16)
        {
            var a0 = Avx2.ConvertToVector256Int16(Vector128.Load(a + i));
            var b0 = Avx2.ConvertToVector256Int16(Vector128.Load(b + i));
            acc0 += Avx2.MultiplyAddAdjacent(a0, b0);
            i += 16;
        }
        int sum = Vector256.Sum(acc0 + acc1);
        return i < n ? DotScalar(a, b, i, n, sum) : sum;
    }

    private static int DotScalar(sbyte* a, sbyte* b, int i, int n, int sum)
    {
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
}
