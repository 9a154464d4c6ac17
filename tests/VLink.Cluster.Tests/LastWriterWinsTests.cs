using System.Text;
using Akka.Actor;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// Versions and last writer wins: every write carries a hybrid logical clock version, and a partition keeps, per id,
/// whatever the newest write left (a point or a tombstone), whatever order the writes arrive in.
/// </summary>
public sealed class LastWriterWinsTests
{
    private static CollectionSpec Spec(PartitionScheme scheme = PartitionScheme.Hash) =>
        new("lww", 3, DistanceMetric.Euclidean, scheme, 1, HnswOptions.Default with { M = 8, EfConstruction = 32 }, FlatThreshold: 4);

    private static PointVersion V(long time, int node = 1) => new(time, node);

    private static PointWrite Point(PointId id, float x, PointVersion version) =>
        new(id, [x, 1f, 0f], Encoding.UTF8.GetBytes($"{{\"x\":{x}}}"), null, version);

    // ---- The clock ----

    [Fact]
    public void The_clock_never_goes_back_steps_within_a_millisecond_and_jumps_past_what_it_observes()
    {
        long wall = 1_000;
        var clock = new HybridClock(7, () => wall);
        var a = clock.Next();
        var b = clock.Next();
        Assert.Equal((1_000L, 0, 7), (a.Milliseconds, a.Counter, a.Node));
        Assert.Equal((1_000L, 1), (b.Milliseconds, b.Counter));

        wall = 900; // the wall clock stepped back
        var c = clock.Next();
        Assert.True(c > b);
        Assert.Equal(1_000L, c.Milliseconds);

        clock.Observe(new PointVersion(5_000L << PointVersion.CounterBits | 9, 3));
        var d = clock.Next();
        Assert.Equal((5_000L, 10, 7), (d.Milliseconds, d.Counter, d.Node));

        wall = 6_000;
        Assert.Equal((6_000L, 0), (clock.Next().Milliseconds, clock.Next().Counter - 1));
    }

    [Fact]
    public void Versions_order_by_time_then_node_and_none_is_older_than_all()
    {
        Assert.True(V(5, 1) < V(5, 2));
        Assert.True(V(5, 9) < V(6, 1));
        Assert.True(PointVersion.None < V(0, 1));
        Assert.True(PointVersion.None.IsNone);
        Assert.Equal("none", PointVersion.None.ToString());
        Assert.Equal(V(6, 1), PointVersion.Max(V(6, 1), V(5, 9)));
    }

    // ---- One partition ----

    [Fact]
    public void An_older_upsert_never_replaces_a_newer_one()
    {
        using var state = PartitionState.Create(Spec());
        Assert.Equal(1, state.Apply(new PointsUpserted([Point(1UL, 2f, V(20))])));
        Assert.Equal(0, state.Apply(new PointsUpserted([Point(1UL, 9f, V(10))])));
        Assert.Equal(2f, state.Index.GetVector(1UL)![0]);
        Assert.Equal(V(20), state.Versions.LiveOf(1UL));
        Assert.Equal(V(20), state.Scroll(null, null, 10, true, false).Single().Version);
    }

    [Fact]
    public void A_delete_leaves_a_tombstone_that_refuses_an_older_upsert_but_not_a_newer_one()
    {
        using var state = PartitionState.Create(Spec());
        state.Apply(new PointsUpserted([Point(1UL, 1f, V(10))]));
        Assert.Equal(1, state.Apply(new PointsDeleted([1UL], V(30))));

        // A stale replica's copy, or a write that was in flight while the delete happened: not resurrected.
        Assert.Equal(0, state.Apply(new PointsUpserted([Point(1UL, 5f, V(20))])));
        Assert.False(state.Index.Contains(1UL));
        Assert.True(state.Versions.IsDeleted(1UL, out var at) && at == V(30));

        Assert.Equal(1, state.Apply(new PointsUpserted([Point(1UL, 7f, V(40))])));
        Assert.Equal(7f, state.Index.GetVector(1UL)![0]);
        Assert.False(state.Versions.IsDeleted(1UL, out _));
    }

    [Fact]
    public void A_delete_that_arrives_before_its_upsert_still_wins()
    {
        using var state = PartitionState.Create(Spec());
        Assert.Equal(0, state.Apply(new PointsDeleted(["early"], V(50))));
        Assert.Equal(0, state.Apply(new PointsUpserted([Point("early", 1f, V(40))])));
        Assert.Equal(0, state.Count);
    }

