using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Server.Api;

/// <summary>Qdrant's point routes: upsert, search, retrieve by ids.</summary>
public static class PointEndpoints
{
    /// <summary>Points one upsert request may carry.</summary>
    public const int MaxBatch = 100_000;

    /// <summary>Maps the point routes.</summary>
    public static IEndpointRouteBuilder MapPointEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/collections/{name}/points", UpsertAsync);
        app.MapPost("/collections/{name}/points/search", SearchAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points", RetrieveAsync).RequireRole(VLinkRole.Read);
        return app;
    }

    /// <summary>
    /// Qdrant's score of an index distance: cosine similarity (1 − cosine distance), the dot product
    /// (1 − dot distance), or the Euclidean distance (√ of the squared distance the index ranks by).
    /// </summary>
    public static double Score(DistanceMetric metric, float distance) => metric switch
    {
        DistanceMetric.Euclidean => Math.Sqrt(Math.Max(0.0, distance)),
        _ => 1.0 - distance,
    };

    /// <summary>A point id as Qdrant writes it: a number or a UUID string.</summary>
    public static JsonNode IdNode(PointId id) => PointJson.IdNode(id);

    private static async Task<IResult> UpsertAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var entry = await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        var spec = entry.Spec;
        if (!RequestJson.TryGet(document.RootElement, "points", out var points)) throw ApiException.BadField("points", "is required");
        if (points.ValueKind != JsonValueKind.Array) throw ApiException.BadField("points", "expected an array of points");
        int count = points.GetArrayLength();
        if (count > MaxBatch) throw ApiException.BadField("points", $"at most {MaxBatch} points per request, got {count}");

