using System.Text;
using Akka.Actor;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// Catch-up between the replicas of a partition on a real cluster: writes sent to one replica only (straight through
/// the shard region, as a coordinator whose other writes failed would leave them) reach the other through digests and
/// journalled repairs; deletes are never undone; conflicting writes settle on the highest version everywhere; and the
/// repairs are in the replica's own journal.
/// </summary>
public sealed class ReplicaCatchUpTests
{
    private const string FastCatchUp = "vlink.replication.anti-entropy-interval = 200ms";
    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    private static CollectionSpec Spec(string name, int partitions) =>
        new(name, 3, DistanceMetric.Euclidean, PartitionScheme.Hash, partitions, HnswOptions.Default with { M = 8, EfConstruction = 32 },
            FlatThreshold: 16, ReplicationFactor: 2, WriteConsistency: 1);

    private static PointWrite Point(ulong id, float x, PointVersion version) =>
        new(id, [x, id, 1f], Encoding.UTF8.GetBytes($"{{\"x\":{x}}}"), id % 3 == 0 ? $"doc {id}" : null, version);

    private static async Task<CollectionEntry> CreateAsync(VLinkNode node, CollectionSpec spec)
    {
        await node.ChangeCatalogAsync(new CreateCollection(spec));
        return (await node.CatalogAsync()).Find(spec.Name)!;
    }

    private static async Task WriteAsync(VLinkNode node, PartitionRef replica, CollectionSpec spec, params PointWrite[] points) =>
        Assert.IsType<WriteAck>(await node.Partitions.Ask<IVLinkMessage>(new UpsertPoints(replica, spec, points), Ask));

    private static async Task DeleteAsync(VLinkNode node, PartitionRef replica, PointVersion version, params PointId[] ids) =>
        Assert.IsType<WriteAck>(await node.Partitions.Ask<IVLinkMessage>(new DeletePoints(replica, ids, version), Ask));

    private static async Task<ReplicaDigest> DigestAsync(VLinkNode node, PartitionRef replica) =>
        await node.Partitions.Ask<ReplicaDigest>(new GetReplicaDigest(replica), Ask);

    // Everything a replica holds of some ids, as text: id, vector, payload, document, version.
    // A replica that has just recovered refuses reads until its first catch-up round is done: such a read is retried.
    private static async Task<string> ReadAsync(VLinkNode node, PartitionRef replica, IEnumerable<ulong> ids)
    {
        var found = await Eventually.Async(async () =>
        {
            try
            {
                return await node.Partitions.Ask<PointsFound>(new GetPoints(replica, [.. ids.Select(i => (PointId)i)], WithVector: true), Ask);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("catching up", StringComparison.Ordinal))
            {
                return null;
            }
        }, f => f is not null, TimeSpan.FromSeconds(30)) ?? throw new TimeoutException($"{replica} kept catching up.");
        var sb = new StringBuilder();
        foreach (var p in found.Points.OrderBy(p => p.Id))
            sb.Append(p.Id).Append('=').AppendJoin(',', p.Vector!).Append(' ').Append(Encoding.UTF8.GetString(p.Payload ?? [])).Append(p.Document).Append('@').Append(p.Version).Append(';');
        return sb.ToString();
    }

    // Waits until both replicas of a partition have the same digest, and returns it.
    private static async Task<ReplicaDigest> ConvergedAsync(VLinkNode node, PartitionRef partition)
    {
        var (a, b) = await Eventually.Async(
            async () => (await DigestAsync(node, partition), await DigestAsync(node, partition.WithReplica(1))),
            pair => pair.Item1.Buckets.SequenceEqual(pair.Item2.Buckets),
            Converge);
        Assert.Equal(a.Buckets, b.Buckets);
        Assert.Equal(a.HighWater, b.HighWater);
        return a;
    }

