namespace VLink.Core.Indexing;

/// <summary>
/// A predicate over points, evaluated inside the index traversal (never as a post-filter).
/// Implementations must be thread-safe and side-effect free.
/// </summary>
public interface IPointFilter
{
    /// <summary>True when the point may appear in results.</summary>
    bool Matches(PointId id);
}

/// <summary>A filter built from a delegate.</summary>
public sealed class PredicateFilter(Func<PointId, bool> predicate) : IPointFilter
{
    /// <inheritdoc />
    public bool Matches(PointId id) => predicate(id);
}

/// <summary>A filter that admits exactly the given ids (Qdrant's <c>has_id</c>).</summary>
public sealed class IdSetFilter(IEnumerable<PointId> ids) : IPointFilter
{
    private readonly HashSet<PointId> _ids = [.. ids];

    /// <summary>How many ids the filter admits.</summary>
    public int Count => _ids.Count;

    /// <inheritdoc />
    public bool Matches(PointId id) => _ids.Contains(id);
}
