using VLink.Core.Indexing;

namespace VLink.Cluster.Protocol;

/// <summary>
/// One k-NN query as it travels: the vector, k, the per-partition fetch size k' (over-fetch), ef, and exact mode.
/// </summary>
/// <param name="Vector">Query vector.</param>
/// <param name="K">Results wanted globally.</param>
/// <param name="FetchK">Results each partition and node returns (k' = ⌈k × over-fetch⌉ ≥ k).</param>
/// <param name="Ef">HNSW ef, or null for the partition's default.</param>
/// <param name="Exact">Exact scan everywhere: the global answer is then exactly the brute-force top-k.</param>
public sealed record SearchRequest(float[] Vector, int K, int FetchK, int? Ef, bool Exact);

/// <summary>Searches one partition (used when a partition must be woken through its shard region).</summary>
public sealed record SearchPartition(PartitionRef Partition, SearchRequest Request) : IPartitionMessage;

/// <summary>One partition's local top-k'.</summary>
public sealed record PartitionHits(PartitionRef Partition, IReadOnlyList<SearchHit> Hits, int Points, long ElapsedMicros) : IVLinkMessage;

/// <summary>Stage 1 of the gather: one message per node; the node's agent searches its local partitions of the collection.</summary>
public sealed record NodeSearch(string Collection, SearchRequest Request) : IVLinkMessage;

/// <summary>A node's merged top-k' and which partitions answered, with per-partition timings for the trace.</summary>
public sealed record NodeHits(string Node, IReadOnlyList<SearchHit> Hits, IReadOnlyList<PartitionTiming> Partitions, long ElapsedMicros) : IVLinkMessage;

/// <summary>How one partition did inside a node's answer.</summary>
public sealed record PartitionTiming(string Partition, int Candidates, long ElapsedMicros);
