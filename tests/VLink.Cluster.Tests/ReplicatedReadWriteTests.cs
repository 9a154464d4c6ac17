using System.Text;
using Akka.Actor;
using VLink.Cluster.Hosting;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;
using Xunit;

namespace VLink.Cluster.Tests;

/// <summary>
/// Collections with replicas on three in-process nodes: every write reaches each replica and is acknowledged by the
/// write consistency's number of them; a search reads one replica of each partition (never two), and when a node dies
/// the partitions it held are read from their other replica, so answers stay complete; reads by id with a stronger
/// consistency return the latest version.
/// </summary>
public sealed class ReplicatedReadWriteTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static CollectionSpec Spec(string name, int replicas, int writeConsistency) =>
        new(name, 8, DistanceMetric.Euclidean, PartitionScheme.Hash, 6, new HnswOptions { M = 12, EfConstruction = 100, EfSearch = 32 },
            ReplicationFactor: replicas, WriteConsistency: writeConsistency);

    private static async Task<HashSet<PointId>> IdsOfReplica(VLinkNode node, PartitionRef replica)
    {
        var page = await node.Partitions.Ask<PointsFound>(new ScrollPartition(replica, null, null, 10_000, WithPayload: false, WithVector: false), Wait);
        return [.. page.Points.Select(p => p.Id)];
    }

    [Fact]
    public async Task Writes_reach_every_replica_and_searches_read_one_replica_of_each_partition_even_when_a_node_dies()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var node = cluster.Node(0);
        await node.ChangeCatalogAsync(new CreateCollection(Spec("rep", 2, 2)));
        var data = ClusterData.Clustered(300, 8, 6, seed: 11);
        var truth = ClusterData.Truth(data);

        var written = await cluster.Node(1).UpsertAsync("rep", ClusterData.Points(data));
        Assert.Equal(300, written.Applied);
        Assert.Equal(2, written.Acknowledged);

        // Both replicas of every partition hold the same ids, and together the partitions hold every point once.
        var entry = (await node.CatalogAsync()).Find("rep")!;
        var all = new HashSet<PointId>();
        foreach (var partition in entry.Partitions())
        {
            var first = await IdsOfReplica(node, partition);
            var second = await IdsOfReplica(node, partition.WithReplica(1));
            Assert.Equal(first.OrderBy(i => i), second.OrderBy(i => i));
            all.UnionWith(first);
        }
        Assert.Equal(300, all.Count);
        Assert.Equal(300, await node.CountAsync("rep", null));

        // Every search is exact and complete, names each partition once, and over several searches both replicas answer.
        var queries = data.Where((_, i) => i % 30 == 0).ToList();
        var answeredBy = new HashSet<string>();
        for (int round = 0; round < 4; round++)
        {
            foreach (var query in queries)
            {
                var result = await cluster.Node(2).Gather.SearchAsync("rep", query, 10, exact: true);
                Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
                Assert.Equal(truth.Search(query, 10).Select(h => h.Id), result.Hits.Select(h => h.Id));
                var partitions = result.Trace.Nodes.SelectMany(n => n.Partitions).Select(p => p.Partition)
                    .Concat(result.Trace.Woken).Select(id => PartitionRef.FromEntityId(id)).ToList();
                Assert.Equal(partitions.Count, partitions.Select(p => p.Primary()).Distinct().Count());
                answeredBy.UnionWith(partitions.Select(p => p.EntityId));
            }
        }
        Assert.Contains(answeredBy, id => id.Contains('#', StringComparison.Ordinal));
        Assert.Contains(answeredBy, id => !id.Contains('#', StringComparison.Ordinal));

        // Node 2 dies without a goodbye and is not downed: the partitions it held are read from their other replica.
        await cluster.CrashAsync(2);
        for (int i = 0; i < queries.Count; i++)
        {
            var result = await cluster.Node(i % 2).Gather.SearchAsync("rep", queries[i], 10, exact: true);
            Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)} after node 2 died");
            Assert.Equal(truth.Search(queries[i], 10).Select(h => h.Id), result.Hits.Select(h => h.Id));
        }
        var batch = await node.Gather.SearchBatchAsync("rep", queries, 10, exact: true);
        Assert.All(batch, r => Assert.True(r.Complete));
        Assert.Equal(300, await node.CountAsync("rep", null));
        var page = await node.ScrollAsync("rep", null, null, 1000, withVector: false);
        Assert.Equal(300, page.Points.Count);

        // A write that needs both replicas cannot be acknowledged while one of them is on the dead node (its partitions
        // living there), and says how many did.
        var refused = await Assert.ThrowsAsync<WriteConsistencyException>(() =>
            node.UpsertAsync("rep", ClusterData.Points(data[..30], firstId: 1000), timeout: TimeSpan.FromSeconds(2)));
        Assert.Equal(1, refused.Acknowledged);
        Assert.Equal(2, refused.Required);
    }

    [Fact]
    public async Task A_write_acknowledged_by_one_replica_answers_while_the_other_is_down_and_reads_by_id_take_the_latest_version()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var node = cluster.Node(0);
        await node.ChangeCatalogAsync(new CreateCollection(Spec("one", 2, 1)));
        var entry = (await node.CatalogAsync()).Find("one")!;
        var data = ClusterData.Clustered(60, 8, 3, seed: 5);
        var written = await node.UpsertAsync("one", ClusterData.Points(data));
        Assert.InRange(written.Acknowledged, 1, 2);
        // A replica answers reads from what it has stored (reads never wait for its journal), so the replica that did not
        // acknowledge may still be storing the batch: wait until both hold it.
        var partition = entry.PartitionsOf([7UL]).Single().Partition;
        foreach (var replica in entry.Spec.Replicas(partition))
            await Eventually.Async(() => IdsOfReplica(node, replica), ids => ids.Contains(7UL) && ids.Contains(8UL), TimeSpan.FromSeconds(10));

        // Replica 1 of point 7's partition alone gets a newer write (as if replica 0 had missed it).
        var newer = new PointWrite(7UL, data[7], Encoding.UTF8.GetBytes("""{"n":"newer"}"""), Version: node.Clock.Next());
        var ack = await node.Partitions.Ask<IVLinkMessage>(new UpsertPoints(partition.WithReplica(1), entry.Spec, [newer]), Wait);
        Assert.IsType<WriteAck>(ack);

        foreach (var consistency in new[] { ReadConsistency.All, ReadConsistency.Majority, ReadConsistency.Of(2) })
        {
            var found = await node.GetPointsAsync(entry, [7UL, 8UL], withVector: false, consistency);
            Assert.Equal("""{"n":"newer"}""", Encoding.UTF8.GetString(found[7UL].Payload!));
            Assert.Equal(newer.Version, found[7UL].Version);
            Assert.True(found.ContainsKey(8UL));
        }
        // Reads of one replica turn between the replicas: both versions are seen over a few reads.
        var seen = new HashSet<string>();
        for (int i = 0; i < 8; i++)
            seen.Add(Encoding.UTF8.GetString((await node.GetPointsAsync(entry, [7UL], withVector: false, ReadConsistency.One))[7UL].Payload!));
        Assert.Contains("""{"n":"newer"}""", seen);
        Assert.Contains("""{"n":7}""", seen);

        // With one node dead and not downed, writes needing one replica are still acknowledged, and reads still answer.
        await cluster.CrashAsync(2);
        for (int i = 0; i < 6; i++)
        {
            var result = await cluster.Node(i % 2).UpsertAsync("one", [new PointWrite((ulong)(500 + i), data[i], null)]);
            Assert.InRange(result.Acknowledged, 1, 2);
        }
        // Each was acknowledged by one replica; a read of one replica sees it once that replica has stored it too.
        var read = await Eventually.Async(() => node.GetPointsAsync(entry, [.. Enumerable.Range(500, 6).Select(i => (PointId)(ulong)i)], withVector: false),
            found => found.Count == 6, TimeSpan.FromSeconds(10));
        Assert.Equal(6, read.Count);

        // Once node 2 is downed, its replicas come back on the two survivors, never both replicas of a partition on one
        // node, with no request of ours waking them.
        cluster.Down(2);
        await cluster.WaitUpAsync(2);
        var replicas = entry.Partitions().SelectMany(entry.Spec.Replicas).Select(p => p.EntityId).ToHashSet();
        var where = await Eventually.Async(async () =>
        {
            var found = new Dictionary<string, int>();
            for (int n = 0; n < 2; n++)
            {
                var local = await cluster.Node(n).Agent.Ask<NodeAgent.LocalPartitions>(NodeAgent.ListPartitions.Instance, Wait);
                foreach (var p in local.Partitions.Where(p => p.Collection == "one")) found[p.EntityId] = n;
            }
            return found;
        }, found => replicas.IsSubsetOf(found.Keys), TimeSpan.FromSeconds(45));
        Assert.Superset(replicas, where.Keys.ToHashSet());
        Assert.Subset(where.Keys.ToHashSet(), replicas);
        foreach (var p in entry.Partitions())
            Assert.NotEqual(where[p.EntityId], where[p.WithReplica(1).EntityId]);
    }
}
