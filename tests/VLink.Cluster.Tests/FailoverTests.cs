using Akka.Actor;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Tests;

/// <summary>
/// The cluster under loss, as one story in order: a node dies and is downed, its partitions come back on the
/// others with every acknowledged point; the catalog singleton's node leaves and the catalog returns with a
/// higher term; the whole cluster restarts on the same SQLite file and answers exactly as before.
/// </summary>
public sealed class FailoverTests
{
    private const int Dimension = 16;
    private const int K = 5;

    [Fact]
    public async Task Partitions_and_catalog_survive_node_loss_and_a_whole_cluster_restart()
    {
        var vectors = ClusterData.Clustered(1200, Dimension, 6, seed: 21);
        var queries = ClusterData.Clustered(20, Dimension, 6, seed: 22);
        var truth = ClusterData.Truth(vectors);
        string data = Directory.CreateTempSubdirectory("vlink-failover-test-").FullName;
        try
        {
            await Story(data, vectors, queries, truth);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task Story(string data, float[][] vectors, float[][] queries, FlatIndex truth)
    {
        await using (var cluster = await TestCluster.StartAsync(3, data))
        {
            var first = await cluster.Node(0).ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("docs", Dimension, 6, flatThreshold: 100)));
            var points = ClusterData.Points(vectors);
            for (int b = 0; b * 200 < points.Count; b++)
                await cluster.Node(b % 3).UpsertAsync("docs", points.Skip(b * 200).Take(200).ToList());
            await AssertExactAsync(cluster.Node(0), queries, truth);

            // Step 1: node 2 dies (no goodbye) and is downed. Its partitions re-home and recover from the journal.
            var before = await PartitionsByNode(cluster);
            Assert.True(before[2].Count > 0, "node 2 hosted no partition; the test would prove nothing");
            await cluster.CrashAsync(2);
            // While the dead node is not yet downed its partitions cannot answer: the result must say so.
            var during = await cluster.Node(0).Gather.SearchAsync("docs", queries[0], K, exact: true);
            Assert.False(during.Complete);
            Assert.Superset(before[2].ToHashSet(), during.MissingPartitions.ToHashSet());
            Assert.Subset(before[2].ToHashSet(), during.MissingPartitions.ToHashSet());
            cluster.Down(2);
            await cluster.WaitUpAsync(2);
            var recovered = await Eventually.Async(
                () => cluster.Node(1).Gather.SearchAsync("docs", queries[0], K, exact: true),
                r => r.Complete, TimeSpan.FromSeconds(30));
            Assert.True(recovered.Complete, $"still missing {string.Join(",", recovered.MissingPartitions)}");
            await AssertExactAsync(cluster.Node(1), queries, truth);

            // Step 2: the singleton's node (the oldest, node 0) leaves; the catalog comes back with a higher term.
            await cluster.Node(1).ChangeCatalogAsync(new SetSetting("gather.over-fetch", "3"));
            var beforeFailover = await cluster.Node(1).CatalogAsync();
            Assert.True(beforeFailover.Term >= first.Term);
            await cluster.LeaveAsync(0);
            await cluster.WaitUpAsync(1);
            var after = await Eventually.Async(() => cluster.Node(1).CatalogAsync(TimeSpan.FromSeconds(2)),
                s => s.Term > beforeFailover.Term, TimeSpan.FromSeconds(40));
            Assert.True(after.Term > beforeFailover.Term, $"term {after.Term} did not increase past {beforeFailover.Term}");
            Assert.Equal(beforeFailover.Index, after.Index);
            Assert.NotNull(after.Find("docs"));
            Assert.Equal("3", after.Setting("gather.over-fetch"));
            // A change after failover is durable too.
            var ack = await cluster.Node(1).ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("after-failover", 4, 2, 100)));
            Assert.Equal(after.Term, ack.Term);
            Assert.Equal(after.Index + 1, ack.Index);
            await AssertExactAsync(cluster.Node(1), queries, truth);
        }

        // Step 3: the whole cluster restarts on the same SQLite file: same answers, same catalog.
        await using (var restarted = await TestCluster.StartAsync(3, data))
        {
            var catalog = await Eventually.Async(() => restarted.Node(0).CatalogAsync(TimeSpan.FromSeconds(2)),
                s => s.Find("after-failover") is not null, TimeSpan.FromSeconds(30));
            Assert.NotNull(catalog.Find("docs"));
            Assert.NotNull(catalog.Find("after-failover"));
            Assert.Equal("3", catalog.Setting("gather.over-fetch"));
            Assert.Equal(CatalogSnapshot.CurrentSchemaVersion, catalog.SchemaVersion);
            await Eventually.Async(() => restarted.Node(2).Gather.SearchAsync("docs", queries[0], K, exact: true),
                r => r.Complete, TimeSpan.FromSeconds(30));
            await AssertExactAsync(restarted.Node(2), queries, truth);
        }
    }

    [PostgresFact]
    public async Task A_three_node_cluster_on_PostgreSQL_restarts_with_identical_answers()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var vectors = ClusterData.Clustered(900, Dimension, 5, seed: 41);
        var queries = ClusterData.Clustered(15, Dimension, 5, seed: 42);
        var truth = ClusterData.Truth(vectors);
        List<IReadOnlyList<Core.Indexing.SearchHit>> before = [];
        await using (var cluster = await TestCluster.StartAsync(3, postgres: database.ConnectionString))
        {
            await cluster.Node(0).ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("docs", Dimension, 6, flatThreshold: 100)));
            var points = ClusterData.Points(vectors);
            for (int b = 0; b * 150 < points.Count; b++)
                await cluster.Node(b % 3).UpsertAsync("docs", points.Skip(b * 150).Take(150).ToList());
            await AssertExactAsync(cluster.Node(1), queries, truth);
            foreach (var q in queries) before.Add((await cluster.Node(0).Gather.SearchAsync("docs", q, K)).Hits);
        }
        await using (var restarted = await TestCluster.StartAsync(3, postgres: database.ConnectionString))
        {
            await Eventually.Async(() => restarted.Node(1).Gather.SearchAsync("docs", queries[0], K, exact: true),
                r => r.Complete, TimeSpan.FromSeconds(30));
            await AssertExactAsync(restarted.Node(2), queries, truth);
            for (int i = 0; i < queries.Length; i++)
            {
                var again = await restarted.Node(i % 3).Gather.SearchAsync("docs", queries[i], K);
                Assert.True(again.Complete);
                Assert.Equal(before[i], again.Hits);
            }
        }
    }

    private static async Task AssertExactAsync(Hosting.VLinkNode node, float[][] queries, FlatIndex truth)
    {
        foreach (var query in queries)
        {
            var result = await node.Gather.SearchAsync("docs", query, K, exact: true);
            Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
            Assert.Equal(truth.Search(query, K).Select(h => h.Id), result.Hits.Select(h => h.Id));
        }
    }

    private static async Task<List<string>[]> PartitionsByNode(TestCluster cluster)
    {
        var partitions = new List<string>[cluster.Nodes.Count];
        for (int i = 0; i < partitions.Length; i++)
        {
            partitions[i] = [];
            if (cluster.Nodes[i] is not { } node) continue;
            var local = await node.Agent.Ask<Partitions.NodeAgent.LocalPartitions>(Partitions.NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3));
            partitions[i].AddRange(local.Partitions.Where(p => p.Collection == "docs").Select(p => p.EntityId));
        }
        return partitions;
    }
}
