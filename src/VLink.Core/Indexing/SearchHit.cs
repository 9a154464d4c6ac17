namespace VLink.Core.Indexing;

/// <summary>One answer of a k-NN search: a point and its distance to the query (smaller is closer).</summary>
/// <remarks>Hits order by distance, then by id, so every merge of hits is deterministic.</remarks>
public readonly record struct SearchHit(PointId Id, float Distance) : IComparable<SearchHit>
{
    /// <inheritdoc />
    public int CompareTo(SearchHit other)
    {
        int byDistance = Distance.CompareTo(other.Distance);
        return byDistance != 0 ? byDistance : Id.CompareTo(other.Id);
    }
}