    [Fact]
    public void An_older_delete_keeps_a_newer_point_and_a_payload_change_leaves_later_points_alone()
    {
        using var state = PartitionState.Create(Spec());
        state.Apply(new PointsUpserted([Point(1UL, 1f, V(30)), Point(2UL, 2f, V(10))]));
        Assert.Equal(1, state.Apply(new PointsDeleted([1UL, 2UL], V(20))));
        Assert.True(state.Index.Contains(1UL));
        Assert.False(state.Index.Contains(2UL));

        var change = state.Resolve(new ChangePayload(new PartitionRef("lww", "p0", 1), PayloadChangeKind.Overwrite, "{\"c\":1}"u8.ToArray(), [], [1UL], null, V(25)));
        Assert.Null(change); // point 1 was written at 30, after the change at 25
        Assert.Equal(0, state.Apply(new PayloadChanged(PayloadChangeKind.Clear, null, [], [1UL], V(25))));
        Assert.NotNull(state.Payload(1UL));
        Assert.Equal(1, state.Apply(new PayloadChanged(PayloadChangeKind.Clear, null, [], [1UL], V(35))));
        Assert.Null(state.Payload(1UL));
        Assert.Equal(V(30), state.Versions.LiveOf(1UL)); // a payload change does not move the point's version
    }

    [Fact]
    public void Unversioned_entries_of_older_journals_replay_as_before()
    {
        using var state = PartitionState.Create(Spec());
        state.Apply(new PointsUpserted([new PointWrite(1UL, [1f, 0f, 0f], null), new PointWrite(2UL, [2f, 0f, 0f], null)]));
        state.Apply(new PointsDeleted([1UL]));
        state.Apply(new PointsUpserted([new PointWrite(1UL, [3f, 0f, 0f], null)]));
        Assert.Equal(3f, state.Index.GetVector(1UL)![0]);
        Assert.Equal(0, state.Versions.TombstoneCount);
        Assert.Equal(0, state.Versions.LiveCount);

        // The first versioned write is newer than any of them.
        Assert.Equal(1, state.Apply(new PointsDeleted([2UL], V(1))));
        Assert.False(state.Index.Contains(2UL));
    }

    [Fact]
    public void Tombstones_and_versions_survive_a_snapshot()
    {
        using var state = PartitionState.Create(Spec());
        state.Apply(new PointsUpserted([.. Enumerable.Range(0, 10).Select(i => Point((ulong)i, i, V(100 + i)))])); // a graph past the threshold
        state.Apply(new PointsDeleted([3UL, 4UL, "never-written"], V(500)));

        using var restored = PartitionState.FromSnapshot(state.ToSnapshot());
        Assert.Equal(V(105), restored.Versions.LiveOf(5UL));
        Assert.Equal(0, restored.Apply(new PointsUpserted([Point(3UL, 1f, V(400)), Point("never-written", 1f, V(499))])));
        Assert.Equal(8, restored.Count);
        Assert.Equal(1, restored.Apply(new PointsUpserted([Point(4UL, 1f, V(501))])));
        Assert.Equal(9, restored.Count);
    }

    // ---- Any order ----

    /// <summary>One write of a generated history: an upsert or a delete of a small id at a version unique to it.</summary>
    public sealed record Write(int Id, bool Delete, long Time, int Node)
    {
        public object Event(int index) => Delete
            ? new PointsDeleted([(ulong)Id], new PointVersion(Time, Node))
            : new PointsUpserted([new PointWrite((ulong)Id, [index + 1f, Id, 1f], Encoding.UTF8.GetBytes($"{{\"w\":{index}}}"), $"doc {index}", new PointVersion(Time, Node))]);
    }

