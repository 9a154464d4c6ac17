using System.Collections.Concurrent;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>One 10k × 32 Gaussian-mixture data set and one default-parameter HNSW index per metric, built once.</summary>
public sealed class RecallFixture : IDisposable
{
    public const int Count = 10_000;
    public const int Dim = 32;

    private readonly ConcurrentDictionary<DistanceMetric, Lazy<HnswIndex>> _indices = new();

    internal Dataset Data { get; } = TestData.Clustered(Count, 120, Dim, 20, seed: 2024);

    internal Dictionary<PointId, float[]> Points { get; }

    public RecallFixture() => Points = TestData.ById(Data.Points);

    internal HnswIndex Index(DistanceMetric metric) =>
        _indices.GetOrAdd(metric, m => new Lazy<HnswIndex>(() => TestData.BuildHnsw(Data.Points, m))).Value;

    public void Dispose()
    {
        foreach (var lazy in _indices.Values)
        {
            if (lazy.IsValueCreated)
                lazy.Value.Dispose();
        }
    }
}

public class HnswRecallTests(RecallFixture fixture) : IClassFixture<RecallFixture>
{
    public static TheoryData<DistanceMetric> Metrics => new() { DistanceMetric.Euclidean, DistanceMetric.Cosine, DistanceMetric.Dot };

