using VLink.Core.Hybrid;

namespace VLink.Cluster.Protocol;

/// <summary>
/// A hybrid search: the query text for exact match and BM25 over the collection's text fields, and its embedding
/// (made once, by the coordinator) for vector search; the methods to run and their weights in the fusion.
/// </summary>
/// <param name="Query">The query text.</param>
/// <param name="Vector">The query's embedding, or null when semantic search cannot run (no model, or it failed).</param>
/// <param name="Methods">The methods asked for.</param>
/// <param name="K">Results wanted.</param>
/// <param name="Depth">How deep each method's ranking goes in each partition (at least <paramref name="K"/>).</param>
/// <param name="Filter">Qdrant filter JSON every method obeys, or null.</param>
/// <param name="Ef">HNSW ef for the vector search, or null.</param>
/// <param name="ExactWeight">RRF weight of exact match.</param>
/// <param name="KeywordWeight">RRF weight of BM25.</param>
/// <param name="SemanticWeight">RRF weight of vector search.</param>
public sealed record HybridRequest(
    string Query,
    float[]? Vector,
    HybridMethods Methods,
    int K,
    int Depth,
    byte[]? Filter = null,
    int? Ef = null,
    double ExactWeight = 1,
    double KeywordWeight = 1,
    double SemanticWeight = 1)
{
    /// <summary>Whether vector search runs: asked for, and the query has an embedding.</summary>
    public bool RunsSemantic => Methods.HasFlag(HybridMethods.Semantic) && Vector is not null;

    /// <summary>The weight of a method.</summary>
    public double WeightOf(HybridMethods method) => method switch
    {
        HybridMethods.Exact => ExactWeight,
        HybridMethods.Keyword => KeywordWeight,
        HybridMethods.Semantic => SemanticWeight,
        _ => 0,
    };

    /// <summary>
    /// Merges rankings of disjoint point sets (partitions', or nodes') method by method — by the method's score, then
    /// id — keeping the best <see cref="Depth"/> of each: a node's stage, and the coordinator's before it fuses.
    /// </summary>
    public List<MethodRanking> Merge(IEnumerable<IReadOnlyList<MethodRanking>> rankings) =>
        [.. rankings.SelectMany(r => r)
            .GroupBy(r => r.Method)
            .OrderBy(g => g.Key)
            .Select(g => new MethodRanking(g.Key, [.. g.SelectMany(r => r.Points).OrderByDescending(p => p.Score).ThenBy(p => p.Id).Take(Depth)]))];

    /// <summary>Fuses merged rankings with RRF and this request's weights; the best <see cref="K"/>.</summary>
    public List<HybridHit> Fuse(IEnumerable<MethodRanking> merged) => Rrf.Fuse(merged, WeightOf, K);
}

/// <summary>Runs a hybrid search in one partition; answered with <see cref="PartitionHybridHits"/>.</summary>
public sealed record SearchPartitionHybrid(PartitionRef Partition, HybridRequest Request) : IPartitionMessage;

/// <summary>One partition's ranking per method (vector search scored by −distance), each best first.</summary>
public sealed record PartitionHybridHits(PartitionRef Partition, IReadOnlyList<MethodRanking> Rankings, long ElapsedMicros) : IVLinkMessage;

/// <summary>Runs a hybrid search in every local partition of a collection's generation; answered with <see cref="NodeHybridHits"/>.</summary>
/// <param name="Collection">The collection searched.</param>
/// <param name="Request">The query.</param>
/// <param name="Generation">The collection's generation.</param>
/// <param name="Replicas">Which replica of each partition the node searches (replica 0 by default).</param>
/// <param name="Budget">The time the coordinator still waits (see <see cref="NodeSearch.Budget"/>).</param>
public sealed record NodeHybridSearch(string Collection, HybridRequest Request, long Generation, ReplicaChoice Replicas = default, TimeSpan Budget = default) : IVLinkMessage;

/// <summary>
/// A node's rankings per method over all its partitions (stage one: merged, best <see cref="HybridRequest.Depth"/> of
/// each), the partitions that answered, whether vector search ran, and the local partitions asked that did not answer.
/// </summary>
public sealed record NodeHybridHits(string Node, IReadOnlyList<MethodRanking> Rankings, IReadOnlyList<string> Partitions, bool SemanticRan, long ElapsedMicros, IReadOnlyList<string>? Missing = null) : IVLinkMessage
{
    /// <summary>The local partitions (entity ids) asked that did not answer within the budget, or refused.</summary>
    public IReadOnlyList<string> Missing { get; init; } = Missing ?? [];
}