        // Validate the whole batch before anything is written: a bad point refuses the batch, nothing applied.
        var writes = new List<PointWrite>(count);
        int i = 0;
        foreach (var point in points.EnumerateArray())
            writes.Add(PointJson.Parse(point, string.Create(CultureInfo.InvariantCulture, $"points[{i++}]"), spec));
        if (writes.Count > 0) await node.UpsertAsync(name, writes).ConfigureAwait(false);
        return Envelope.Ok(new JsonObject { ["operation_id"] = 0, ["status"] = "completed" }, clock);
    }

    private static async Task<IResult> SearchAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        var entry = await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        var spec = entry.Spec;
        var vector = RequestJson.RequireVector(root, "vector", "vector", spec.Dimension, spec.Metric == DistanceMetric.Cosine);
        int limit = RequestJson.OptionalInt(root, "limit", "limit", 1, RequestJson.MaxLimit) ?? 10;
        int offset = RequestJson.OptionalInt(root, "offset", "offset", 0, RequestJson.MaxLimit) ?? 0;
        if (limit + offset > RequestJson.MaxLimit) throw ApiException.BadField("offset", $"limit + offset must not exceed {RequestJson.MaxLimit}");
        int? ef = null;
        bool exact = false;
        if (RequestJson.TryGet(root, "params", out var parameters))
        {
            if (parameters.ValueKind != JsonValueKind.Object) throw ApiException.BadField("params", "expected an object");
            ef = RequestJson.OptionalInt(parameters, "hnsw_ef", "params.hnsw_ef", 1, 100_000);
            exact = RequestJson.OptionalBool(parameters, "exact", "params.exact") ?? false;
        }
        double? threshold = RequestJson.OptionalNumber(root, "score_threshold", "score_threshold");
        var payload = RequestJson.ReadPayloadSelector(root, "with_payload", defaultValue: false);
        bool withVector = RequestJson.OptionalBool(root, "with_vector", "with_vector") ?? false;
        byte[]? filter = null;
        if (RequestJson.TryGet(root, "filter", out var filterJson) && filterJson.ValueKind != JsonValueKind.Null)
        {
            try
            {
                // Validated here, so every partition receives a filter it can parse.
                Core.Filtering.PayloadFilter.Parse(filterJson, "filter");
            }
            catch (Core.Filtering.FilterParseException e)
            {
                throw ApiException.BadField(e.Path, e.Problem);
            }
            filter = System.Text.Encoding.UTF8.GetBytes(filterJson.GetRawText());
        }

        var answer = await node.Gather.SearchAsync(name, vector, limit + offset, ef, exact, cancellationToken, filter).ConfigureAwait(false);
        var hits = answer.Hits.Skip(offset)
            .Select(h => (h.Id, Score: Score(spec.Metric, h.Distance)))
            // Qdrant keeps scores at least the threshold for similarities, at most it for distances.
            .Where(h => threshold is not { } t || (spec.Metric == DistanceMetric.Euclidean ? h.Score <= t : h.Score >= t))
            .ToList();
        var records = payload.Wanted || withVector
            ? await FetchAsync(node, entry, [.. hits.Select(h => h.Id)], withVector).ConfigureAwait(false)
            : null;
        var result = new JsonArray();
        foreach (var (id, score) in hits)
        {
            var item = new JsonObject { ["id"] = IdNode(id), ["version"] = 0, ["score"] = score };
            PointRecord? record = null;
            records?.TryGetValue(id, out record);
            item["payload"] = payload.Wanted ? PointJson.PayloadNode(record?.Payload, record?.Document, payload) : null;
            item["vector"] = withVector && record?.Vector is { } v ? PointJson.VectorNode(v) : null;
            result.Add(item);
        }
        var missing = new JsonArray([.. answer.MissingPartitions.Select(p => (JsonNode)JsonValue.Create(p))]);
        return Envelope.Ok(result, clock, ("complete", answer.Complete), ("missing_partitions", missing));
    }

    private static async Task<IResult> RetrieveAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        var entry = await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        if (!RequestJson.TryGet(root, "ids", out var idsElement)) throw ApiException.BadField("ids", "is required");
        if (idsElement.ValueKind != JsonValueKind.Array) throw ApiException.BadField("ids", "expected an array of point ids");
        var ids = new List<PointId>();
        int i = 0;
        foreach (var item in idsElement.EnumerateArray())
            ids.Add(RequestJson.ReadId(item, string.Create(CultureInfo.InvariantCulture, $"ids[{i++}]")));
        var payload = RequestJson.ReadPayloadSelector(root, "with_payload", defaultValue: true);
        bool withVector = RequestJson.OptionalBool(root, "with_vector", "with_vector") ?? false;
        var records = await FetchAsync(node, entry, ids, withVector).ConfigureAwait(false);
        var result = new JsonArray();
        foreach (var id in ids.Distinct())
        {
            if (records.TryGetValue(id, out var record)) result.Add(PointJson.Render(record, payload, withVector));
        }
        return Envelope.Ok(result, clock);
    }

    /// <summary>Reads points by id from their partitions (the hash partition of each id, or every key partition).</summary>
    private static async Task<Dictionary<PointId, PointRecord>> FetchAsync(VLinkNode node, CollectionEntry entry, IReadOnlyList<PointId> ids, bool withVector)
    {
        var found = new Dictionary<PointId, PointRecord>();
        if (ids.Count == 0) return found;
        var spec = entry.Spec;
        var asks = spec.Scheme == PartitionScheme.Hash
            ? ids.Distinct().GroupBy(id => HashPartitioner.KeyOf(id, spec.PartitionCount))
                .Select(g => new GetPoints(entry.Partition(g.Key), [.. g], withVector))
            : entry.Keys.Select(k => new GetPoints(entry.Partition(k), [.. ids.Distinct()], withVector));
        var answers = await Task.WhenAll(asks.Select(q =>
            node.Partitions.Ask<PointsFound>(q, node.Settings.Gather.Timeout))).ConfigureAwait(false);
        foreach (var answer in answers)
            foreach (var point in answer.Points)
                found[point.Id] = point;
        return found;
    }
}