    private static Arbitrary<(Write[] Writes, int[] Order)> Histories() =>
        (from count in Gen.Choose(1, 40)
         from ids in Gen.Choose(0, 5).ArrayOf(count)
         from deletes in Gen.Elements(false, false, true).ArrayOf(count)
         from times in Gen.Choose(1, 8).ArrayOf(count) // few distinct times: many ties, broken by the node
         from keys in Gen.Choose(0, 1_000_000).ArrayOf(count)
         let writes = Enumerable.Range(0, count).Select(i => new Write(ids[i], deletes[i], times[i], i)).ToArray()
         let order = Enumerable.Range(0, count).OrderBy(i => keys[i]).ThenBy(i => i).ToArray()
         select (writes, order)).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Replicas_that_receive_the_same_writes_in_any_order_hold_the_same_points() =>
        Prop.ForAll(Histories(), history =>
        {
            var (writes, order) = history;
            using var inOrder = Replay(writes, Enumerable.Range(0, writes.Length));
            using var shuffled = Replay(writes, order);
            // And what last-writer-wins promises: per id, the newest write decides.
            var expected = writes.Select((w, i) => (w, i)).GroupBy(x => x.w.Id)
                .Select(g => g.MaxBy(x => new PointVersion(x.w.Time, x.w.Node)))
                .Where(x => !x.w.Delete).ToDictionary(x => (ulong)x.w.Id, x => x.i);
            return Dump(inOrder) == Dump(shuffled)
                && inOrder.Count == expected.Count
                && expected.All(e => inOrder.Index.GetVector(e.Key)![0] == e.Value + 1f);
        });

    private static PartitionState Replay(Write[] writes, IEnumerable<int> order)
    {
        var state = PartitionState.Create(Spec());
        foreach (int i in order)
        {
            switch (writes[i].Event(i))
            {
                case PointsUpserted u: state.Apply(u); break;
                case PointsDeleted d: state.Apply(d); break;
            }
        }
        return state;
    }

    /// <summary>Everything a partition state holds, as text: points (vector, payload, document, version) and tombstones.</summary>
    internal static string Dump(PartitionState state)
    {
        var sb = new StringBuilder();
        foreach (var p in state.Scroll(null, null, int.MaxValue - 1, true, true))
            sb.Append(p.Id).Append('=').AppendJoin(',', p.Vector!).Append(' ').Append(Encoding.UTF8.GetString(p.Payload!)).Append(p.Document).Append(p.Version).Append(';');
        foreach (var (id, version) in state.Versions.Tombstones.OrderBy(t => t.Key)) sb.Append('-').Append(id).Append('@').Append(version).Append(';');
        return sb.ToString();
    }

    // ---- Through the cluster ----

    [Fact]
    public async Task A_deleted_point_stays_deleted_after_a_snapshot_and_recovery_against_an_older_write()
    {
        await using var cluster = await TestCluster.StartAsync(1, extraHocon: """
            vlink.snapshot-every = 2
            akka.cluster.sharding.passivate-idle-entity-after = 1s
            """);
        var node = cluster.Node(0);
        await node.ChangeCatalogAsync(new CreateCollection(Spec() with { Name = "tomb" }));
        var entry = (await node.CatalogAsync()).Find("tomb")!;
        var partition = entry.Partition("p0");

        await node.UpsertAsync("tomb", [new PointWrite(1UL, [1f, 0f, 0f], null), new PointWrite(2UL, [2f, 0f, 0f], null)]);
        var written = (await node.Partitions.Ask<PointsFound>(new GetPoints(partition, [1UL], false), TimeSpan.FromSeconds(5))).Points.Single().Version;
        Assert.False(written.IsNone);
        Assert.Equal(node.Clock.Node, written.Node);
        Assert.Equal(1, (await node.DeleteAsync("tomb", [1UL])).Applied);

        // Let the partition stop, so the next message recovers it from its snapshot (taken every 2 entries).
        await Eventually.Async(async () =>
        {
            var local = await node.Agent.Ask<NodeAgent.LocalPartitions>(NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3));
            return local.Partitions.Count;
        }, count => count == 0, TimeSpan.FromSeconds(20)).ContinueWith(t => Assert.Equal(0, t.Result));

        // The write that was in flight while the delete happened, with the version it was stamped with.
        var stale = new UpsertPoints(partition, entry.Spec, [new PointWrite(1UL, [9f, 0f, 0f], null, null, written)]);
        var ack = Assert.IsType<WriteAck>(await node.Partitions.Ask<IVLinkMessage>(stale, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, ack.Applied);
        Assert.Empty((await node.Partitions.Ask<PointsFound>(new GetPoints(partition, [1UL], false), TimeSpan.FromSeconds(5))).Points);

        // A later write of the id is a new point.
        await node.UpsertAsync("tomb", [new PointWrite(1UL, [3f, 0f, 0f], null)]);
        var back = (await node.Partitions.Ask<PointsFound>(new GetPoints(partition, [1UL], true), TimeSpan.FromSeconds(5))).Points.Single();
        Assert.Equal(3f, back.Vector![0]);
        Assert.True(back.Version > written);
    }
}
