using System.Text;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// The replica digest (buckets of XORed entry hashes) and the entry pages a catch-up fetches, on partition states
/// without actors: same content in any order gives the same digest, one differing entry changes exactly its bucket,
/// and pulling the differing buckets' newer entries makes a lagging replica equal to its sibling.
/// </summary>
public sealed class ReplicaDigestTests
{
    private static CollectionSpec Spec() =>
        new("digest", 3, DistanceMetric.Euclidean, PartitionScheme.Hash, 1, HnswOptions.Default with { M = 8, EfConstruction = 32 }, FlatThreshold: 8,
            ReplicationFactor: 2);

    private static PointVersion V(long time, int node = 1) => new(time, node);

    private static PointWrite Point(PointId id, float x, PointVersion version) =>
        new(id, [x, 1f, 0f], Encoding.UTF8.GetBytes($"{{\"x\":{x}}}"), x > 10 ? $"doc {x}" : null, version);

    // A history of upserts and deletes over 40 ids (numbers and strings), many of them written several times.
    private static List<IVLinkMessage> History(int seed, int writes = 300)
    {
        var rng = new Random(seed);
        var events = new List<IVLinkMessage>();
        for (int i = 1; i <= writes; i++)
        {
            PointId id = rng.Next(40) is var n && n % 3 == 0 ? (PointId)$"s{n}" : (ulong)n;
            var version = V(rng.Next(1, 200), rng.Next(1, 4));
            events.Add(rng.Next(4) == 0 ? new PointsDeleted([id], version) : new PointsUpserted([Point(id, rng.Next(1, 50), version)]));
        }
        return events;
    }

    private static PartitionState Replay(IEnumerable<IVLinkMessage> events)
    {
        var state = PartitionState.Create(Spec());
        foreach (var e in events)
        {
            if (e is PointsUpserted up) state.Apply(up);
            else state.Apply((PointsDeleted)e);
        }
        return state;
    }

    private static string Dump(PartitionState state) => LastWriterWinsTests.Dump(state);

    [Fact]
    public void The_same_writes_in_any_order_give_the_same_digest_and_a_snapshot_keeps_it()
    {
        var history = History(11);
        using var inOrder = Replay(history);
        using var shuffled = Replay(history.OrderBy(_ => Random.Shared.Next()));
        using var reversed = Replay(Enumerable.Reverse(history));

        var digest = inOrder.Versions.Digest();
        Assert.Equal(ReplicaDigests.Buckets, digest.Length);
        Assert.Equal(Dump(inOrder), Dump(shuffled));
        Assert.Equal(digest, shuffled.Versions.Digest());
        Assert.Equal(digest, reversed.Versions.Digest());
        Assert.True(digest.Count(b => b != 0) > 20, "40 ids should fill many of the 64 buckets");
        Assert.Equal(history.Max(e => e is PointsUpserted up ? up.Points[0].Version : ((PointsDeleted)e).Version), inOrder.Versions.HighWater);

        // Recomputed from a snapshot, the digest is the one kept write by write.
        using var restored = PartitionState.FromSnapshot(inOrder.ToSnapshot());
        Assert.Equal(digest, restored.Versions.Digest());
        Assert.Equal(inOrder.Versions.CombinedDigest, restored.Versions.CombinedDigest);
        Assert.Equal(inOrder.Versions.HighWater, restored.Versions.HighWater);
    }

    [Fact]
    public void One_differing_version_or_a_missing_delete_changes_exactly_its_bucket()
    {
        var writes = Enumerable.Range(1, 30).Select(i => Point((ulong)i, i, V(i))).ToList();
        using var a = Replay([new PointsUpserted(writes)]);
        using var b = Replay([new PointsUpserted(writes)]);
        Assert.Equal(a.Versions.Digest(), b.Versions.Digest());
        Assert.NotEqual(0UL, a.Versions.CombinedDigest);

        // Point 7 written again on one replica only: only its bucket differs.
        b.Apply(new PointsUpserted([Point(7UL, 70f, V(100))]));
        int bucket = ReplicaDigests.BucketOf(7UL);
        Assert.Equal([bucket], ReplicaDigests.Differing(a.Versions.Digest(), b.Versions.Digest()));
        Assert.NotEqual(a.Versions.CombinedDigest, b.Versions.CombinedDigest);

        // The same write on the other: equal again (the old entry left its bucket by the XOR that put it there).
        a.Apply(new PointsUpserted([Point(7UL, 70f, V(100))]));
        Assert.Equal(a.Versions.Digest(), b.Versions.Digest());

        // A delete one replica missed: its bucket differs; a tombstone differs from a live point of the same version.
        a.Apply(new PointsDeleted([9UL], V(200)));
        Assert.Equal([ReplicaDigests.BucketOf(9UL)], ReplicaDigests.Differing(b.Versions.Digest(), a.Versions.Digest()));
        Assert.NotEqual(ReplicaDigests.EntryHash(9UL, V(200), tombstone: true), ReplicaDigests.EntryHash(9UL, V(200), tombstone: false));

        // An empty replica's buckets are all zero, so it offers nothing to fetch.
        using var empty = PartitionState.Create(Spec());
        Assert.Equal(0UL, empty.Versions.CombinedDigest);
        Assert.Empty(ReplicaDigests.Differing(a.Versions.Digest(), empty.Versions.Digest()));
        Assert.Equal(a.Versions.Digest().Count(x => x != 0), ReplicaDigests.Differing(empty.Versions.Digest(), a.Versions.Digest()).Length);
    }

