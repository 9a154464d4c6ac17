using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Hnsw;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>Replica names, their shards, and a placement that keeps the replicas of one partition on distinct nodes.</summary>
public sealed class ReplicaPlacementTests : Akka.TestKit.Xunit2.TestKit
{
    // ---- Names ----

    [Fact]
    public void A_rebalance_never_moves_two_replicas_of_one_partition_at_once()
    {
        // Chosen: both replicas of 7, replica 1 of 9 (whose replica 0 is already moving), and 12 alone.
        var kept = ReplicaAllocationStrategy.OneMovePerFamily(["7", "7#1", "9#1", "12"], ["9"]);
        Assert.Equal(["12", "7"], kept.Order(StringComparer.Ordinal));
        Assert.Empty(ReplicaAllocationStrategy.OneMovePerFamily(["3#2"], ["3#1"]));
        Assert.Equal(["4", "5"], ReplicaAllocationStrategy.OneMovePerFamily(["4", "5"], []).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Replica_zero_keeps_the_names_partitions_had_and_other_replicas_get_their_own()
    {
        var primary = new PartitionRef("docs", "p3", 7);
        Assert.Equal("docs@7/p3", primary.EntityId);
        Assert.Equal("partition-docs@7/p3", primary.PersistenceId);

        var second = primary.WithReplica(2);
        Assert.Equal("docs@7#2/p3", second.EntityId);
        Assert.Equal("partition-docs@7#2/p3", second.PersistenceId);
        Assert.Equal(primary, second.Primary());
        Assert.Equal(second, PartitionRef.FromEntityId(second.EntityId));
        Assert.Equal(primary, PartitionRef.FromEntityId(primary.EntityId));

        // A key may hold '#' and '/': only a '#' between the generation and the first '/' names a replica.
        var odd = new PartitionRef("m", "a#1/b", 2, 1);
        Assert.Equal(odd, PartitionRef.FromEntityId(odd.EntityId));
        Assert.Equal(0, PartitionRef.FromEntityId("m@2/a#1").Replica);

        Assert.Throws<ArgumentException>(() => PartitionRef.FromEntityId("docs@7#0/p3"));
        Assert.Throws<ArgumentException>(() => PartitionRef.FromEntityId("docs@7#x/p3"));
        Assert.Throws<ArgumentException>(() => PartitionRef.FromEntityId("docs@#1/p3"));
    }

    [Fact]
    public void The_replicas_of_a_partition_share_a_base_shard_and_replica_zero_keeps_its_shard()
    {
        var extractor = new PartitionMessageExtractor(64);
        var primary = new PartitionRef("docs", "p3", 7);
        string shard = extractor.ShardOf(primary);
        Assert.Equal(shard, extractor.ShardOf(primary.EntityId));
        Assert.Equal((StableHash.Of("docs@7/p3") % 64).ToString(System.Globalization.CultureInfo.InvariantCulture), shard);
        Assert.Equal(shard + "#1", extractor.ShardOf(primary.WithReplica(1)));
        Assert.Equal(shard + "#2", extractor.ShardId(primary.WithReplica(2).EntityId));
        Assert.Equal(shard + "#1", extractor.ShardId(new GetPartitionStats(primary.WithReplica(1))));
        Assert.Equal(shard, ReplicaAllocationStrategy.FamilyOf(shard + "#2"));
    }

    [Fact]
    public void A_spec_has_one_replica_by_default_and_refuses_impossible_replication()
    {
        var spec = new CollectionSpec("r", 2, DistanceMetric.Dot, PartitionScheme.Hash, 2, HnswOptions.Default);
        Assert.Equal((1, 1), (spec.ReplicationFactor, spec.WriteConsistency));
        (spec with { ReplicationFactor = 3, WriteConsistency = 2 }).Validate();
        Assert.Equal(["r@1/p0", "r@1#1/p0", "r@1#2/p0"], (spec with { ReplicationFactor = 3 }).Replicas(new PartitionRef("r", "p0", 1)).Select(p => p.EntityId));
        Assert.Equal(2, CollectionSpec.Majority(3));
        Assert.Equal(2, CollectionSpec.Majority(2));
        Assert.Equal("ReplicationFactor", Assert.Throws<ArgumentException>(() => (spec with { ReplicationFactor = 0 }).Validate()).ParamName);
        Assert.Equal("ReplicationFactor", Assert.Throws<ArgumentException>(() => (spec with { ReplicationFactor = 17 }).Validate()).ParamName);
        Assert.Equal("WriteConsistency", Assert.Throws<ArgumentException>(() => (spec with { ReplicationFactor = 2, WriteConsistency = 3 }).Validate()).ParamName);
        Assert.Equal("WriteConsistency", Assert.Throws<ArgumentException>(() => (spec with { WriteConsistency = 0 }).Validate()).ParamName);
    }

    // ---- The allocation strategy ----

    private static IImmutableDictionary<IActorRef, IImmutableList<string>> Allocations(params (IActorRef Region, string[] Shards)[] regions) =>
        regions.ToImmutableDictionary(r => r.Region, r => (IImmutableList<string>)r.Shards.ToImmutableList());

    [Fact]
    public async Task A_replica_shard_goes_to_the_least_loaded_node_without_a_sibling()
    {
        var (a, b, c) = (CreateTestProbe().Ref, CreateTestProbe().Ref, CreateTestProbe().Ref);
        var strategy = new ReplicaAllocationStrategy();

        // c is the least loaded, but holds 5#2: 5#1 goes to b, the least loaded of the others.
        var current = Allocations((a, ["5", "1", "2", "3"]), (b, ["4", "6"]), (c, ["5#2"]));
        Assert.Equal(b, await strategy.AllocateShard(a, "5#1", current));
        // Replica 0 avoids its replicas too.
        Assert.Equal(b, await strategy.AllocateShard(a, "5", Allocations((a, ["5#1"]), (b, ["1", "2"]), (c, ["5#2"]))));
        // Fewer nodes than replicas: where sharing costs least — beside 5#3 and 5#4 (pairs only collections of 4 and 5
        // replicas have) rather than beside 5 or 5#1 (a pair every collection of 3 replicas has).
        Assert.Equal(c, await strategy.AllocateShard(a, "5#2", Allocations((a, ["5", "1"]), (b, ["5#1", "2", "3"]), (c, ["5#3", "5#4"]))));
    }

    [Fact]
    public async Task With_two_nodes_left_replicas_0_and_1_stay_apart_beside_a_collection_of_three_replicas()
    {
        // The family 8, 8#1, 8#2 holds an R = 3 collection's partition and an R = 2 one's: on two nodes, 8 and 8#1 (all
        // the R = 2 collection has) must not share one, whichever of the three is allocated again.
        var (a, b) = (CreateTestProbe().Ref, CreateTestProbe().Ref);
        var strategy = new ReplicaAllocationStrategy();
        Assert.Equal(b, await strategy.AllocateShard(a, "8#1", Allocations((a, ["8", "1"]), (b, ["8#2", "2", "3"]))));
        Assert.Equal(b, await strategy.AllocateShard(a, "8", Allocations((a, ["8#1"]), (b, ["8#2", "2", "3"]))));
        Assert.Equal(2, ReplicaAllocationStrategy.ReplicaIndexOf("8#2"));
        Assert.Equal(0, ReplicaAllocationStrategy.ReplicaIndexOf("8"));
    }

    [Fact]
    public async Task Replicas_asked_for_before_the_first_allocation_shows_still_go_to_distinct_nodes()
    {
        var (a, b, c) = (CreateTestProbe().Ref, CreateTestProbe().Ref, CreateTestProbe().Ref);
        var strategy = new ReplicaAllocationStrategy();
        // A write reaches replicas 1 and 2 of partition 12 at once: both are allocated against the same state.
        var current = Allocations((a, ["12"]), (b, []), (c, []));
        var first = await strategy.AllocateShard(a, "12#1", current);
        var second = await strategy.AllocateShard(a, "12#2", current);
        Assert.Equal(new[] { a, b, c }.Where(r => !r.Equals(a)).ToHashSet(), new[] { first, second }.ToHashSet());
        // Asked again before it shows, 12#1 stays where it was decided.
        var again = await strategy.AllocateShard(a, "12#1", Allocations((a, ["12"]), (b, first.Equals(b) ? [] : ["12#2"]), (c, first.Equals(c) ? [] : ["12#2"])));
        Assert.Equal(first, again);
    }

    // ---- On a real cluster ----

    [Fact]
    public async Task On_three_nodes_the_two_replicas_of_every_partition_live_on_different_nodes()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var node = cluster.Node(0);
        var spec = new CollectionSpec("placed", 2, DistanceMetric.Euclidean, PartitionScheme.Hash, 12, HnswOptions.Default, ReplicationFactor: 2, WriteConsistency: 2);
        await node.ChangeCatalogAsync(new CreateCollection(spec));
        var entry = (await node.CatalogAsync()).Find("placed")!;
        Assert.Equal(2, entry.Spec.ReplicationFactor);

        // Wake every replica of every partition (a stats query starts an entity wherever its shard is allocated).
        var replicas = entry.Partitions().SelectMany(spec.Replicas).ToList();
        await Task.WhenAll(replicas.Select(p => node.Partitions.Ask<PartitionStats>(new GetPartitionStats(p), TimeSpan.FromSeconds(10))));

        var where = await Eventually.Async(async () =>
        {
            var found = new Dictionary<string, Address>();
            foreach (var n in cluster.Running)
            {
                var local = await n.Agent.Ask<NodeAgent.LocalPartitions>(NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3));
                foreach (var p in local.Partitions.Where(p => p.Collection == "placed"))
                    found[p.EntityId] = Akka.Cluster.Cluster.Get(n.System).SelfAddress;
            }
            return found;
        }, found => found.Count == replicas.Count, TimeSpan.FromSeconds(10));
        Assert.Equal(replicas.Count, where.Count);
        foreach (var partition in entry.Partitions())
            Assert.NotEqual(where[partition.EntityId], where[partition.WithReplica(1).EntityId]);
        // Both replicas of a partition on distinct nodes, and the shards spread over all three.
        Assert.Equal(3, where.Values.Distinct().Count());
    }
}
