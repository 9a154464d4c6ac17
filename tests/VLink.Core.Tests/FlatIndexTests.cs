using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

public class FlatIndexTests
{
    public static TheoryData<DistanceMetric> Metrics => new() { DistanceMetric.Euclidean, DistanceMetric.Cosine, DistanceMetric.Dot };

    [Theory]
    [MemberData(nameof(Metrics))]
    public void Search_IsExactAgainstDoubleBruteForce(DistanceMetric metric)
    {
        var data = TestData.Clustered(1500, 40, 24, 8, seed: 11);
        var points = TestData.ById(data.Points);
        var reference = TestData.Reference(metric);
        using var index = TestData.BuildFlat(data.Points, metric);

        Assert.Equal(1500, index.Count);
        Assert.Equal(24, index.Dimension);
        Assert.Equal(metric, index.Metric);
        foreach (int k in new[] { 1, 10, 37 })
        {
            foreach (var q in data.Queries)
            {
                var hits = index.Search(q, k);
                var truth = TestData.BruteForce(points, q, k, reference);
                TestData.AssertExactTopK(hits, truth, q, points, reference, (a, b) => TestData.Tolerance(metric, a, b));
            }
        }
    }

    [Fact]
    public void CustomDistance_IsExactAgainstBruteForce()
    {
        var data = TestData.Clustered(1000, 30, 16, 6, seed: 12);
        var points = TestData.ById(data.Points);
        using var index = new FlatIndex(16, TestData.ManhattanFloat);
        for (int i = 0; i < data.Points.Length; i++)
            index.Upsert((ulong)i, data.Points[i]);

        Assert.Equal(DistanceMetric.Custom, index.Metric);
        foreach (var q in data.Queries)
        {
            var hits = index.Search(q, 10);
            var truth = TestData.BruteForce(points, q, 10, TestData.L1);
            TestData.AssertExactTopK(hits, truth, q, points, TestData.L1,
                (a, b) => TestData.Tolerance(DistanceMetric.Custom, a, b));
        }
    }

    [Fact]
    public void KLargerThanCount_ReturnsEveryPointInOrder()
    {
        using var index = new FlatIndex(3, DistanceMetric.Euclidean);
        Assert.Empty(index.Search(new float[] { 1, 2, 3 }, 5));

        index.Upsert(10UL, new float[] { 0, 0, 0 });
        index.Upsert("far", new float[] { 10, 0, 0 });
        index.Upsert(2UL, new float[] { 1, 0, 0 });
        index.Upsert(1UL, new float[] { -1, 0, 0 });

        var hits = index.Search(new float[] { 0, 0, 0 }, 10);
        // 1 and 2 tie at distance 1: the smaller id first. Squared Euclidean: "far" is at 100.
        SearchHit[] expected = [new(10UL, 0f), new(1UL, 1f), new(2UL, 1f), new("far", 100f)];
        Assert.Equal(expected, hits);
    }

    [Fact]
    public void TiesAtTheKthPlace_BreakBySmallestId()
    {
        // 60 points at exactly the same distance, inserted in shuffled order with mixed id kinds: an exact
        // top-k must keep the smallest ids (numbers first, then strings ordinal), whatever the insertion order.
        var ids = Enumerable.Range(0, 40).Select(i => new PointId((ulong)(1000 - 7 * i)))
            .Concat(Enumerable.Range(0, 20).Select(i => new PointId($"t{i:D2}"))).ToArray();
        new Random(15).Shuffle(ids);
        var v = new float[] { 1, 2, 3, 4 };
        var expected = ids.Order().Take(45).ToArray();

        using var flat = new FlatIndex(4, DistanceMetric.Euclidean);
        using var hnsw = new VLink.Core.Hnsw.HnswIndex(4, DistanceMetric.Euclidean);
        foreach (var id in ids)
        {
            flat.Upsert(id, v);
            hnsw.Upsert(id, v);
        }
        foreach (int k in new[] { 1, 5, 45 })
        {
            Assert.Equal(expected.Take(k), flat.Search(v, k).Select(h => h.Id));
            Assert.Equal(expected.Take(k), hnsw.Search(v, k, new SearchOptions { Exact = true }).Select(h => h.Id));
        }
    }

