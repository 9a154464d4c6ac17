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
/// <param name="Filter">A Qdrant-style payload filter as UTF-8 JSON, evaluated inside each partition's traversal; null for none.</param>
/// <param name="Keys">
/// The keys of the partitions this query visits (a region collection's probed regions); null for every partition of
/// the collection. A partition outside the set answers with no hits.
/// </param>
public sealed record SearchRequest(float[] Vector, int K, int FetchK, int? Ef, bool Exact, byte[]? Filter = null, IReadOnlyList<string>? Keys = null)
{
    /// <summary>Whether the partition with this key is one the query visits.</summary>
    public bool Visits(string key) => Keys is null || Keys.Contains(key);
}

/// <summary>Searches one partition (used when a partition must be woken through its shard region).</summary>
public sealed record SearchPartition(PartitionRef Partition, SearchRequest Request) : IPartitionMessage;

/// <summary>One partition's local top-k'.</summary>
public sealed record PartitionHits(PartitionRef Partition, IReadOnlyList<SearchHit> Hits, int Points, long ElapsedMicros) : IVLinkMessage;

/// <summary>Stage 1 of the gather: one message per node; the node's agent searches its local partitions of the collection.</summary>
/// <param name="Collection">The collection searched.</param>
/// <param name="Request">The query.</param>
/// <param name="Generation">The collection's generation: partitions of a dropped collection of the same name are not searched.</param>
/// <param name="Replicas">Which replica of each partition the node searches (replica 0 by default).</param>
/// <param name="Budget">
/// The time the coordinator still waits: the agent answers with what its partitions gave within the budget less a
/// margin (<see cref="Gather.ReadDeadline.ForPartitions"/>), naming the others; zero for the agent's own timeout.
/// </param>
public sealed record NodeSearch(string Collection, SearchRequest Request, long Generation, ReplicaChoice Replicas = default, TimeSpan Budget = default) : IVLinkMessage;

/// <summary>
/// The hedge of a read of a replicated collection, to every node: ask each local replica — whichever replica it is — of
/// the partitions with these keys the partition message <paramref name="Ask"/> (addressed to each in turn), and answer
/// per partition (not merged), so the coordinator keeps one answer per partition. It reaches replicas through the node
/// agents that know them, not the shard region, so it works while this node's shard region cannot locate a shard (the
/// coordinator's node died and this region was just started). Every read kind (search, batch, hybrid) hedges with it.
/// </summary>
/// <param name="Collection">The collection read.</param>
/// <param name="Generation">The collection's generation.</param>
/// <param name="Keys">The keys of the partitions still missing.</param>
/// <param name="Ask">
/// What each local replica is asked: a <see cref="SearchPartition"/>, <see cref="SearchPartitionBatch"/> or
/// <see cref="SearchPartitionHybrid"/> whose partition the agent sets.
/// </param>
/// <param name="Budget">The time the coordinator still waits (see <see cref="NodeSearch.Budget"/>).</param>
public sealed record NodeAskPartitions(string Collection, long Generation, IReadOnlyList<string> Keys, IPartitionMessage Ask, TimeSpan Budget = default) : IVLinkMessage
{
    /// <summary>The same partition message addressed to <paramref name="partition"/>.</summary>
    /// <exception cref="InvalidOperationException">The message is not one a hedge asks.</exception>
    public static IPartitionMessage Readdress(IPartitionMessage ask, PartitionRef partition) => ask switch
    {
        SearchPartition m => m with { Partition = partition },
        SearchPartitionBatch m => m with { Partition = partition },
        SearchPartitionHybrid m => m with { Partition = partition },
        _ => throw new InvalidOperationException($"{ask.GetType().Name} is not a read a hedge asks."),
    };
}

/// <summary>A node's answer to <see cref="NodeAskPartitions"/>: one answer per local replica that answered in time.</summary>
/// <param name="Node">The answering node's address.</param>
/// <param name="Answers">The replicas' answers (<see cref="PartitionHits"/>, <see cref="PartitionHitsBatch"/> or <see cref="PartitionHybridHits"/>).</param>
public sealed record NodePartitionAnswers(string Node, IReadOnlyList<IVLinkMessage> Answers) : IVLinkMessage;

/// <summary>A node's merged top-k' and which partitions answered, with per-partition timings for the trace.</summary>
/// <param name="Node">The answering node's address.</param>
/// <param name="Hits">The merged top-k' of the partitions that answered.</param>
/// <param name="Partitions">The partitions that answered (entity ids), with their timings.</param>
/// <param name="ElapsedMicros">Time the node spent.</param>
/// <param name="Missing">The local partitions (entity ids) asked that did not answer within the budget, or refused.</param>
public sealed record NodeHits(string Node, IReadOnlyList<SearchHit> Hits, IReadOnlyList<PartitionTiming> Partitions, long ElapsedMicros, IReadOnlyList<string>? Missing = null) : IVLinkMessage
{
    /// <summary>The local partitions (entity ids) asked that did not answer within the budget, or refused.</summary>
    public IReadOnlyList<string> Missing { get; init; } = Missing ?? [];
}

/// <summary>How one partition did inside a node's answer.</summary>
public sealed record PartitionTiming(string Partition, int Candidates, long ElapsedMicros);

/// <summary>Searches one partition for several queries at once (one message per partition for a batch).</summary>
/// <param name="Partition">The partition searched.</param>
/// <param name="Requests">The queries, answered in this order.</param>
public sealed record SearchPartitionBatch(PartitionRef Partition, IReadOnlyList<SearchRequest> Requests) : IPartitionMessage;

/// <summary>One partition's local top-k' for each query of a <see cref="SearchPartitionBatch"/>, in request order.</summary>
/// <param name="Partition">The partition that answered.</param>
/// <param name="Answers">One answer per request, in request order.</param>
public sealed record PartitionHitsBatch(PartitionRef Partition, IReadOnlyList<PartitionHits> Answers) : IVLinkMessage;

/// <summary>Stage 1 of a batch gather: one message per node carrying every query of the batch.</summary>
/// <param name="Collection">The collection searched.</param>
/// <param name="Requests">The queries, answered in this order.</param>
/// <param name="Generation">The collection's generation: partitions of a dropped collection of the same name are not searched.</param>
/// <param name="Replicas">Which replica of each partition the node searches (replica 0 by default).</param>
/// <param name="Budget">The time the coordinator still waits (see <see cref="NodeSearch.Budget"/>).</param>
public sealed record NodeSearchBatch(string Collection, IReadOnlyList<SearchRequest> Requests, long Generation, ReplicaChoice Replicas = default, TimeSpan Budget = default) : IVLinkMessage;

/// <summary>A node's answer to a <see cref="NodeSearchBatch"/>: one <see cref="NodeHits"/> per query, in request order.</summary>
/// <param name="Node">The answering node's address.</param>
/// <param name="Answers">One merged answer per request, in request order.</param>
/// <param name="ElapsedMicros">Time the node spent on the whole batch.</param>
public sealed record NodeHitsBatch(string Node, IReadOnlyList<NodeHits> Answers, long ElapsedMicros) : IVLinkMessage;
