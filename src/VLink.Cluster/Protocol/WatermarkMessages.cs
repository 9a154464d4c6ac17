namespace VLink.Cluster.Protocol;

// Watermarks: the catalog remembers, per partition replica, the highest journal sequence number the partition has
// acknowledged, so a partition that recovers from a store lacking its history notices it instead of answering short.

/// <summary>
/// A partition replica's watermark: the highest sequence number of its journal it acknowledged writes up to. Also the
/// catalog's answer to <see cref="GetWatermark"/> (0 when the catalog knows none).
/// </summary>
/// <param name="Partition">The partition replica (each replica has its own journal).</param>
/// <param name="SequenceNr">The sequence number.</param>
public sealed record PartitionWatermark(PartitionRef Partition, long SequenceNr) : IVLinkMessage;

/// <summary>
/// A partition tells the catalog how far its journal goes (after acknowledged writes, at most once per report interval,
/// and when it stops). Not answered: the catalog journals the reports of one interval as one <see cref="WatermarksConfirmed"/>.
/// </summary>
public sealed record ReportWatermark(PartitionRef Partition, long SequenceNr) : IVLinkMessage;

/// <summary>A recovered partition asks the catalog for its confirmed watermark; answered with <see cref="PartitionWatermark"/>.</summary>
public sealed record GetWatermark(PartitionRef Partition) : IVLinkMessage;

/// <summary>
/// Catalog journal event: the watermarks the catalog confirmed in one report interval (each higher than the one it held,
/// each of a partition of a collection that exists in that generation).
/// </summary>
public sealed record WatermarksConfirmed(IReadOnlyList<PartitionWatermark> Watermarks) : IVLinkMessage;

/// <summary>
/// The catalog's snapshot (snapshot store, persistence id <c>vlink-catalog</c>): the catalog as readers see it and the
/// confirmed watermarks. Taken every <c>vlink.watermark.catalog-snapshot-every</c> journal entries of the catalog, so a
/// singleton that starts replays at most that many entries however long watermarks have been reported.
/// </summary>
public sealed record CatalogStateSnapshot(CatalogSnapshot Catalog, IReadOnlyList<PartitionWatermark> Watermarks) : IVLinkMessage;
