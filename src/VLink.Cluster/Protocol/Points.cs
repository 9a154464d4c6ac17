using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>One point to store: id, vector, and an optional payload (UTF-8 JSON object, opaque to the cluster).</summary>
public sealed record PointWrite(PointId Id, float[] Vector, byte[]? Payload);

/// <summary>A stored point as read back.</summary>
public sealed record PointRecord(PointId Id, float[]? Vector, byte[]? Payload);
