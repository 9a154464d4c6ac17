using Akka.Actor;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Tests;

/// <summary>Idle partitions passivate; the next search wakes them and still gets every point back.</summary>
public sealed class PassivationTests
{
    [Fact]
    public async Task A_passivated_partition_answers_the_next_search_after_recovery_never_empty()
    {
        await using var cluster = await TestCluster.StartAsync(1, extraHocon: "akka.cluster.sharding.passivate-idle-entity-after = 1s");
        var node = cluster.Node(0);
        var vectors = ClusterData.Clustered(400, 8, 4, seed: 31);
        await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("idle", 8, 4, flatThreshold: 100)));
        await node.UpsertAsync("idle", ClusterData.Points(vectors));
        var truth = ClusterData.Truth(vectors);

        // Wait until every partition has stopped (passivated) and left the node agent's registry.
        await Eventually.Async(async () =>
        {
            var local = await node.Agent.Ask<NodeAgent.LocalPartitions>(NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3));
            return local.Partitions.Count;
        }, count => count == 0, TimeSpan.FromSeconds(20)).ContinueWith(t => Assert.Equal(0, t.Result));

        var query = vectors[17];
        var result = await node.Gather.SearchAsync("idle", query, 5, exact: true);
        Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
        Assert.Equal(4, result.Trace.Woken.Count);
        Assert.Equal(truth.Search(query, 5).Select(h => h.Id), result.Hits.Select(h => h.Id));
    }
}
