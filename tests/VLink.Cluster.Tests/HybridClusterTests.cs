using System.Text;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Hybrid;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// Hybrid search on three nodes: whichever node coordinates, the answer is RRF over the whole collection — the same
/// as fusing, in one place, the rankings of the same partitions held together — and vector-only search is the
/// brute-force top-k.
/// </summary>
public sealed class HybridClusterTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const int Partitions = 6;
    private static readonly string[] Words =
    [
        "login", "password", "token", "oauth", "session", "cookie", "cache", "latency", "index", "shard",
        "replica", "vector", "search", "query", "filter", "payload", "journal", "snapshot", "node", "cluster",
    ];

    private static readonly CollectionSpec Spec = ClusterData.HashSpec("kb", 8, Partitions, flatThreshold: 100) with
    {
        Metric = DistanceMetric.Cosine,
        Text = new TextSpec(["text"]),
    };

    private readonly List<PointWrite> _points = [];
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var rng = new Random(11);
        for (int i = 0; i < 400; i++)
        {
            string text = string.Join(' ', Enumerable.Range(0, rng.Next(3, 12)).Select(_ => Words[(int)Math.Min(Words.Length - 1, Math.Abs(rng.NextDouble() * rng.NextDouble()) * Words.Length)]));
            var vector = Enumerable.Range(0, 8).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            _points.Add(new PointWrite((ulong)i, vector, Encoding.UTF8.GetBytes($$"""{"text":"{{text}}","n":{{i}}}""")));
        }
        _cluster = await TestCluster.StartAsync(3);
        await _cluster.Node(0).ChangeCatalogAsync(new CreateCollection(Spec));
        foreach (var chunk in _points.Chunk(100)) await _cluster.Node(1).UpsertAsync("kb", chunk);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private List<HybridHit> Reference(HybridRequest request)
    {
        var states = _points.GroupBy(p => HashPartitioner.KeyOf(p.Id, Partitions)).Select(g =>
        {
            var state = PartitionState.Create(Spec);
            state.Apply(new PointsUpserted([.. g]));
            return state;
        }).ToList();
        try
        {
            return request.Fuse(request.Merge(states.Select(s => s.SearchHybrid(request))));
        }
        finally
        {
            foreach (var s in states) s.Dispose();
        }
    }

    [Fact]
    public async Task Every_coordinator_answers_the_fusion_over_the_whole_collection()
    {
        var query = new float[] { 0.3f, -0.2f, 0.9f, 0.1f, 0f, -0.5f, 0.4f, 0.2f };
        var request = new HybridRequest("password tokens of the cluster", query, HybridMethods.All, 10, 50);
        var expected = Reference(request);
        Assert.Equal(10, expected.Count);
        Assert.Contains(expected, h => h.MatchedBy == HybridMethods.Semantic);
        Assert.Contains(expected, h => h.MatchedBy.HasFlag(HybridMethods.Keyword));
        for (int n = 0; n < 3; n++)
        {
            var result = await Eventually.Async(() => _cluster.Node(n).Gather.HybridSearchAsync("kb", request), r => r.Complete, TimeSpan.FromSeconds(20));
            Assert.True(result.SemanticExecuted);
            Assert.Equal(expected.Select(h => h.Id), result.Hits.Select(h => h.Id));
            Assert.Equal(expected.Select(h => h.MatchedBy), result.Hits.Select(h => h.MatchedBy));
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Score, result.Hits[i].Score, 12);
        }

        // Vector search alone: the brute-force top-k of the union, in order.
        var truth = new FlatIndex(8, DistanceMetric.Cosine);
        foreach (var p in _points) truth.Upsert(p.Id, p.Vector);
        var semantic = await _cluster.Node(2).Gather.HybridSearchAsync("kb", request with { Methods = HybridMethods.Semantic });
        Assert.Equal(truth.Search(query, 10).Select(h => h.Id), semantic.Hits.Select(h => h.Id));

        // Without the query's embedding the text methods still answer, and the answer says semantic search did not run.
        var textOnly = await _cluster.Node(0).Gather.HybridSearchAsync("kb", request with { Vector = null });
        Assert.False(textOnly.SemanticExecuted);
        Assert.True(textOnly.Complete);
        Assert.Equal(Reference(request with { Vector = null }).Select(h => h.Id), textOnly.Hits.Select(h => h.Id));
        Assert.DoesNotContain(textOnly.Hits, h => h.MatchedBy.HasFlag(HybridMethods.Semantic));
    }

    /// <summary>Latency figures (printed, not asserted): 300 hybrid queries on one node holding the same six partitions.</summary>
    [Fact]
    public async Task Hybrid_query_latency_on_one_node()
    {
        await using var single = await TestCluster.StartAsync(1);
        await single.Node(0).ChangeCatalogAsync(new CreateCollection(Spec));
        foreach (var chunk in _points.Chunk(100)) await single.Node(0).UpsertAsync("kb", chunk);
        var times = await MeasureAsync(single, 1);
        output.WriteLine($"hybrid k=10 on 1 node, 6 partitions, 400 points: p50 {times[150]:F2} ms, p99 {times[296]:F2} ms");
    }

    /// <summary>Latency figures (printed, not asserted): 300 hybrid queries through the three nodes in turn.</summary>
    [Fact]
    public async Task Hybrid_query_latency_on_three_nodes()
    {
        var times = await MeasureAsync(_cluster, 3);
        output.WriteLine($"hybrid k=10 on 3 nodes, 6 partitions, 400 points: p50 {times[150]:F2} ms, p99 {times[296]:F2} ms");
    }

    private static async Task<List<double>> MeasureAsync(TestCluster cluster, int nodes)
    {
        var rng = new Random(5);
        var _cluster = cluster;
        var request = new HybridRequest("password token", new float[8], HybridMethods.All, 10, 50);
        await Eventually.Async(() => _cluster.Node(0).Gather.HybridSearchAsync("kb", request with { Vector = [1, 0, 0, 0, 0, 0, 0, 0] }), r => r.Complete, TimeSpan.FromSeconds(20));
        var times = new List<double>();
        for (int i = 0; i < 320; i++)
        {
            var vector = Enumerable.Range(0, 8).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            string text = $"{Words[rng.Next(Words.Length)]} {Words[rng.Next(Words.Length)]}";
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = await _cluster.Node(i % nodes).Gather.HybridSearchAsync("kb", request with { Query = text, Vector = vector });
            if (i >= 20) times.Add(clock.Elapsed.TotalMilliseconds); // the first 20 warm up
            Assert.True(result.Complete);
        }
        times.Sort();
        return times;
    }
}
