namespace VLink.Core.Indexing;

/// <summary>Per-query knobs. Every property is optional; null means the index's default.</summary>
public sealed record SearchOptions
{
    /// <summary>Size of the dynamic candidate list (HNSW's ef). Raised to k when smaller. Ignored by exact indices.</summary>
    public int? Ef { get; init; }

    /// <summary>Only points the filter admits are returned; the filter runs inside the traversal.</summary>
    public IPointFilter? Filter { get; init; }

    /// <summary>When true, an approximate index answers by an exact scan (ground truth, Qdrant's <c>exact</c>).</summary>
    public bool Exact { get; init; }

    /// <summary>The defaults.</summary>
    public static SearchOptions Default { get; } = new();
}
