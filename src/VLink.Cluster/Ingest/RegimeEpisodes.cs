namespace VLink.Cluster.Ingest;

/// <summary>
/// Distinct episodes: of the windows of one market, a match keeps out every later (farther) match whose window overlaps
/// its own or lies within <c>min_gap</c> bars of it, so one episode is counted once. The rule is applied to candidates
/// nearest first, so the k matches are the k best windows under it: the same k whichever longer prefix of the ranking
/// it is applied to, once k are kept.
/// </summary>
public static class RegimeEpisodes
{
    /// <summary>
    /// The windows of <paramref name="ranked"/> (nearest first) that no nearer kept window of the same market comes within
    /// <paramref name="window"/> + <paramref name="minGap"/> bars of, at most <paramref name="k"/>.
    /// </summary>
    /// <param name="ranked">Candidates, nearest first.</param>
    /// <param name="window">Bars in a window: two windows of a market overlap when their last bars are fewer apart.</param>
    /// <param name="minGap">Further bars two kept windows must be apart (0: they may touch).</param>
    /// <param name="k">Windows wanted.</param>
    public static List<RegimeWindow> Distinct(IReadOnlyList<RegimeWindow> ranked, int window, int minGap, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegative(minGap);
        long apart = (long)window + minGap;
        var kept = new List<RegimeWindow>(Math.Min(k, ranked.Count));
        var byMarket = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        foreach (var candidate in ranked)
        {
            if (kept.Count >= k) break;
            if (!byMarket.TryGetValue(candidate.Market, out var bars)) byMarket[candidate.Market] = bars = [];
            bool clashes = false;
            foreach (long bar in bars)
            {
                if (Math.Abs(bar - candidate.Bar) < apart)
                {
                    clashes = true;
                    break;
                }
            }
            if (clashes) continue;
            bars.Add(candidate.Bar);
            kept.Add(candidate);
        }
        return kept;
    }
}