    [Fact]
    public void Upsert_Delete_Contains_GetVector_Ids()
    {
        using var index = new FlatIndex(4, DistanceMetric.Euclidean);
        var v1 = new float[] { 1, 2, 3, 4 };
        var v2 = new float[] { -1, 0, 5, 2 };
        index.Upsert(1UL, v1);
        index.Upsert("two", v2);
        Assert.Equal(2, index.Count);
        Assert.True(index.Contains(1UL));
        Assert.True(index.Contains("two"));
        Assert.False(index.Contains(2UL));
        Assert.Equal(v1, index.GetVector(1UL));
        Assert.Null(index.GetVector(3UL));
        Assert.Equal(new PointId[] { 1UL, "two" }, index.Ids().Order().ToArray());

        // The index keeps its own copy: mutating the caller's array or a returned copy changes nothing.
        v1[0] = 100;
        var copy = index.GetVector(1UL)!;
        copy[1] = 100;
        Assert.Equal(new float[] { 1, 2, 3, 4 }, index.GetVector(1UL));

        // Replace.
        index.Upsert(1UL, new float[] { 9, 9, 9, 9 });
        Assert.Equal(2, index.Count);
        Assert.Equal(new float[] { 9, 9, 9, 9 }, index.GetVector(1UL));
        var hit = Assert.Single(index.Search(new float[] { 9, 9, 9, 9 }, 1));
        Assert.Equal(new SearchHit(1UL, 0f), hit);

        // Delete.
        Assert.True(index.Delete(1UL));
        Assert.False(index.Delete(1UL));
        Assert.False(index.Delete(12345UL));
        Assert.Equal(1, index.Count);
        Assert.False(index.Contains(1UL));
        Assert.Null(index.GetVector(1UL));
        Assert.Equal(new PointId[] { "two" }, index.Ids().ToArray());
        Assert.All(index.Search(new float[] { 9, 9, 9, 9 }, 5), h => Assert.NotEqual(new PointId(1UL), h.Id));

        // Re-insert a deleted id.
        index.Upsert(1UL, new float[] { 0, 0, 0, 1 });
        Assert.Equal(2, index.Count);
        Assert.Equal(new SearchHit(1UL, 0f), index.Search(new float[] { 0, 0, 0, 1 }, 1)[0]);
    }

    [Fact]
    public void Cosine_StoresNormalisedVectors()
    {
        using var index = new FlatIndex(3, DistanceMetric.Cosine);
        index.Upsert(1UL, new float[] { 3, 0, 4 });
        var stored = index.GetVector(1UL)!;
        Assert.Equal(0.6f, stored[0], 1e-6f);
        Assert.Equal(0f, stored[1], 1e-6f);
        Assert.Equal(0.8f, stored[2], 1e-6f);
        // A query of any length in the same direction is at distance 0.
        Assert.Equal(0f, index.Search(new float[] { 30, 0, 40 }, 1)[0].Distance, 1e-6f);
    }

    [Fact]
    public void Filter_RestrictsResultsAndCountsMatches()
    {
        var data = TestData.Clustered(800, 20, 8, 4, seed: 13);
        var points = TestData.ById(data.Points);
        using var index = TestData.BuildFlat(data.Points, DistanceMetric.Euclidean);
        var reference = TestData.Reference(DistanceMetric.Euclidean);

        Func<PointId, bool> even = id => id.Number % 2 == 0;
        var options = new SearchOptions { Filter = new PredicateFilter(id => even(id)) };
        foreach (var q in data.Queries)
        {
            var hits = index.Search(q, 10, options);
            Assert.All(hits, h => Assert.True(even(h.Id)));
            var truth = TestData.BruteForce(points, q, 10, reference, even);
            TestData.AssertExactTopK(hits, truth, q, points, reference, (a, b) => TestData.Tolerance(DistanceMetric.Euclidean, a, b));
        }

        var three = new IdSetFilter([5UL, 17UL, 640UL, 100000UL]);
        var few = index.Search(data.Queries[0], 10, new SearchOptions { Filter = three });
        Assert.Equal(new PointId[] { 5UL, 17UL, 640UL }, few.Select(h => h.Id).Order().ToArray());
    }

    [Fact]
    public void MemoryBytes_AccountsAtLeastForTheVectors()
    {
        using var index = new FlatIndex(64, DistanceMetric.Euclidean);
        var rng = new Random(1);
        for (int i = 0; i < 500; i++)
            index.Upsert((ulong)i, TestData.Uniform(rng, 64));
        Assert.True(index.MemoryBytes >= 500L * 64 * sizeof(float), $"MemoryBytes = {index.MemoryBytes}");
    }

    [Fact]
    public void MemoryBytes_FollowsTheLiveCount_ThroughReupsertsAndDeletes()
    {
        using var index = new FlatIndex(32, DistanceMetric.Euclidean);
        var rng = new Random(3);
        for (int i = 0; i < 4000; i++)
            index.Upsert((ulong)i, TestData.Uniform(rng, 32));
        long full = index.MemoryBytes;
        for (int round = 0; round < 3; round++)
            for (int i = 0; i < 4000; i++)
                index.Upsert((ulong)i, TestData.Uniform(rng, 32));
        Assert.Equal(full, index.MemoryBytes);

        var kept = new Dictionary<PointId, float[]>();
        for (int i = 0; i < 4000; i++)
        {
            if (i % 40 == 0) kept[(ulong)i] = index.GetVector((ulong)i)!;
            else Assert.True(index.Delete((ulong)i));
        }
        Assert.True(index.MemoryBytes <= full / 4, $"{index.MemoryBytes} bytes for 100 points, {full} for 4,000");
        Assert.Equal(kept.Keys.Order(), index.Ids().Order());
        foreach (var (id, vector) in kept)
        {
            Assert.Equal(vector, index.GetVector(id));
            Assert.Equal(id, index.Search(vector, 1)[0].Id);
        }
    }

    [Fact]
    public void BatchSearch_EqualsIndividualSearches()
    {
        var data = TestData.Clustered(600, 25, 16, 5, seed: 14);
        using var index = TestData.BuildFlat(data.Points, DistanceMetric.Cosine);
        var batch = index.SearchBatch(data.Queries, 7);
        Assert.Equal(data.Queries.Length, batch.Length);
        for (int i = 0; i < data.Queries.Length; i++)
            Assert.Equal(index.Search(data.Queries[i], 7), batch[i]);
    }
}
