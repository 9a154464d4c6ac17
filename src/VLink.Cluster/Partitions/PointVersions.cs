using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

/// <summary>
/// Last-writer-wins bookkeeping of one partition: the version of every live point and a tombstone (the delete's
/// version) for every deleted one. A write older than what is held for its id is refused, so replicas that receive
/// the same writes in different orders end in the same state. Tombstones are kept (and snapshotted) so a late,
/// older upsert cannot bring a deleted point back. Points of <see cref="PointVersion.None"/> (older journals) are
/// not tracked: every versioned write is newer than them.
/// </summary>
public sealed class PointVersions
{
    private readonly Dictionary<PointId, PointVersion> _live = [];
    private readonly Dictionary<PointId, PointVersion> _tombstones = [];

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
        _tombstones.Remove(id);
        if (version.IsNone) _live.Remove(id);
        else _live[id] = version;
        return true;
    }

    /// <summary>
    /// Whether a delete of <paramref name="id"/> at <paramref name="version"/> wins; if so, the id becomes a tombstone
    /// of that version (an unversioned delete leaves none, as before versions).
    /// </summary>
    public bool AdmitDelete(PointId id, PointVersion version)
    {
        if (version < Of(id)) return false;
        _live.Remove(id);
        if (!version.IsNone) _tombstones[id] = version;
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
    }
}
