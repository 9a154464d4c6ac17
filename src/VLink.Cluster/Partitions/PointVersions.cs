using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

/// <summary>
/// Last-writer-wins bookkeeping of one partition: the version of every live point and a tombstone (the delete's
/// version) for every deleted one. A write older than what is held for its id is refused, so replicas that receive
/// the same writes in different orders end in the same state. Tombstones are kept (and snapshotted) so a late,
/// older upsert cannot bring a deleted point back. Points of <see cref="PointVersion.None"/> (older journals) are
/// not tracked: every versioned write is newer than them. The replica digest (<see cref="ReplicaDigests"/>) of the
/// versioned entries is kept up to date with every change, so comparing replicas costs nothing to prepare.
/// </summary>
public sealed class PointVersions
{
    private readonly Dictionary<PointId, PointVersion> _live = [];
    private readonly Dictionary<PointId, PointVersion> _tombstones = [];
    private readonly ulong[] _digest = new ulong[ReplicaDigests.Buckets];
    private PointVersion _highWater;

    /// <summary>Live points with a version.</summary>
    public int LiveCount => _live.Count;

    /// <summary>Deleted ids remembered with their delete's version.</summary>
    public int TombstoneCount => _tombstones.Count;

    /// <summary>The newest version held for an id, live or deleted (<see cref="PointVersion.None"/> when none).</summary>
    public PointVersion Of(PointId id) =>
        _live.TryGetValue(id, out var live) ? live : _tombstones.GetValueOrDefault(id);

    /// <summary>The version of a live point (<see cref="PointVersion.None"/> when untracked).</summary>
    public PointVersion LiveOf(PointId id) => _live.GetValueOrDefault(id);

    /// <summary>Whether the id is deleted at a version (a tombstone).</summary>
    public bool IsDeleted(PointId id, out PointVersion version) => _tombstones.TryGetValue(id, out version);

    /// <summary>
    /// Whether an upsert of <paramref name="id"/> at <paramref name="version"/> wins (it is not older than what is
    /// held); if so, records it. An equal version wins too: a batch's later point of one id, or a replayed entry.
    /// </summary>
    public bool AdmitUpsert(PointId id, PointVersion version)
    {
        if (version < Of(id)) return false;
        if (_tombstones.Remove(id, out var tombstone)) Toggle(id, tombstone, true);
        if (_live.Remove(id, out var live)) Toggle(id, live, false);
        if (!version.IsNone)
        {
            _live[id] = version;
            Toggle(id, version, false);
        }
        return true;
    }

    /// <summary>
    /// Whether a delete of <paramref name="id"/> at <paramref name="version"/> wins; if so, the id becomes a tombstone
    /// of that version (an unversioned delete leaves none, as before versions).
    /// </summary>
    public bool AdmitDelete(PointId id, PointVersion version)
    {
        if (version < Of(id)) return false;
        if (_live.Remove(id, out var live)) Toggle(id, live, false);
        if (!version.IsNone)
        {
            if (_tombstones.Remove(id, out var tombstone)) Toggle(id, tombstone, true);
            _tombstones[id] = version;
            Toggle(id, version, true);
        }
        return true;
    }

    /// <summary>Whether a change made at <paramref name="version"/> may touch the live point <paramref name="id"/>: the point is not newer.</summary>
    public bool Admits(PointId id, PointVersion version) => LiveOf(id) <= version;

    /// <summary>Live versions, for a snapshot.</summary>
    public IReadOnlyList<KeyValuePair<PointId, PointVersion>> Live => [.. _live];

    /// <summary>Tombstones, for a snapshot.</summary>
    public IReadOnlyList<KeyValuePair<PointId, PointVersion>> Tombstones => [.. _tombstones];

    /// <summary>Restores the bookkeeping of a snapshot.</summary>
    public void Load(IEnumerable<KeyValuePair<PointId, PointVersion>> live, IEnumerable<KeyValuePair<PointId, PointVersion>> tombstones)
    {
        foreach (var (id, version) in live) _live[id] = version;
        foreach (var (id, version) in tombstones) _tombstones[id] = version;
        Array.Clear(_digest);
        _highWater = PointVersion.None;
        foreach (var (id, version) in _live) Toggle(id, version, false);
        foreach (var (id, version) in _tombstones) Toggle(id, version, true);
    }

    /// <summary>A copy of the replica digest: per bucket, the XOR of the hashes of its versioned entries.</summary>
    public ulong[] Digest() => (ulong[])_digest.Clone();

    /// <summary>The digest folded into one number (<see cref="ReplicaDigests.Combined"/>).</summary>
    public ulong CombinedDigest => ReplicaDigests.Combined(_digest);

    /// <summary>The newest version this partition has seen, of a live point or a tombstone (it never moves back).</summary>
    public PointVersion HighWater => _highWater;

    /// <summary>The live versioned points and tombstones of some buckets (a set, or null for all).</summary>
    public IEnumerable<(PointId Id, PointVersion Version, bool Tombstone)> EntriesOf(ISet<int>? buckets)
    {
        foreach (var (id, version) in _live)
            if (buckets is null || buckets.Contains(ReplicaDigests.BucketOf(id))) yield return (id, version, false);
        foreach (var (id, version) in _tombstones)
            if (buckets is null || buckets.Contains(ReplicaDigests.BucketOf(id))) yield return (id, version, true);
    }

    // Puts an entry into its bucket or takes it out (XOR is its own inverse).
    private void Toggle(PointId id, PointVersion version, bool tombstone)
    {
        _digest[ReplicaDigests.BucketOf(id)] ^= ReplicaDigests.EntryHash(id, version, tombstone);
        if (version > _highWater) _highWater = version;
    }
}
