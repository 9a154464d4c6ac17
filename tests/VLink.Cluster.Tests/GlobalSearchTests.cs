using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>Four nodes, one hash-partitioned collection of 8 partitions and one key-partitioned collection.</summary>
public sealed class FourNodeCluster : IAsyncLifetime
{
    public const int Dimension = 24;
    public TestCluster Cluster { get; private set; } = null!;
    public float[][] Vectors { get; } = ClusterData.Clustered(3000, Dimension, 12, seed: 7);
    public float[][] Queries { get; } = ClusterData.Clustered(60, Dimension, 12, seed: 8);
    public FlatIndex Truth { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await TestCluster.StartAsync(4);
        // Flat threshold 100: every partition (≈375 points) builds an HNSW graph, so ANN mode is really approximate.
        await Cluster.Node(0).ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("docs", Dimension, 8, flatThreshold: 100)));
        var points = ClusterData.Points(Vectors);
        for (int batch = 0; batch * 250 < points.Count; batch++)
        {
            var slice = points.Skip(batch * 250).Take(250).ToList();
            await Cluster.Node(batch % 4).UpsertAsync("docs", slice);
        }
        Truth = ClusterData.Truth(Vectors);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>The seed's acceptance: a search for V returns the top 5 of the entire cluster's data.</summary>
public sealed class GlobalSearchTests(FourNodeCluster fixture) : IClassFixture<FourNodeCluster>
{
    private const int K = 5;

    [Fact]
    public async Task Exact_search_returns_the_brute_force_top5_of_the_union_whichever_node_is_asked()
    {
        for (int q = 0; q < fixture.Queries.Length; q++)
        {
            var node = fixture.Cluster.Node(q % 4);
            var result = await node.Gather.SearchAsync("docs", fixture.Queries[q], K, exact: true);
            var truth = fixture.Truth.Search(fixture.Queries[q], K);
            Assert.True(result.Complete, $"query {q}: missing {string.Join(",", result.MissingPartitions)}");
            Assert.Equal(truth.Select(h => h.Id), result.Hits.Select(h => h.Id));
            for (int i = 0; i < K; i++) Assert.Equal(truth[i].Distance, result.Hits[i].Distance, 3);
        }
    }

    [Fact]
    public async Task Ann_search_recall_is_at_least_that_of_one_index_over_all_data()
    {
        var spec = ClusterData.HashSpec("docs", FourNodeCluster.Dimension, 8, 100);
        using var single = new HnswIndex(FourNodeCluster.Dimension, DistanceMetric.Euclidean, spec.Hnsw);
        for (int i = 0; i < fixture.Vectors.Length; i++) single.Upsert((ulong)i, fixture.Vectors[i]);
        double clusterRecall = 0, singleRecall = 0;
        foreach (var query in fixture.Queries)
        {
            var truth = fixture.Truth.Search(query, K);
            var result = await fixture.Cluster.Node(1).Gather.SearchAsync("docs", query, K, ef: 8);
            Assert.True(result.Complete);
            clusterRecall += ClusterData.Recall(result.Hits, truth);
            singleRecall += ClusterData.Recall(single.Search(query, K, new SearchOptions { Ef = 8 }), truth);
        }
        clusterRecall /= fixture.Queries.Length;
        singleRecall /= fixture.Queries.Length;
        Assert.True(clusterRecall >= singleRecall, $"cluster recall {clusterRecall:F3} < single-index recall {singleRecall:F3}");
    }

    [Fact]
    public async Task A_search_costs_one_message_per_node_not_per_partition()
    {
        // Warm: the first searches may wake partitions through their shards.
        await fixture.Cluster.Node(2).Gather.SearchAsync("docs", fixture.Queries[0], K);
        var result = await fixture.Cluster.Node(2).Gather.SearchAsync("docs", fixture.Queries[1], K);
        Assert.True(result.Complete);
        Assert.Equal(4, result.Trace.Messages);
        Assert.Empty(result.Trace.Woken);
        Assert.Equal(8, result.Trace.Nodes.Sum(n => n.Partitions.Count));
    }

    [Fact]
    public async Task Skew_all_true_neighbours_on_one_partition_is_still_exact()
    {
        var node = fixture.Cluster.Node(3);
        var spec = new CollectionSpec("markets", FourNodeCluster.Dimension, DistanceMetric.Euclidean, PartitionScheme.Key, 0, new HnswOptions(), 50);
        await node.ChangeCatalogAsync(new CreateCollection(spec));
        var far = ClusterData.Clustered(200, FourNodeCluster.Dimension, 3, seed: 11);
        var near = ClusterData.Clustered(200, FourNodeCluster.Dimension, 1, seed: 12).Select(v => v.Select(x => x + 50f).ToArray()).ToArray();
        await node.UpsertAsync("markets", ClusterData.Points(far[..100]), key: "A");
        await node.UpsertAsync("markets", ClusterData.Points(far[100..], 100), key: "B");
        await node.UpsertAsync("markets", ClusterData.Points(near, 1000), key: "HOT");
        var truth = ClusterData.Truth([.. far, .. near]);
        var query = near[0].Select(x => x + 0.01f).ToArray();
        var result = await fixture.Cluster.Node(0).Gather.SearchAsync("markets", query, 10, exact: true);
        Assert.True(result.Complete);
        var expected = truth.Search(query, 10).Select(h => h.Id.Number >= 200 ? h.Id.Number - 200 + 1000 : h.Id.Number);
        Assert.Equal(expected, result.Hits.Select(h => h.Id.Number));
        Assert.All(result.Hits, h => Assert.InRange(h.Id.Number, 1000UL, 1199UL));
    }
}
