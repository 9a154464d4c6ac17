namespace VLink.Core.Indexing;

/// <summary>Merging of partial top-K answers into one global, deterministic top-K.</summary>
public static class TopK
{
    /// <summary>
    /// The k best hits over all lists, ordered by (distance, id). When an id appears in several lists
    /// its best hit is kept, so the answer never lists a point twice.
    /// </summary>
    public static IReadOnlyList<SearchHit> Merge(IEnumerable<IReadOnlyList<SearchHit>> lists, int k)
    {
        ArgumentNullException.ThrowIfNull(lists);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be positive, got {k}.");
        var best = new Dictionary<PointId, float>();
        foreach (var list in lists)
        {
            foreach (var hit in list)
            {
                if (!best.TryGetValue(hit.Id, out float d) || hit.Distance < d)
                    best[hit.Id] = hit.Distance;
            }
        }
        var all = new SearchHit[best.Count];
        int i = 0;
        foreach (var (id, distance) in best) all[i++] = new SearchHit(id, distance);
        Array.Sort(all);
        return all.Length <= k ? all : all[..k];
    }
}
