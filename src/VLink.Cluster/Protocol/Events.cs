using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>A partition learnt its collection's spec (its first journal entry).</summary>
public sealed record PartitionInitialized(CollectionSpec Spec) : IVLinkMessage;

/// <summary>A batch of points was stored (one journal entry per acknowledged write).</summary>
public sealed record PointsUpserted(IReadOnlyList<PointWrite> Points) : IVLinkMessage;

/// <summary>A batch of points was deleted at one version (each id becomes a tombstone of that version).</summary>
public sealed record PointsDeleted(IReadOnlyList<PointId> Ids, PointVersion Version = default) : IVLinkMessage;

/// <summary>
/// A partition's snapshot: its spec, its index in VLink's binary index format, the payloads and the documents; for a
/// market partition also the market's state (regime tracker, producers' watermarks, window ends). Recovery loads this
/// and replays only the journal after it.
/// </summary>
public sealed record PartitionSnapshot(
    CollectionSpec Spec,
    byte[] Index,
    bool IsGraph,
    IReadOnlyList<KeyValuePair<PointId, byte[]>> Payloads,
    IReadOnlyList<KeyValuePair<PointId, string>>? Documents = null,
    byte[]? Market = null) : IVLinkMessage
{
    /// <summary>The documents of the points that have one (never null).</summary>
    public IReadOnlyList<KeyValuePair<PointId, string>> Documents { get; init; } = Documents ?? [];

    /// <summary>The version of every live point written with one (never null).</summary>
    public IReadOnlyList<KeyValuePair<PointId, PointVersion>> Versions { get; init; } = [];

    /// <summary>The deleted ids with their delete's version, so older writes stay refused after recovery (never null).</summary>
    public IReadOnlyList<KeyValuePair<PointId, PointVersion>> Tombstones { get; init; } = [];
}

/// <summary>
/// A partition's snapshot as the snapshot store keeps it since snapshots are chunked: only where its bytes are. The bytes
/// (a <see cref="PartitionSnapshot"/> without its index, then the index in VLink's binary format) are
/// <paramref name="Chunks"/> rows of the snapshot chunk table under the partition's persistence id and the sequence
/// number the snapshot covers, <paramref name="Bytes"/> in all.
/// </summary>
public sealed record ChunkedSnapshot(int Chunks, long Bytes) : IVLinkMessage;

/// <summary>A new incarnation of the catalog singleton took over: its term.</summary>
public sealed record CatalogTermStarted(long Term) : IVLinkMessage;

/// <summary>One numbered, durable change of the catalog log.</summary>
public sealed record CatalogEntryAppended(long Term, long Index, ICatalogCommand Change) : IVLinkMessage;

/// <summary>
/// The payloads of existing points changed (ids resolved when the change was accepted, so replay is deterministic).
/// </summary>
/// <param name="Kind">What was done.</param>
/// <param name="Payload">The JSON object set or written (Set, Overwrite); null otherwise.</param>
/// <param name="Keys">The keys removed (DeleteKeys); empty otherwise.</param>
/// <param name="Ids">The points changed.</param>
/// <param name="Version">The change's version: it leaves alone a point written later.</param>
public sealed record PayloadChanged(PayloadChangeKind Kind, byte[]? Payload, IReadOnlyList<string> Keys, IReadOnlyList<PointId> Ids, PointVersion Version = default) : IVLinkMessage;

/// <summary>The partition was sealed (<see cref="SealPartition"/>): it accepts no writes from here on.</summary>
public sealed record PartitionSealed : IVLinkMessage
{
    /// <summary>The only instance.</summary>
    public static readonly PartitionSealed Instance = new();
}
