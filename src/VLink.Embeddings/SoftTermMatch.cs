using VLink.Core.Hybrid;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Embeddings;

/// <summary>
/// Soft term match, a re-ranking stage after hybrid search (late interaction over word vectors, as ColBERT's MaxSim
/// but with the offline model's static word vectors): a candidate's score is the mean, over the query's words, of
/// each query word's best cosine to a word of the candidate's text. Unlike one averaged vector per text, a text's
/// key word is not diluted by its other words. The candidates' soft ranking is fused into their RRF scores as one
/// more ranking (weight / (k + rank)), so it reorders the fused candidates and never adds new ones.
/// </summary>
public static class SoftTermMatch
{
    /// <summary>How many fused candidates are re-ranked when fewer results are asked for.</summary>
    public const int Candidates = 30;

    /// <summary>The mean over query words of the best cosine to a text word; 0 when either has no known word.</summary>
    /// <param name="query">The query's unit word vectors.</param>
    /// <param name="text">The text's unit word vectors.</param>
    public static double Score(IReadOnlyList<float[]> query, IReadOnlyList<float[]> text)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(text);
        if (query.Count == 0 || text.Count == 0) return 0;
        double sum = 0;
        foreach (var q in query)
        {
            float best = float.NegativeInfinity;
            foreach (var t in text) best = Math.Max(best, VectorKernels.Dot(q, t));
            sum += best;
        }
        return sum / query.Count;
    }

    /// <summary>
    /// Re-ranks fused candidates: each one's RRF score plus <paramref name="weight"/> / (k + its rank by soft term
    /// match, from 1; ties by id), matched by <see cref="HybridMethods.Soft"/> as well; the best <paramref name="limit"/>.
    /// </summary>
    /// <param name="candidates">The fused candidates (RRF scores).</param>
    /// <param name="query">The query text.</param>
    /// <param name="textOf">A candidate's text, or null when it has none (it then scores 0).</param>
    /// <param name="provider">The offline model whose word vectors are compared.</param>
    /// <param name="weight">The RRF weight of the soft ranking.</param>
    /// <param name="limit">Results wanted.</param>
    /// <param name="k">RRF's constant.</param>
    public static List<HybridHit> Rerank(IReadOnlyList<HybridHit> candidates, string query, Func<PointId, string?> textOf,
        SifEmbeddingProvider provider, double weight, int limit, int k = Rrf.DefaultK)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(textOf);
        ArgumentNullException.ThrowIfNull(provider);
        var queryWords = provider.UnitWordVectors(query);
        var soft = candidates
            .Select(h => (h.Id, Score: textOf(h.Id) is { } text ? Score(queryWords, provider.UnitWordVectors(text)) : 0))
            .OrderByDescending(s => s.Score).ThenBy(s => s.Id)
            .Select((s, rank) => (s.Id, Rank: rank + 1))
            .ToDictionary(s => s.Id, s => s.Rank);
        return Rrf.Best(candidates.Select(h => new HybridHit(h.Id, h.Score + weight / (k + soft[h.Id]), h.MatchedBy | HybridMethods.Soft)), limit);
    }
}
