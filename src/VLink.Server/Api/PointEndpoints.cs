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

/// <summary>Qdrant's point routes: upsert, retrieve by ids, search, batch search, query and batch query.</summary>
public static class PointEndpoints
{
    /// <summary>Points one upsert request may carry.</summary>
    public const int MaxBatch = 100_000;

    /// <summary>Maps the point routes.</summary>
    public static IEndpointRouteBuilder MapPointEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/collections/{name}/points", UpsertAsync);
        app.MapPost("/collections/{name}/points/search", SearchAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points/search/batch", SearchBatchAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points/query", QueryAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points/query/batch", QueryBatchAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points", RetrieveAsync).RequireRole(VLinkRole.Read);
        app.MapGet("/collections/{name}/points/{id}", GetPointAsync).RequireRole(VLinkRole.Read);
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

    private static async Task<IResult> UpsertAsync(string name, HttpRequest request, VLinkNode node, Embeddings.EmbeddingProviders providers, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequestJson.CheckWait(request);
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var entry = await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        var spec = entry.Spec;
        RequestJson.OnlyFields(document.RootElement, "", "points", "shard_key", "batch");
        RequestJson.Unsupported(document.RootElement, "shard_key", "shard_key", "shard keys are not supported");
        if (!RequestJson.TryGet(document.RootElement, "points", out var points))
            throw ApiException.BadField("points", RequestJson.TryGet(document.RootElement, "batch", out _) ? "is required (the column form \"batch\" is not supported)" : "is required");
        if (points.ValueKind != JsonValueKind.Array) throw ApiException.BadField("points", "expected an array of points");
        int count = points.GetArrayLength();
        if (count > MaxBatch) throw ApiException.BadField("points", $"at most {MaxBatch} points per request, got {count}");

        // Validate the whole batch before anything is written: a bad point refuses the batch, nothing applied.
        var writes = new List<PointWrite>(count);
        int i = 0;
        foreach (var point in points.EnumerateArray())
            writes.Add(PointJson.Parse(point, string.Create(CultureInfo.InvariantCulture, $"points[{i++}]"), spec));
        await TextEmbedding.EmbedMissingAsync(providers, spec, writes, j => string.Create(CultureInfo.InvariantCulture, $"points[{j}]"), cancellationToken).ConfigureAwait(false);
        var result = writes.Count > 0 ? await node.UpsertAsync(name, writes).ConfigureAwait(false) : null;
        OperationLog.Points(request.HttpContext, writes.Count);
        return Envelope.Ok(PointDataEndpoints.Completed(result), clock);
    }

