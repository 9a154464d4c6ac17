namespace VLink.Cluster.Tests;

/// <summary>A batch of queries travels as one message per node and answers each query as a single search would.</summary>
public sealed class BatchSearchTests(FourNodeCluster fixture) : IClassFixture<FourNodeCluster>
{
    private const int K = 5;

    [Fact]
    public async Task Exact_batch_of_40_equals_brute_force_and_single_searches_per_query()
    {
        var queries = fixture.Queries.Take(40).ToList();
        var node = fixture.Cluster.Node(1);

        var batch = await node.Gather.SearchBatchAsync("docs", queries, K, exact: true);

        Assert.Equal(queries.Count, batch.Length);
        for (int q = 0; q < queries.Count; q++)
        {
            var result = batch[q];
            Assert.True(result.Complete, $"query {q}: missing {string.Join(",", result.MissingPartitions)}");
            var truth = fixture.Truth.Search(queries[q], K);
            Assert.Equal(truth.Select(h => h.Id), result.Hits.Select(h => h.Id));
            for (int i = 0; i < K; i++) Assert.Equal(truth[i].Distance, result.Hits[i].Distance, 3);

            var single = await node.Gather.SearchAsync("docs", queries[q], K, exact: true);
            Assert.Equal(single.Hits.Select(h => h.Id), result.Hits.Select(h => h.Id));
            Assert.Equal(single.Hits.Select(h => h.Distance), result.Hits.Select(h => h.Distance));
        }
    }

    [Fact]
    public async Task A_batch_costs_one_message_per_node()
    {
        var node = fixture.Cluster.Node(2);
        // Warm: the first search may wake partitions through their shards.
        await node.Gather.SearchAsync("docs", fixture.Queries[0], K);

        var batch = await node.Gather.SearchBatchAsync("docs", fixture.Queries.Skip(1).Take(40).ToList(), K);

        Assert.Equal(40, batch.Length);
        Assert.All(batch, result =>
        {
            Assert.True(result.Complete);
            Assert.Equal(4, result.Trace.Messages);
            Assert.Empty(result.Trace.Woken);
            Assert.Equal(8, result.Trace.Nodes.Sum(n => n.Partitions.Count));
        });
    }

    [Fact]
    public async Task An_empty_batch_answers_nothing()
    {
        var batch = await fixture.Cluster.Node(0).Gather.SearchBatchAsync("docs", [], K);

        Assert.Empty(batch);
    }
}
