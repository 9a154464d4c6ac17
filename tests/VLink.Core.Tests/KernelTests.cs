using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>
/// The SIMD kernels against a scalar double-precision reference, for every length 1..130 (covering every
/// Vector128/256/512 remainder) and a few large lengths, on spans that start at unaligned offsets and are
/// surrounded by NaN sentinels, so a kernel that reads or writes outside its span fails.
/// </summary>
public class KernelTests
{
    private const double RelTol = 1e-4;

    public static IEnumerable<object[]> Lengths() =>
        Enumerable.Range(1, 130).Concat([257, 1000, 1536, 4096]).Select(n => new object[] { n });

    /// <summary>An array holding <paramref name="values"/> at <paramref name="offset"/>, padded with NaN on both sides.</summary>
    private static float[] Padded(float[] values, int offset)
    {
        var buffer = new float[offset + values.Length + 19];
        Array.Fill(buffer, float.NaN);
        values.CopyTo(buffer, offset);
        return buffer;
    }

    private static double AbsDot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += Math.Abs((double)a[i] * b[i]);
        return s;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Kernels_MatchScalarReference(int length)
    {
        var rng = new Random(1000 + length);
        for (int trial = 0; trial < 3; trial++)
        {
            var a = TestData.Uniform(rng, length);
            var b = TestData.Uniform(rng, length);
            int offA = trial;          // 0, 1, 2: misaligned starts
            int offB = (trial * 5 + 3) % 7;
            var bufA = Padded(a, offA);
            var bufB = Padded(b, offB);
            ReadOnlySpan<float> sa = bufA.AsSpan(offA, length);
            ReadOnlySpan<float> sb = bufB.AsSpan(offB, length);

            double dotScale = AbsDot(a, b);
            double refDot = TestData.Dot(a, b);
            float dot = VectorKernels.Dot(sa, sb);
            Assert.True(Math.Abs(dot - refDot) <= RelTol * dotScale + 1e-12,
                $"Dot n={length} trial={trial}: got {dot}, reference {refDot}");

            double refL2 = TestData.SquaredEuclidean(a, b);
            float l2 = VectorKernels.SquaredEuclidean(sa, sb);
            Assert.True(Math.Abs(l2 - refL2) <= RelTol * refL2 + 1e-12,
                $"SquaredEuclidean n={length} trial={trial}: got {l2}, reference {refL2}");

            double refNorm = TestData.Norm(a);
            float norm = VectorKernels.Norm(sa);
            Assert.True(Math.Abs(norm - refNorm) <= RelTol * refNorm,
                $"Norm n={length} trial={trial}: got {norm}, reference {refNorm}");

            double cosScale = dotScale / (TestData.Norm(a) * TestData.Norm(b));
            double refCos = TestData.CosineDistance(a, b);
            float cos = VectorKernels.CosineDistance(sa, sb);
            Assert.True(Math.Abs(cos - refCos) <= RelTol * (1 + cosScale),
                $"CosineDistance n={length} trial={trial}: got {cos}, reference {refCos}");

            // Distance(metric) dispatches to the documented formula.
            float dEuclid = VectorKernels.Distance(DistanceMetric.Euclidean, sa, sb);
            Assert.True(Math.Abs(dEuclid - refL2) <= RelTol * refL2 + 1e-12, $"Distance(Euclidean) n={length}: {dEuclid} vs {refL2}");
            float dDot = VectorKernels.Distance(DistanceMetric.Dot, sa, sb);
            Assert.True(Math.Abs(dDot - (1 - refDot)) <= RelTol * (1 + dotScale), $"Distance(Dot) n={length}: {dDot} vs {1 - refDot}");
            float dCos = VectorKernels.Distance(DistanceMetric.Cosine, sa, sb);
            Assert.True(Math.Abs(dCos - refCos) <= RelTol * (1 + cosScale), $"Distance(Cosine) n={length}: {dCos} vs {refCos}");

            // Reading must not have touched the sentinels (nor written anything).
            Assert.Equal(a, bufA.AsSpan(offA, length).ToArray());
            Assert.True(bufA.Take(offA).All(float.IsNaN) && bufA.Skip(offA + length).All(float.IsNaN));
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Normalize_GivesUnitNormAndKeepsDirection(int length)
    {
        var rng = new Random(5000 + length);
        // Values far from 1 so that a no-op Normalize cannot pass.
        var a = TestData.Uniform(rng, length, 3f, 9f);
        if (length > 1)
            a[length / 2] = -a[length / 2];
        int offset = length % 3;
        var buffer = Padded(a, offset);
        var span = buffer.AsSpan(offset, length);

        VectorKernels.Normalize(span);

        var result = span.ToArray();
        double norm = TestData.Norm(result);
        Assert.True(Math.Abs(norm - 1.0) <= 1e-5, $"n={length}: norm after Normalize is {norm}");
        double refNorm = TestData.Norm(a);
        for (int i = 0; i < length; i++)
        {
            double expected = a[i] / refNorm;
            Assert.True(Math.Abs(result[i] - expected) <= 1e-5 * Math.Abs(expected) + 1e-7,
                $"n={length} component {i}: got {result[i]}, expected {expected}");
        }
        Assert.True(buffer.Take(offset).All(float.IsNaN) && buffer.Skip(offset + length).All(float.IsNaN),
            "Normalize wrote outside its span");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    public void Normalize_ZeroVector_Throws(int length)
    {
        var zero = new float[length];
        Assert.Throws<ArgumentException>(() => VectorKernels.Normalize(zero));
    }

    [Theory]
    [InlineData(1e-30f, 4)]
    [InlineData(1e-25f, 33)]
    [InlineData(1e20f, 4)]
    [InlineData(3e25f, 33)]
    public void Normalize_ExtremeButFiniteMagnitudes_GivesUnitNorm(float magnitude, int length)
    {
        // Non-zero, finite vectors whose squared norm under- or overflows float: they still have a direction.
        var a = new float[length];
        for (int i = 0; i < length; i++)
            a[i] = magnitude * (i % 3 == 0 ? -1f : 0.5f + i % 2);
        var expected = a.Select(x => x / TestData.Norm(a)).ToArray();

        VectorKernels.Normalize(a);

        Assert.True(Math.Abs(TestData.Norm(a) - 1.0) <= 1e-5, $"norm after Normalize is {TestData.Norm(a)}");
        for (int i = 0; i < length; i++)
            Assert.True(Math.Abs(a[i] - expected[i]) <= 1e-5, $"component {i}: got {a[i]}, expected {expected[i]}");
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(16, 17)]
    [InlineData(64, 63)]
    [InlineData(1, 4096)]
    public void LengthMismatch_Throws(int lengthA, int lengthB)
    {
        var a = new float[lengthA];
        var b = new float[lengthB];
        Array.Fill(a, 0.5f);
        Array.Fill(b, 0.25f);
        Assert.ThrowsAny<ArgumentException>(() => VectorKernels.Dot(a, b));
        Assert.ThrowsAny<ArgumentException>(() => VectorKernels.SquaredEuclidean(a, b));
        Assert.ThrowsAny<ArgumentException>(() => VectorKernels.CosineDistance(a, b));
        Assert.ThrowsAny<ArgumentException>(() => VectorKernels.Distance(DistanceMetric.Euclidean, a, b));
        Assert.ThrowsAny<ArgumentException>(() => VectorKernels.Distance(DistanceMetric.Dot, a, b));
        Assert.ThrowsAny<ArgumentException>(() => VectorKernels.Distance(DistanceMetric.Cosine, a, b));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(33)]
    [InlineData(1536)]
    public void Identities_Hold(int length)
    {
        var rng = new Random(77 + length);
        var a = TestData.Uniform(rng, length);

        // Distance of a vector to itself is exactly zero.
        Assert.Equal(0f, VectorKernels.SquaredEuclidean(a, a));

        // Cosine distance ignores scale and is 2 for opposite vectors.
        var scaled = a.Select(x => x * 3.5f).ToArray();
        var negated = a.Select(x => -x).ToArray();
        Assert.True(Math.Abs(VectorKernels.CosineDistance(a, scaled)) <= 1e-5, "cos distance to a scaled copy should be 0");
        Assert.True(Math.Abs(VectorKernels.CosineDistance(a, negated) - 2.0) <= 1e-5, "cos distance to the negation should be 2");

        // Dot(a, a) = |a|².
        double norm = TestData.Norm(a);
        Assert.True(Math.Abs(VectorKernels.Dot(a, a) - norm * norm) <= RelTol * norm * norm);

        // Symmetry.
        var b = TestData.Uniform(rng, length);
        Assert.Equal(VectorKernels.SquaredEuclidean(a, b), VectorKernels.SquaredEuclidean(b, a), 1e-4f * (1 + VectorKernels.SquaredEuclidean(a, b)));
    }

    [Fact]
    public void Dot_HandlesLargeMagnitudesWithoutLosingPrecision()
    {
        // Entries around 1e3 with one large cancelling pair: the error bound is relative to Σ|aᵢbᵢ|.
        var rng = new Random(3);
        var a = TestData.Uniform(rng, 1001, 500f, 1500f);
        var b = TestData.Uniform(rng, 1001, -1500f, 1500f);
        double reference = TestData.Dot(a, b);
        float got = VectorKernels.Dot(a, b);
        Assert.True(Math.Abs(got - reference) <= RelTol * AbsDot(a, b), $"got {got}, reference {reference}");
    }
}
