using System.Text.RegularExpressions;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>Bad input is rejected with an <see cref="ArgumentException"/> naming the problem, and leaves the index untouched.</summary>
public class ValidationTests
{
    private const int Dim = 8;

    public static TheoryData<string> Kinds => new() { "hnsw", "flat" };

    private static IVectorIndex Create(string kind, DistanceMetric metric = DistanceMetric.Euclidean) => kind switch
    {
        "hnsw" => new HnswIndex(Dim, metric),
        "flat" => new FlatIndex(Dim, metric),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static IVectorIndex Seeded(string kind)
    {
        var index = Create(kind);
        var rng = new Random(9);
        for (int i = 0; i < 20; i++)
            index.Upsert((ulong)i, TestData.Uniform(rng, Dim));
        return index;
    }

    private static float[] Valid() => [1, 2, 3, 4, 5, 6, 7, 8];

    private static float[] With(float value, int at)
    {
        var v = Valid();
        v[at] = value;
        return v;
    }

    private static void AssertUnchanged(IVectorIndex index)
    {
        Assert.Equal(20, index.Count);
        Assert.False(index.Contains(999UL));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => new PointId((ulong)i)), index.Ids().Order());
    }

    private static void AssertMentions(ArgumentException ex, params string[] words) =>
        Assert.True(words.Any(w => ex.Message.Contains(w, StringComparison.OrdinalIgnoreCase)),
            $"message \"{ex.Message}\" mentions none of: {string.Join(", ", words)}");

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Upsert_WrongDimension_Throws(string kind)
    {
        using var index = Seeded(kind);
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.Upsert(999UL, new float[Dim + 1])), "dimension");
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.Upsert(999UL, new float[] { 1, 2, 3 })), "dimension");
        // Replacing an existing point with a wrong-sized vector must not delete it either.
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.Upsert(3UL, new float[Dim - 1])), "dimension");
        Assert.True(index.Contains(3UL));
        AssertUnchanged(index);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Upsert_EmptyVector_Throws(string kind)
    {
        using var index = Seeded(kind);
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.Upsert(999UL, ReadOnlySpan<float>.Empty)), "empty", "dimension");
        AssertUnchanged(index);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Upsert_NaNOrInfinity_Throws(string kind)
    {
        using var index = Seeded(kind);
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            foreach (int at in new[] { 0, 5, Dim - 1 })
            {
                var ex = Assert.ThrowsAny<ArgumentException>(() => index.Upsert(999UL, With(bad, at)));
                Assert.True(TestData.IsNaNOrInfinityMessage(ex.Message), $"message \"{ex.Message}\" does not name NaN/infinity");
                // An existing point keeps its vector when its replacement is rejected.
                var before = index.GetVector(4UL);
                Assert.ThrowsAny<ArgumentException>(() => index.Upsert(4UL, With(bad, at)));
                Assert.Equal(before, index.GetVector(4UL));
            }
        }
        AssertUnchanged(index);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Search_BadQuery_Throws(string kind)
    {
        using var index = Seeded(kind);
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.Search(new float[Dim + 2], 5)), "dimension");
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.Search(ReadOnlySpan<float>.Empty, 5)), "empty", "dimension");
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => index.Search(With(bad, 2), 5));
            Assert.True(TestData.IsNaNOrInfinityMessage(ex.Message), $"message \"{ex.Message}\" does not name NaN/infinity");
        }
        // The same rules hold in exact mode.
        Assert.ThrowsAny<ArgumentException>(() => index.Search(With(float.NaN, 0), 5, new SearchOptions { Exact = true }));
        Assert.ThrowsAny<ArgumentException>(() => index.Search(new float[Dim - 1], 5, new SearchOptions { Exact = true }));
    }

    [Theory]
    [InlineData("hnsw", 0)]
    [InlineData("hnsw", -1)]
    [InlineData("hnsw", int.MinValue)]
    [InlineData("flat", 0)]
    [InlineData("flat", -1)]
    public void Search_NonPositiveK_Throws(string kind, int k)
    {
        using var index = Seeded(kind);
        var ex = Assert.ThrowsAny<ArgumentException>(() => index.Search(Valid(), k));
        Assert.True(ex.ParamName == "k" || Regex.IsMatch(ex.Message, @"\bk\b"), $"message \"{ex.Message}\" does not name k");
        Assert.ThrowsAny<ArgumentException>(() => index.SearchBatch([Valid()], k));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Hnsw_NonPositiveEf_Throws(int ef)
    {
        using var index = Seeded("hnsw");
        var ex = Assert.ThrowsAny<ArgumentException>(() => index.Search(Valid(), 3, new SearchOptions { Ef = ef }));
        AssertMentions(ex, "ef");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SearchBatch_BadQuery_Throws(string kind)
    {
        using var index = Seeded(kind);
        AssertMentions(Assert.ThrowsAny<ArgumentException>(() => index.SearchBatch([Valid(), new float[3]], 5)), "dimension");
        Assert.ThrowsAny<ArgumentException>(() => index.SearchBatch([Valid(), With(float.NaN, 1)], 5));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Cosine_ZeroVector_Throws(string kind)
    {
        using var index = Create(kind, DistanceMetric.Cosine);
        Assert.ThrowsAny<ArgumentException>(() => index.Upsert(1UL, new float[Dim]));
        Assert.Equal(0, index.Count);
        Assert.False(index.Contains(1UL));
    }

    [Fact]
    public void Constructors_RejectBadParameters()
    {
        Assert.ThrowsAny<ArgumentException>(() => new HnswIndex(0, DistanceMetric.Euclidean));
        Assert.ThrowsAny<ArgumentException>(() => new HnswIndex(-3, DistanceMetric.Euclidean));
        Assert.ThrowsAny<ArgumentException>(() => new FlatIndex(0, DistanceMetric.Euclidean));
        Assert.ThrowsAny<ArgumentException>(() => new HnswIndex(8, DistanceMetric.Euclidean, new HnswOptions { M = 1 }));
        Assert.ThrowsAny<ArgumentException>(() => new HnswIndex(8, DistanceMetric.Euclidean, new HnswOptions { EfConstruction = 0 }));
        Assert.ThrowsAny<ArgumentException>(() => new HnswIndex(8, DistanceMetric.Euclidean, new HnswOptions { FilteredScanSelectivity = 1.5 }));
    }
}