    [Fact]
    public void Pages_of_entries_cover_the_buckets_asked_once_and_resume_where_they_stopped()
    {
        using var state = Replay(History(5, 400));
        int[] buckets = [.. Enumerable.Range(0, ReplicaDigests.Buckets).Where(b => b % 2 == 1).Reverse()];
        var expected = state.Versions.EntriesOf(buckets.ToHashSet()).Select(e => (e.Id, e.Version, e.Tombstone)).OrderBy(e => e.Id).ToList();
        Assert.NotEmpty(expected);

        var seen = new List<(PointId, PointVersion, bool)>();
        IReadOnlyList<int> remaining = buckets;
        PointId? after = null;
        int pages = 0;
        while (remaining.Count > 0)
        {
            // A budget of about three entries a page.
            var page = state.EntriesPage(new PartitionRef("digest", "p0", 1), remaining, after, 100);
            Assert.True(page.Points.Count + page.Tombstones.Count > 0 || page.Remaining.Count == 0);
            seen.AddRange(page.Points.Select(p => (p.Id, p.Version, false)));
            seen.AddRange(page.Tombstones.Select(t => (t.Key, t.Value, true)));
            // Ids and versions only: the points themselves are fetched by id.
            Assert.All(page.Points, p => Assert.Equal((null, null, null), (p.Vector, p.Payload, p.Document)));
            (remaining, after) = (page.Remaining, page.After);
            Assert.True(++pages < 1000);
        }
        Assert.True(pages > 5);
        Assert.Equal(expected, seen.OrderBy(e => e.Item1).ToList());
    }

    [Fact]
    public void Pulling_the_differing_buckets_makes_a_lagging_replica_equal_without_resurrecting_deletes()
    {
        var history = History(23);
        using var full = Replay(history);
        // The lagging replica missed every third write, deletes included, and holds one write newer than the other's.
        using var lagging = Replay(history.Where((_, i) => i % 3 != 0));
        lagging.Apply(new PointsUpserted([Point(5UL, 77f, V(500, 2))]));
        full.Apply(new PointsDeleted([6UL], V(501)));

        static void Pull(PartitionState into, PartitionState from)
        {
            var differing = ReplicaDigests.Differing(into.Versions.Digest(), from.Versions.Digest());
            var sibling = new PartitionRef("digest", "p0", 1);
            var page = from.EntriesPage(sibling, differing, null, long.MaxValue);
            Assert.Empty(page.Remaining);
            var repair = into.Newer(page);
            Assert.Empty(repair.Upserts);
            foreach (var d in repair.Deletes) into.Apply(d);
            // The newer points, fetched whole as GetPoints answers them.
            var fetched = repair.Wanted.Select(id => new PointRecord(id, from.Index.GetVector(id), from.Payload(id), from.Document(id), from.Versions.LiveOf(id))).ToList();
            var taken = into.Newer(new ReplicaEntries(sibling, fetched, [], [], null));
            Assert.Equal(repair.Wanted.Count, taken.Upserts.Count);
            if (taken.Upserts.Count > 0) into.Apply(new PointsUpserted(taken.Upserts));
            // Pulling again finds nothing newer: applying is idempotent.
            var again = into.Newer(from.EntriesPage(sibling, differing, null, long.MaxValue));
            Assert.Empty(again.Wanted);
            Assert.Empty(again.Deletes);
            Assert.Empty(into.Newer(new ReplicaEntries(sibling, fetched, [], [], null)).Upserts);
        }

        Assert.NotEqual(full.Versions.Digest(), lagging.Versions.Digest());
        Pull(lagging, full);
        Pull(full, lagging);
        Assert.Equal(full.Versions.Digest(), lagging.Versions.Digest());
        Assert.Equal(Dump(full), Dump(lagging));
        Assert.Equal(77f, full.Index.GetVector(5UL)![0]);
        Assert.False(lagging.Index.Contains(6UL));
        Assert.True(lagging.Versions.IsDeleted(6UL, out var deleted) && deleted == V(501));

        // A replica that holds nothing takes every entry.
        var everything = full.EntriesPage(new PartitionRef("digest", "p0", 1), [.. Enumerable.Range(0, ReplicaDigests.Buckets)], null, long.MaxValue);
        var all = PartitionState.NewerThanNothing(everything, 3);
        Assert.Equal(full.Versions.LiveCount, all.Wanted.Count);
        Assert.Equal(full.Versions.TombstoneCount, all.Deletes.Sum(d => d.Ids.Count));

        // Points written after the cut-off are left for a later round (their own write is likely on its way).
        long cutoff = everything.Points.Max(p => p.Version.Milliseconds) - 1;
        var young = PartitionState.NewerThanNothing(everything, 3, cutoff);
        Assert.True(young.Young > 0);
        Assert.Equal(full.Versions.LiveCount, young.Wanted.Count + young.Young);
    }
}
