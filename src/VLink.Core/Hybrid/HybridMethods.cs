using VLink.Core.Indexing;

namespace VLink.Core.Hybrid;

/// <summary>The ways a hybrid search finds points; a set of them says which found a result.</summary>
[Flags]
public enum HybridMethods : byte
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Exact match: every word of the query is a word of the point's text.</summary>
    Exact = 1,

    /// <summary>BM25 keyword search over the stemmed terms of the text fields.</summary>
    Keyword = 2,

    /// <summary>Vector search with the query's embedding.</summary>
    Semantic = 4,

    /// <summary>All three searches (the default set; <see cref="Soft"/> is asked for by name).</summary>
    All = Exact | Keyword | Semantic,

    /// <summary>
    /// Soft term match: not a search of its own but a re-ranking, by the coordinator, of the fused candidates of the
    /// others — each query word's best cosine to a word of the candidate's text, averaged over the query's words — fused
    /// in as one more ranking. Never sent to partitions.
    /// </summary>
    Soft = 8,
}

/// <summary>A point and one method's score for it (higher is better).</summary>
public readonly record struct ScoredPoint(PointId Id, double Score);

/// <summary>One method's ranking: best first.</summary>
public sealed record MethodRanking(HybridMethods Method, IReadOnlyList<ScoredPoint> Points);

/// <summary>A fused result: the point, its Reciprocal Rank Fusion score and the methods whose rankings held it.</summary>
public readonly record struct HybridHit(PointId Id, double Score, HybridMethods MatchedBy);

/// <summary>
/// Reciprocal Rank Fusion (Cormack, Clarke and Büttcher, 2009): a point's score is the sum over the rankings that
/// hold it of weight / (k + rank), rank from 1. Ties go to the smaller id, so fusion is deterministic.
/// </summary>
public static class Rrf
{
    /// <summary>The usual constant k.</summary>
    public const int DefaultK = 60;

    /// <summary>Fuses rankings; returns the best <paramref name="limit"/> points.</summary>
    /// <param name="rankings">Each method's ranking, best first.</param>
    /// <param name="weight">The weight of each method (1 each by default).</param>
    /// <param name="limit">Points wanted.</param>
    /// <param name="k">RRF's constant.</param>
    public static List<HybridHit> Fuse(IEnumerable<MethodRanking> rankings, Func<HybridMethods, double>? weight, int limit, int k = DefaultK)
    {
        ArgumentNullException.ThrowIfNull(rankings);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var fused = new Dictionary<PointId, (double Score, HybridMethods By)>();
        foreach (var ranking in rankings)
        {
            double w = weight?.Invoke(ranking.Method) ?? 1.0;
            for (int r = 0; r < ranking.Points.Count; r++)
            {
                var id = ranking.Points[r].Id;
                fused.TryGetValue(id, out var current);
                fused[id] = (current.Score + w / (k + r + 1), current.By | ranking.Method);
            }
        }
        return Best(fused.Select(f => new HybridHit(f.Key, f.Value.Score, f.Value.By)), limit);
    }

    /// <summary>The best <paramref name="limit"/> hits by score, then id (merging fused lists of disjoint points).</summary>
    public static List<HybridHit> Best(IEnumerable<HybridHit> hits, int limit) =>
        [.. hits.OrderByDescending(h => h.Score).ThenBy(h => h.Id).Take(limit)];
}