    private static async Task<IResult> SearchAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var entry = await CollectionEndpoints.FindForSearchAsync(node, name).ConfigureAwait(false);
        var query = SearchRequests.ParseSearch(document.RootElement, "", entry.Spec);
        var answers = await SearchRequests.ExecuteAsync(node, entry, [query], cancellationToken, ReadOptions.Of(request)).ConfigureAwait(false);
        return Envelope.Ok(answers[0].Points, clock, SearchRequests.Completeness(answers));
    }

    private static async Task<IResult> SearchBatchAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var entry = await CollectionEndpoints.FindForSearchAsync(node, name).ConfigureAwait(false);
        var queries = await SearchRequests.ParseBatchAsync(document.RootElement,
            (item, path) => Task.FromResult(SearchRequests.ParseSearch(item, path, entry.Spec))).ConfigureAwait(false);
        var answers = await SearchRequests.ExecuteAsync(node, entry, queries, cancellationToken, ReadOptions.Of(request)).ConfigureAwait(false);
        return Envelope.Ok(new JsonArray([.. answers.Select(a => (JsonNode)a.Points)]), clock, SearchRequests.Completeness(answers));
    }

    private static async Task<IResult> QueryAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var entry = await CollectionEndpoints.FindForSearchAsync(node, name).ConfigureAwait(false);
        var query = await SearchRequests.ParseQueryAsync(document.RootElement, "", entry, node).ConfigureAwait(false);
        var answers = await SearchRequests.ExecuteAsync(node, entry, [query], cancellationToken, ReadOptions.Of(request)).ConfigureAwait(false);
        return Envelope.Ok(new JsonObject { ["points"] = answers[0].Points }, clock, SearchRequests.Completeness(answers));
    }

    private static async Task<IResult> QueryBatchAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var entry = await CollectionEndpoints.FindForSearchAsync(node, name).ConfigureAwait(false);
        var queries = await SearchRequests.ParseBatchAsync(document.RootElement,
            (item, path) => SearchRequests.ParseQueryAsync(item, path, entry, node)).ConfigureAwait(false);
        var answers = await SearchRequests.ExecuteAsync(node, entry, queries, cancellationToken, ReadOptions.Of(request)).ConfigureAwait(false);
        return Envelope.Ok(new JsonArray([.. answers.Select(a => (JsonNode)new JsonObject { ["points"] = a.Points })]), clock, SearchRequests.Completeness(answers));
    }

    // Qdrant's GET of one point: its payload and vector, 404 when absent — and 503 naming the partitions that may hold
    // it when they did not answer (neither found nor absent can be said then).
    private static async Task<IResult> GetPointAsync(string name, string id, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = ReadOptions.Of(request);
        var consistency = ReadConsistencyOf(request);
        var entry = await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        var pointId = ulong.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) ? new PointId(number)
            : Guid.TryParse(id, out var uuid) ? new PointId(uuid.ToString("D"))
            : throw ApiException.BadField("id", $"'{id}' is not a point id (an unsigned integer or a UUID)");
        var read = await node.ReadPointsAsync(entry, [pointId], withVector: true, consistency, options.Timeout, cancellationToken).ConfigureAwait(false);
        options.Check(read.MissingPartitions);
        if (!read.Value.TryGetValue(pointId, out var record))
        {
            if (!read.Complete) throw ReadOptions.Incomplete(read.MissingPartitions);
            throw new ApiException(StatusCodes.Status404NotFound, "id", $"id: point {id} does not exist in collection '{name}'");
        }
        return Envelope.Ok(PointJson.Render(record, PayloadSelector.All, withVector: true), clock, ReadOptions.Completeness(read.MissingPartitions));
    }

    /// <summary>
    /// The <c>consistency</c> query parameter of a read (Qdrant's read consistency): <c>one</c> (default), <c>majority</c>
    /// (or <c>quorum</c>), <c>all</c>, or a number of replicas; 400 naming it otherwise.
    /// </summary>
    public static ReadConsistency ReadConsistencyOf(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Query.TryGetValue("consistency", out var values) || values.Count == 0) return ReadConsistency.One;
        string text = values[^1] ?? "";
        return text.Trim().ToLowerInvariant() switch
        {
            "one" or "" => ReadConsistency.One,
            "majority" or "quorum" => ReadConsistency.Majority,
            "all" => ReadConsistency.All,
            var n when int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count >= 1 => ReadConsistency.Of(count),
            _ => throw ApiException.BadField("consistency", $"'{text}' is not a read consistency (one, majority, quorum, all, or a number of replicas of at least 1)"),
        };
    }

    private static async Task<IResult> RetrieveAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        var entry = await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        RequestJson.OnlyFields(root, "", "ids", "with_payload", "with_vector", "shard_key");
        RequestJson.Unsupported(root, "shard_key", "shard_key", "shard keys are not supported");
        if (!RequestJson.TryGet(root, "ids", out var idsElement)) throw ApiException.BadField("ids", "is required");
        if (idsElement.ValueKind != JsonValueKind.Array) throw ApiException.BadField("ids", "expected an array of point ids");
        var ids = new List<PointId>();
        int i = 0;
        foreach (var item in idsElement.EnumerateArray())
            ids.Add(RequestJson.ReadId(item, string.Create(CultureInfo.InvariantCulture, $"ids[{i++}]")));
        var payload = RequestJson.ReadPayloadSelector(root, "with_payload", defaultValue: true);
        bool withVector = RequestJson.OptionalBool(root, "with_vector", "with_vector") ?? false;
        var options = ReadOptions.Of(request);
        var read = await node.ReadPointsAsync(entry, ids, withVector, ReadConsistencyOf(request), options.Timeout, cancellationToken).ConfigureAwait(false);
        options.Check(read.MissingPartitions);
        var result = new JsonArray();
        foreach (var id in ids.Distinct())
        {
            if (read.Value.TryGetValue(id, out var record)) result.Add(PointJson.Render(record, payload, withVector));
        }
        return Envelope.Ok(result, clock, ReadOptions.Completeness(read.MissingPartitions));
    }
}
