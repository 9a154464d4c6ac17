using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>
/// Inserts or replaces points in a partition. Carries the collection spec so that the first write creates the
/// partition without asking the catalog. Acknowledged with <see cref="WriteAck"/> only once journalled.
/// </summary>
public sealed record UpsertPoints(PartitionRef Partition, CollectionSpec Spec, IReadOnlyList<PointWrite> Points) : IPartitionMessage;

/// <summary>Deletes points by id at a version; unknown ids are not counted, and ids written later are kept.</summary>
public sealed record DeletePoints(PartitionRef Partition, IReadOnlyList<PointId> Ids, PointVersion Version = default) : IPartitionMessage;

/// <summary>A write is durable: <paramref name="Applied"/> points changed; the journal is at <paramref name="SequenceNr"/>.</summary>
public sealed record WriteAck(PartitionRef Partition, int Applied, long SequenceNr) : IVLinkMessage;

/// <summary>A write was refused; nothing of it was applied.</summary>
public sealed record WriteRejected(PartitionRef Partition, string Reason) : IVLinkMessage;

/// <summary>
/// Seals a partition: from its acknowledgement (<see cref="WriteAck"/>) on, the partition refuses every write with
/// <see cref="WriteSealed"/> and keeps answering reads. A region collection's staging partition is sealed before its
/// points move to their regions, so no write can land behind the move.
/// </summary>
public sealed record SealPartition(PartitionRef Partition) : IPartitionMessage;

/// <summary>A write reached a sealed partition and was not applied; the writer should re-read the catalog and write again.</summary>
public sealed record WriteSealed(PartitionRef Partition) : IVLinkMessage;

/// <summary>Reads points by id.</summary>
public sealed record GetPoints(PartitionRef Partition, IReadOnlyList<PointId> Ids, bool WithVector) : IPartitionMessage;

/// <summary>The points found (unknown ids are absent).</summary>
public sealed record PointsFound(PartitionRef Partition, IReadOnlyList<PointRecord> Points) : IVLinkMessage;

/// <summary>Asks a partition what it holds.</summary>
public sealed record GetPartitionStats(PartitionRef Partition) : IPartitionMessage;

/// <summary>What a partition holds and how it indexes it.</summary>
/// <remarks>
/// <see cref="MemoryBytes"/>: what the partition holds in memory (index, payloads, documents);
/// <see cref="MappedBytes"/>: full-precision vectors a quantized index keeps in a memory-mapped file instead;
/// <see cref="Digest"/>: the replica digest folded into one number (<see cref="Replication.ReplicaDigests.Combined"/>; 0
/// when the partition holds no versioned entry), equal on replicas that converged; <see cref="HighWater"/>: the newest
/// version of a point or tombstone the replica has seen; <see cref="HistoryLost"/>: the partition recovered below the
/// watermark the catalog confirmed and serves nothing.
/// </remarks>
public sealed record PartitionStats(PartitionRef Partition, int Points, string IndexKind, long MemoryBytes, long SequenceNr, long MappedBytes = 0,
    ulong Digest = 0, PointVersion HighWater = default) : IVLinkMessage
{
    /// <summary>The partition's journal ends below its confirmed watermark: it refuses reads and writes.</summary>
    public bool HistoryLost { get; init; }

    /// <summary>Points held but not yet linked into the graph (replayed after a restart; searches scan them meanwhile).</summary>
    public int Unlinked { get; init; }
}

/// <summary>
/// Deletes the points whose payload matches a filter (Qdrant filter JSON, validated by the sender). The partition
/// resolves the filter to ids and journals an ordinary <see cref="PointsDeleted"/>; acknowledged with <see cref="WriteAck"/>.
/// </summary>
public sealed record DeletePointsByFilter(PartitionRef Partition, byte[] Filter, PointVersion Version = default) : IPartitionMessage;

/// <summary>
/// One page of a partition in ascending id order: up to <paramref name="Limit"/> points with id ≥ <paramref name="From"/>
/// that match <paramref name="Filter"/>. Answered with <see cref="PointsFound"/>, ids ascending.
/// </summary>
/// <param name="Partition">The partition read.</param>
/// <param name="Filter">Qdrant filter JSON, or null for every point.</param>
/// <param name="From">The smallest id wanted, or null to start at the beginning.</param>
/// <param name="Limit">Points wanted at most.</param>
/// <param name="WithPayload">Whether the records carry payloads and documents.</param>
/// <param name="WithVector">Whether the records carry vectors.</param>
public sealed record ScrollPartition(PartitionRef Partition, byte[]? Filter, PointId? From, int Limit, bool WithPayload, bool WithVector) : IPartitionMessage;

/// <summary>Counts a partition's points that match a filter (null: all). Answered with <see cref="PointCount"/>.</summary>
public sealed record CountPartition(PartitionRef Partition, byte[]? Filter) : IPartitionMessage;

/// <summary>How many points of a partition matched.</summary>
public sealed record PointCount(PartitionRef Partition, long Count) : IVLinkMessage;

/// <summary>What a payload change does to each point it selects.</summary>
public enum PayloadChangeKind
{
    /// <summary>Sets the given top-level keys, keeping the others (Qdrant's set payload).</summary>
    Set = 0,

    /// <summary>Replaces the whole payload (Qdrant's overwrite payload).</summary>
    Overwrite = 1,

    /// <summary>Removes the given keys; a dotted key (<c>a.b</c>) names a nested key (Qdrant's delete payload keys).</summary>
    DeleteKeys = 2,

    /// <summary>Removes the whole payload (Qdrant's clear payload).</summary>
    Clear = 3,
}

/// <summary>
/// Changes the payload of points selected by ids (unknown ids are ignored) or by a filter (exactly one of the two).
/// The partition resolves the selection and journals a <see cref="PayloadChanged"/>; acknowledged with <see cref="WriteAck"/>.
/// </summary>
/// <param name="Partition">The partition changed.</param>
/// <param name="Kind">What is done.</param>
/// <param name="Payload">The JSON object set or written (Set, Overwrite); null otherwise.</param>
/// <param name="Keys">The keys removed (DeleteKeys); empty otherwise.</param>
/// <param name="Ids">The points selected by id, or null when selected by filter.</param>
/// <param name="Filter">Qdrant filter JSON selecting the points, or null when selected by ids.</param>
/// <param name="Version">The change's version (points written later are left alone).</param>
public sealed record ChangePayload(
    PartitionRef Partition,
    PayloadChangeKind Kind,
    byte[]? Payload,
    IReadOnlyList<string> Keys,
    IReadOnlyList<PointId>? Ids,
    byte[]? Filter,
    PointVersion Version = default) : IPartitionMessage;