    [Fact]
    public async Task Writes_sent_to_replica_zero_only_reach_replica_one_on_another_node()
    {
        await using var cluster = await TestCluster.StartAsync(2, extraHocon: FastCatchUp);
        var node = cluster.Node(0);
        var entry = await CreateAsync(node, Spec("ae", 3));
        var ids = Enumerable.Range(1, 60).Select(i => (ulong)i).ToList();
        foreach (var group in ids.GroupBy(id => HashPartitioner.KeyOf(id, 3)))
        {
            var version = node.Clock.Next();
            await WriteAsync(node, entry.Partition(group.Key), entry.Spec, [.. group.Select(id => Point(id, id * 0.5f, version))]);
        }
        var deleteVersion = node.Clock.Next();
        foreach (var group in ids.Where(id => id % 5 == 0).GroupBy(id => HashPartitioner.KeyOf(id, 3)))
            await DeleteAsync(node, entry.Partition(group.Key), deleteVersion, [.. group.Select(id => (PointId)id)]);

        foreach (var partition in entry.Partitions())
        {
            var digest = await ConvergedAsync(node, partition);
            Assert.Contains(digest.Buckets, b => b != 0);
            Assert.Equal(deleteVersion, digest.HighWater);
            // The statistics show it too: the same folded digest and high water on both replicas.
            var (zeroStats, oneStats) = (await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(partition), Ask),
                await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(partition.WithReplica(1)), Ask));
            Assert.NotEqual(0UL, zeroStats.Digest);
            Assert.Equal((zeroStats.Digest, zeroStats.HighWater, zeroStats.Points), (oneStats.Digest, oneStats.HighWater, oneStats.Points));
            Assert.Equal(1, oneStats.Partition.Replica);
            string primary = await ReadAsync(node, partition, ids);
            Assert.NotEmpty(primary);
            Assert.Equal(primary, await ReadAsync(cluster.Node(1), partition.WithReplica(1), ids));
        }
        // The deleted points are gone from both replicas.
        foreach (var partition in entry.Partitions())
        {
            Assert.Empty(await ReadAsync(node, partition, ids.Where(id => id % 5 == 0)));
            Assert.Empty(await ReadAsync(node, partition.WithReplica(1), ids.Where(id => id % 5 == 0)));
        }
    }

    [Fact]
    public async Task An_empty_replica_takes_a_whole_partition_in_several_fetches()
    {
        await using var cluster = await TestCluster.StartAsync(1, extraHocon: FastCatchUp);
        var node = cluster.Node(0);
        var entry = await CreateAsync(node, Spec("bulk", 1));
        var partition = entry.Partition("p0");
        // More points than one fetch takes, written in batches of their own versions.
        var ids = Enumerable.Range(1, 3 * Replication.ReplicaSync.FetchBatch + 17).Select(i => (ulong)i).ToList();
        foreach (var batch in ids.Chunk(50))
        {
            var version = node.Clock.Next();
            await WriteAsync(node, partition, entry.Spec, [.. batch.Select(id => Point(id, id, version))]);
        }

        await ConvergedAsync(node, partition);
        Assert.Equal(ids.Count, (await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(partition.WithReplica(1)), Ask)).Points);
        Assert.Equal(await ReadAsync(node, partition, ids), await ReadAsync(node, partition.WithReplica(1), ids));
    }

    [Fact]
    public async Task A_replica_that_missed_deletes_loses_the_points_and_never_gives_them_back()
    {
        await using var cluster = await TestCluster.StartAsync(1, extraHocon: FastCatchUp);
        var node = cluster.Node(0);
        var entry = await CreateAsync(node, Spec("tombs", 1));
        var partition = entry.Partition("p0");
        var written = node.Clock.Next();
        var points = Enumerable.Range(1, 20).Select(i => Point((ulong)i, i, written)).ToArray();
        // Both replicas hold every point.
        await WriteAsync(node, partition, entry.Spec, points);
        await WriteAsync(node, partition.WithReplica(1), entry.Spec, points);
        await ConvergedAsync(node, partition);

        // Replica 1 misses the delete of 1–5; replica 0 misses the delete of 6–8.
        await DeleteAsync(node, partition, node.Clock.Next(), 1UL, 2UL, 3UL, 4UL, 5UL);
        await DeleteAsync(node, partition.WithReplica(1), node.Clock.Next(), 6UL, 7UL, 8UL);

        await ConvergedAsync(node, partition);
        var all = Enumerable.Range(1, 20).Select(i => (ulong)i).ToList();
        string zero = await ReadAsync(node, partition, all);
        Assert.Equal(zero, await ReadAsync(node, partition.WithReplica(1), all));
        Assert.Empty(await ReadAsync(node, partition, all.Where(id => id <= 8)));
        Assert.Empty(await ReadAsync(node, partition.WithReplica(1), all.Where(id => id <= 8)));
        Assert.Equal(12, (await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(partition.WithReplica(1)), Ask)).Points);

        // The stale write that was in flight before the deletes changes nothing on either replica.
        await WriteAsync(node, partition.WithReplica(1), entry.Spec, points[0]);
        await ConvergedAsync(node, partition);
        Assert.Empty(await ReadAsync(node, partition, [1UL]));
        Assert.Empty(await ReadAsync(node, partition.WithReplica(1), [1UL]));
    }

    [Fact]
    public async Task Conflicting_writes_to_different_replicas_settle_on_the_highest_version_and_the_repairs_survive_a_restart()
    {
        string data = Directory.CreateTempSubdirectory("vlink-catch-up-").FullName;
        try
        {
            CollectionEntry entry;
            PartitionRef partition;
            string expected;
            var ids = new ulong[] { 1, 2, 3, 4 };
            await using (var cluster = await TestCluster.StartAsync(1, data, FastCatchUp))
            {
                var node = cluster.Node(0);
                entry = await CreateAsync(node, Spec("conflict", 1));
                partition = entry.Partition("p0");
                var (v1, v2, v3, v4) = (node.Clock.Next(), node.Clock.Next(), node.Clock.Next(), node.Clock.Next());
                // Id 1: replica 1 has the later write; id 2: replica 0 has; id 3 only on replica 0, id 4 only on replica 1.
                await WriteAsync(node, partition, entry.Spec, Point(1, 10f, v1), Point(2, 20f, v4), Point(3, 30f, v2));
                await WriteAsync(node, partition.WithReplica(1), entry.Spec, Point(1, 11f, v3), Point(2, 21f, v2), Point(4, 40f, v1));

                await ConvergedAsync(node, partition);
                expected = await ReadAsync(node, partition, ids);
                Assert.Equal(expected, await ReadAsync(node, partition.WithReplica(1), ids));
                var found = (await node.Partitions.Ask<PointsFound>(new GetPoints(partition.WithReplica(1), [1UL, 2UL, 3UL, 4UL], true), Ask)).Points.ToDictionary(p => p.Id);
                Assert.Equal((11f, v3), (found[1UL].Vector![0], found[1UL].Version));
                Assert.Equal((20f, v4), (found[2UL].Vector![0], found[2UL].Version));
                Assert.Equal((30f, v2), (found[3UL].Vector![0], found[3UL].Version));
                Assert.Equal((40f, v1), (found[4UL].Vector![0], found[4UL].Version));
            }

            // After a restart each replica reads what it took from its own journal: the first message a replica
            // answers is handled right after its recovery, before any catch-up round could bring a page back.
            await using (var cluster = await TestCluster.StartAsync(1, data, FastCatchUp))
            {
                var node = cluster.Node(0);
                Assert.Equal(expected, await ReadAsync(node, partition.WithReplica(1), ids));
                Assert.Equal(expected, await ReadAsync(node, partition, ids));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
                // SQLite may hold the file a moment longer.
            }
        }
    }
}
