using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>
/// Asks a partition replica for its digest (answered with <see cref="ReplicaDigest"/>). A replica catching up sends
/// it to each sibling with its collection's spec and its own digest: a sibling that sees it holds less than the sender
/// catches up in turn (learning the spec from the request when it was never written), so data flows both ways
/// although each replica only ever pulls.
/// </summary>
/// <param name="Partition">The replica asked.</param>
/// <param name="Spec">The asker's collection spec, or null.</param>
/// <param name="Digest">The asker's digest buckets, or null.</param>
public sealed record GetReplicaDigest(PartitionRef Partition, CollectionSpec? Spec = null, IReadOnlyList<ulong>? Digest = null) : IPartitionMessage;

/// <summary>
/// A replica's digest: per bucket (<see cref="Replication.ReplicaDigests.Buckets"/> of them) the XOR of the hashes of
/// its versioned live points and tombstones (all zero for a replica that holds nothing), and the newest version it
/// has seen.
/// </summary>
/// <param name="Partition">The replica that answered.</param>
/// <param name="Buckets">The digest's buckets.</param>
/// <param name="HighWater">The newest version of a point or tombstone the replica has seen.</param>
public sealed record ReplicaDigest(PartitionRef Partition, IReadOnlyList<ulong> Buckets, PointVersion HighWater) : IVLinkMessage;

/// <summary>
/// Asks a replica for the entries of some buckets, in pages: the live versioned points (with vectors, payloads,
/// documents and versions) and the tombstones, ordered by bucket as listed and by id within a bucket, starting after
/// <paramref name="After"/> in the first bucket. Answered with <see cref="ReplicaEntries"/>.
/// </summary>
/// <param name="Partition">The replica asked.</param>
/// <param name="Buckets">The buckets wanted, in the order they are to be sent.</param>
/// <param name="After">Resume after this id in the first bucket (null: from its start).</param>
public sealed record GetReplicaEntries(PartitionRef Partition, IReadOnlyList<int> Buckets, PointId? After = null) : IPartitionMessage;

/// <summary>
/// One page of a replica's entries. When the page ended before the last bucket asked, <paramref name="Remaining"/>
/// lists the buckets still to send (the first one resumes after <paramref name="After"/>); it is empty on the last page.
/// </summary>
/// <param name="Partition">The replica that answered.</param>
/// <param name="Points">Live points with their versions.</param>
/// <param name="Tombstones">Deleted ids with their deletes' versions.</param>
/// <param name="Remaining">Buckets not yet (fully) sent.</param>
/// <param name="After">The last id sent in the first of <paramref name="Remaining"/>, or null.</param>
public sealed record ReplicaEntries(
    PartitionRef Partition,
    IReadOnlyList<PointRecord> Points,
    IReadOnlyList<KeyValuePair<PointId, PointVersion>> Tombstones,
    IReadOnlyList<int> Remaining,
    PointId? After) : IVLinkMessage;