    [Theory]
    [MemberData(nameof(Metrics))]
    public void RecallAt10_AtDefaultEf_IsAtLeast095(DistanceMetric metric)
    {
        var index = fixture.Index(metric);
        Assert.Equal(RecallFixture.Count, index.Count);
        var reference = TestData.Reference(metric);

        double recall = TestData.MeanRecall(index, fixture.Points, fixture.Data.Queries, 10, reference);
        Assert.True(recall >= 0.95, $"{metric}: recall@10 = {recall:F4} at default ef");

        // Results are well-formed: k hits, ordered, with the right distances.
        foreach (var q in fixture.Data.Queries.Take(30))
        {
            var hits = index.Search(q, 10);
            Assert.Equal(10, hits.Count);
            TestData.AssertOrdered(hits);
            TestData.AssertDistancesMatch(hits, q, fixture.Points, reference, (a, b) => TestData.Tolerance(metric, a, b));
        }
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void LargeEf_GivesNearPerfectRecall(DistanceMetric metric)
    {
        var index = fixture.Index(metric);
        double recall = TestData.MeanRecall(index, fixture.Points, fixture.Data.Queries.Take(60).ToArray(), 10,
            TestData.Reference(metric), new SearchOptions { Ef = 400 });
        Assert.True(recall >= 0.99, $"{metric}: recall@10 = {recall:F4} at ef = 400");
    }

    [Fact]
    public void EveryStoredPoint_FindsItself()
    {
        // A point that cannot be reached from the entry point would never be found: search each point's own vector.
        var index = fixture.Index(DistanceMetric.Euclidean);
        int found = 0;
        int total = 0;
        for (int i = 0; i < RecallFixture.Count; i += 5)
        {
            total++;
            var hits = index.Search(fixture.Data.Points[i], 1);
            if (hits.Count == 1 && hits[0].Id == new PointId((ulong)i) && hits[0].Distance == 0f)
                found++;
        }
        Assert.True(found >= total * 0.99, $"only {found} of {total} points find themselves at distance 0");
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public void ExactMode_EqualsFlatIndex(DistanceMetric metric)
    {
        var index = fixture.Index(metric);
        using var flat = TestData.BuildFlat(fixture.Data.Points, metric);
        var exact = new SearchOptions { Exact = true };
        foreach (int k in new[] { 1, 10, 50 })
        {
            foreach (var q in fixture.Data.Queries.Take(40))
                Assert.Equal(flat.Search(q, k), index.Search(q, k, exact));
        }
    }

    [Fact]
    public void BatchSearch_EqualsIndividualSearches()
    {
        var index = fixture.Index(DistanceMetric.Cosine);
        var queries = fixture.Data.Queries.Take(50).ToArray();
        var filter = new SearchOptions { Filter = new PredicateFilter(id => id.Number % 4 == 1), Ef = 80 };
        foreach (var options in new SearchOptions?[] { null, filter, new() { Exact = true } })
        {
            var batch = index.SearchBatch(queries, 10, options);
            Assert.Equal(queries.Length, batch.Length);
            for (int i = 0; i < queries.Length; i++)
                Assert.Equal(index.Search(queries[i], 10, options), batch[i]);
        }
    }

    [Fact]
    public void GraphInspection_IsConsistent()
    {
        var index = fixture.Index(DistanceMetric.Euclidean);
        var options = index.Options;
        var info = index.Inspect();

        Assert.Equal(info.LayerCount, info.NodesPerLayer.Count);
        Assert.Equal(index.Count, info.NodesPerLayer[0]);
        for (int l = 1; l < info.LayerCount; l++)
            Assert.True(info.NodesPerLayer[l] <= info.NodesPerLayer[l - 1], $"layer {l} has more nodes than layer {l - 1}");
        Assert.True(info.NodesPerLayer[^1] >= 1);

        // Level generation follows the paper (mL = 1/ln M): about n/M nodes reach layer 1.
        Assert.True(info.LayerCount >= 3, $"only {info.LayerCount} layers for {index.Count} points");
        double expectedLayer1 = (double)index.Count / options.M;
        Assert.InRange(info.NodesPerLayer[1], expectedLayer1 / 2, expectedLayer1 * 2);

        // The entry point is a live node on the top layer.
        TestData.AssertEntryPointOnTopLayer(index);

        var graph = TestData.GatherGraph(index);
        long edges = 0;
        for (int layer = 0; layer < graph.Count; layer++)
        {
            int cap = layer == 0 ? options.M0 : options.M;
            var onLayer = new HashSet<PointId>();
            foreach (var (id, neighbours) in graph[layer])
            {
                edges += neighbours.Count;
                Assert.True(neighbours.Count <= cap, $"{id} has {neighbours.Count} neighbours on layer {layer} (cap {cap})");
                Assert.DoesNotContain(id, neighbours);
                Assert.Equal(neighbours.Count, neighbours.Distinct().Count());
                Assert.All(neighbours, n => Assert.True(index.Contains(n), $"neighbour {n} of {id} is not a live point"));
                if (neighbours.Count > 0)
                    onLayer.Add(id);
                onLayer.UnionWith(neighbours);
            }
            // Every node of a layer with company is linked, and links stay within the layer.
            if (info.NodesPerLayer[layer] > 1)
                Assert.Equal(info.NodesPerLayer[layer], onLayer.Count);
            if (layer == 0)
                Assert.Equal(index.Count, graph[0].Count);
        }
        Assert.Equal(info.EdgeCount, edges);
    }

    [Fact]
    public void Neighbours_RejectsUnknownIdAndNegativeLayer()
    {
        var index = fixture.Index(DistanceMetric.Euclidean);
        Assert.ThrowsAny<ArgumentException>(() => index.Neighbours(123_456_789UL, 0));
        Assert.ThrowsAny<ArgumentException>(() => index.Neighbours("missing", 0));
        Assert.ThrowsAny<ArgumentException>(() => index.Neighbours(0UL, -1));
    }

    [Fact]
    public void SmallIndex_KLargerThanCount_ReturnsAllPointsExactly()
    {
        using var index = new HnswIndex(RecallFixture.Dim, DistanceMetric.Euclidean);
        var q = fixture.Data.Queries[0];
        Assert.Empty(index.Search(q, 5));
        Assert.Null(index.Inspect().EntryPoint);

        var subset = fixture.Data.Points.Take(7).ToArray();
        for (int i = 0; i < subset.Length; i++)
            index.Upsert((ulong)i, subset[i]);
        var hits = index.Search(q, 20);
        var truth = TestData.BruteForce(TestData.ById(subset), q, 20, TestData.L2);
        TestData.AssertExactTopK(hits, truth, q, TestData.ById(subset), TestData.L2,
            (a, b) => TestData.Tolerance(DistanceMetric.Euclidean, a, b));
    }

    [Fact]
    public void CustomDistance_ExactMatchesBruteForce_AndRecallIsGood()
    {
        var data = TestData.Clustered(5000, 80, RecallFixture.Dim, 20, seed: 77);
        var points = TestData.ById(data.Points);
        using var hnsw = new HnswIndex(RecallFixture.Dim, TestData.ManhattanFloat);
        using var flat = new FlatIndex(RecallFixture.Dim, TestData.ManhattanFloat);
        for (int i = 0; i < data.Points.Length; i++)
        {
            hnsw.Upsert((ulong)i, data.Points[i]);
            flat.Upsert((ulong)i, data.Points[i]);
        }
        Assert.Equal(DistanceMetric.Custom, hnsw.Metric);

        var exact = new SearchOptions { Exact = true };
        foreach (var q in data.Queries.Take(30))
        {
            var truth = TestData.BruteForce(points, q, 10, TestData.L1);
            var hits = hnsw.Search(q, 10, exact);
            TestData.AssertExactTopK(hits, truth, q, points, TestData.L1, (a, b) => TestData.Tolerance(DistanceMetric.Custom, a, b));
            Assert.Equal(flat.Search(q, 10), hits);
        }

        double recall = TestData.MeanRecall(hnsw, points, data.Queries, 10, TestData.L1);
        Assert.True(recall >= 0.95, $"Manhattan recall@10 = {recall:F4}");
    }
}
