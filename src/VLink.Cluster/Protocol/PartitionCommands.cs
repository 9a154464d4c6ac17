using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>
/// Inserts or replaces points in a partition. Carries the collection spec so that the first write creates the
/// partition without asking the catalog. Acknowledged with <see cref="WriteAck"/> only once journalled.
/// </summary>
public sealed record UpsertPoints(PartitionRef Partition, CollectionSpec Spec, IReadOnlyList<PointWrite> Points) : IPartitionMessage;

/// <summary>Deletes points by id; unknown ids are ignored (and not counted).</summary>
public sealed record DeletePoints(PartitionRef Partition, IReadOnlyList<PointId> Ids) : IPartitionMessage;

/// <summary>A write is durable: <paramref name="Applied"/> points changed; the journal is at <paramref name="SequenceNr"/>.</summary>
public sealed record WriteAck(PartitionRef Partition, int Applied, long SequenceNr) : IVLinkMessage;

/// <summary>A write was refused; nothing of it was applied.</summary>
public sealed record WriteRejected(PartitionRef Partition, string Reason) : IVLinkMessage;

/// <summary>Reads points by id.</summary>
public sealed record GetPoints(PartitionRef Partition, IReadOnlyList<PointId> Ids, bool WithVector) : IPartitionMessage;

/// <summary>The points found (unknown ids are absent).</summary>
public sealed record PointsFound(PartitionRef Partition, IReadOnlyList<PointRecord> Points) : IVLinkMessage;

/// <summary>Asks a partition what it holds.</summary>
public sealed record GetPartitionStats(PartitionRef Partition) : IPartitionMessage;

/// <summary>What a partition holds and how it indexes it.</summary>
public sealed record PartitionStats(PartitionRef Partition, int Points, string IndexKind, long MemoryBytes, long SequenceNr) : IVLinkMessage;
