using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>
/// One point to store: id, vector, an optional payload (UTF-8 JSON object, opaque to the cluster), an optional
/// document (the point's source text, stored beside the payload and returned with it) and the write's version
/// (stamped by the coordinating node; a partition ignores a write older than what it holds for the id).
/// </summary>
public sealed record PointWrite(PointId Id, float[] Vector, byte[]? Payload, string? Document = null, PointVersion Version = default);

/// <summary>A stored point as read back (the vector only when asked for), with the version of its last write.</summary>
public sealed record PointRecord(PointId Id, float[]? Vector, byte[]? Payload, string? Document = null, PointVersion Version = default);

/// <summary>One page of a scroll through a collection in ascending id order.</summary>
/// <param name="Points">The page's points, ids ascending.</param>
/// <param name="NextOffset">The id the next page starts at, or null when this page is the last.</param>
public sealed record ScrollPage(IReadOnlyList<PointRecord> Points, PointId? NextOffset)
{
    /// <summary>The partitions (replica 0's entity ids) that did not answer: their points are not in the page.</summary>
    public IReadOnlyList<string> MissingPartitions { get; init; } = [];
}
