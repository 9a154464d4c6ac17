using VLink.Core.Vectors;

namespace VLink.Core.Indexing;

/// <summary>
/// A k-nearest-neighbour index over fixed-dimension float vectors keyed by <see cref="PointId"/>.
/// One writer at a time (writes are serialised internally); any number of concurrent readers, which never block behind the writer.
/// </summary>
public interface IVectorIndex : IDisposable
{
    /// <summary>Vector dimension; every vector and query must have exactly this many components.</summary>
    int Dimension { get; }

    /// <summary>The distance the index ranks by.</summary>
    DistanceMetric Metric { get; }

    /// <summary>Number of live (not deleted) points.</summary>
    int Count { get; }

    /// <summary>Inserts a point, or replaces the vector of an existing one (the old vector is deleted, the new one inserted).</summary>
    /// <exception cref="ArgumentException">Wrong dimension, an empty vector, NaN or infinity.</exception>
    void Upsert(PointId id, ReadOnlySpan<float> vector);

    /// <summary>Deletes a point. Returns false when the id is unknown. A deleted id is never returned by a search.</summary>
    bool Delete(PointId id);

    /// <summary>True when the id is present (and not deleted).</summary>
    bool Contains(PointId id);

    /// <summary>Copies the stored vector of a point (normalised, for cosine). Returns null when absent.</summary>
    float[]? GetVector(PointId id);

    /// <summary>The live ids, in no particular order; a snapshot safe to enumerate while writes go on.</summary>
    IReadOnlyList<PointId> Ids();

    /// <summary>The k nearest live points to the query, ordered by (distance, id). Fewer than k only when fewer points match.</summary>
    /// <exception cref="ArgumentException">Wrong dimension, NaN or infinity in the query, or k ≤ 0.</exception>
    IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int k, SearchOptions? options = null);

    /// <summary>Answers many queries; the i-th answer belongs to the i-th query.</summary>
    IReadOnlyList<SearchHit>[] SearchBatch(IReadOnlyList<float[]> queries, int k, SearchOptions? options = null);

    /// <summary>Bytes of memory the index holds (vectors, graph, ids), as accounted by the index.</summary>
    long MemoryBytes { get; }
}
