using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

/// <summary>
/// What one partition holds: its collection's spec, its index and the payloads of its points. The domain of a
/// partition entity without the actor: commands are validated into events here, and events are applied here,
/// so both are testable without an ActorSystem. The index starts flat (exact, no graph) and becomes an HNSW
/// graph once the partition reaches the collection's flat threshold.
/// </summary>
public sealed class PartitionState : IDisposable
{
    private readonly Dictionary<PointId, byte[]> _payloads = [];
    private readonly Dictionary<PointId, string> _documents = [];
    // Parsed payloads for filters, filled on first use and dropped when the point changes.
    private readonly Dictionary<PointId, System.Text.Json.JsonElement> _parsed = [];

    private PartitionState(CollectionSpec spec, IVectorIndex index)
    {
        Spec = spec;
        Index = index;
    }

    /// <summary>The collection spec this partition was created with.</summary>
    public CollectionSpec Spec { get; }

    /// <summary>The index (flat while small, HNSW above the threshold).</summary>
    public IVectorIndex Index { get; private set; }

    /// <summary>"flat" or "hnsw".</summary>
    public string IndexKind => Index is HnswIndex ? "hnsw" : "flat";

    /// <summary>Points held.</summary>
    public int Count => Index.Count;

    /// <summary>A new, empty partition of a collection.</summary>
    public static PartitionState Create(CollectionSpec spec) => new(spec, new FlatIndex(spec.Dimension, spec.Metric));

    /// <summary>
    /// Checks an upsert against the spec and returns the event to persist, or the reason it is refused.
    /// Nothing is applied here: a refused batch leaves no trace.
    /// </summary>
    public static (PointsUpserted? Event, string? Error) Validate(CollectionSpec spec, IReadOnlyList<PointWrite> points)
    {
        if (points.Count == 0) return (null, "The batch holds no points.");
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (p.Vector is null) return (null, $"points[{i}] (id {p.Id}) has no vector.");
            try
            {
                Core.Vectors.VectorValidation.Validate(p.Vector, spec.Dimension, $"points[{i}].vector");
                if (spec.Metric == Core.Vectors.DistanceMetric.Cosine && Core.Vectors.VectorKernels.Norm(p.Vector) == 0f)
                    return (null, $"points[{i}] (id {p.Id}) is a zero vector, which has no cosine direction.");
            }
            catch (ArgumentException e)
            {
                return (null, $"points[{i}] (id {p.Id}): {e.Message}");
            }
        }
        return (new PointsUpserted(points), null);
    }

    /// <summary>Applies a journalled upsert. Later points of one batch win over earlier ones with the same id.</summary>
    public int Apply(PointsUpserted e)
    {
        foreach (var p in e.Points)
        {
            Index.Upsert(p.Id, p.Vector);
            _parsed.Remove(p.Id);
            if (p.Payload is { Length: > 0 }) _payloads[p.Id] = p.Payload;
            else _payloads.Remove(p.Id);
            if (p.Document is not null) _documents[p.Id] = p.Document;
            else _documents.Remove(p.Id);
        }
        PromoteIfLarge();
        return e.Points.Count;
    }

    /// <summary>Applies a journalled delete; returns how many points existed.</summary>
    public int Apply(PointsDeleted e)
    {
        int deleted = 0;
        foreach (var id in e.Ids)
        {
            if (Index.Delete(id)) deleted++;
            _parsed.Remove(id);
            _payloads.Remove(id);
            _documents.Remove(id);
        }
        return deleted;
    }

    private System.Text.Json.JsonElement? ParsedPayload(PointId id)
    {
        if (_parsed.TryGetValue(id, out var element)) return element;
        if (!_payloads.TryGetValue(id, out var bytes)) return null;
        element = System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(bytes);
        _parsed[id] = element;
        return element;
    }

    /// <summary>The payload of a point, or null.</summary>
    public byte[]? Payload(PointId id) => _payloads.GetValueOrDefault(id);

    /// <summary>The document of a point, or null.</summary>
    public string? Document(PointId id) => _documents.GetValueOrDefault(id);

    /// <summary>Serialises the whole state (index in VLink's binary format, plus payloads) as a snapshot.</summary>
    public PartitionSnapshot ToSnapshot()
    {
        using var buffer = new MemoryStream();
        bool graph = Index is HnswIndex;
        if (Index is HnswIndex hnsw) hnsw.Save(buffer);
        else ((FlatIndex)Index).Save(buffer);
        return new PartitionSnapshot(Spec, buffer.ToArray(), graph, [.. _payloads], [.. _documents]);
    }

    /// <summary>Rebuilds a state from a snapshot.</summary>
    public static PartitionState FromSnapshot(PartitionSnapshot snapshot)
    {
        using var buffer = new MemoryStream(snapshot.Index, writable: false);
        IVectorIndex index = snapshot.IsGraph ? HnswIndex.Load(buffer) : FlatIndex.Load(buffer);
        var state = new PartitionState(snapshot.Spec, index);
        foreach (var (id, payload) in snapshot.Payloads) state._payloads[id] = payload;
        foreach (var (id, document) in snapshot.Documents) state._documents[id] = document;
        return state;
    }

    /// <summary>Searches the partition's index for the request's k' nearest points.</summary>
    /// <exception cref="ArgumentException">The request's filter is not a valid filter.</exception>
    public IReadOnlyList<SearchHit> Search(SearchRequest request, IPointFilter? filter = null)
    {
        if (filter is null && request.Filter is { } json)
            filter = new Core.Filtering.PayloadFilterAdapter(Core.Filtering.PayloadFilter.Parse(System.Text.Encoding.UTF8.GetString(json)), ParsedPayload);
        var options = new SearchOptions { Ef = request.Ef, Exact = request.Exact, Filter = filter };
        return Index.Search(request.Vector, Math.Max(request.K, request.FetchK), options);
    }

    /// <inheritdoc />
    public void Dispose() => Index.Dispose();

    // Past the threshold a graph pays for itself; the points move over once, in id order for determinism.
    private void PromoteIfLarge()
    {
        if (Index is not FlatIndex flat || flat.Count < Spec.FlatThreshold) return;
        var graph = new HnswIndex(Spec.Dimension, Spec.Metric, Spec.Hnsw);
        var ids = flat.Ids().ToArray();
        Array.Sort(ids);
        foreach (var id in ids) graph.Upsert(id, flat.GetVector(id)!);
        Index = graph;
        flat.Dispose();
    }
}
