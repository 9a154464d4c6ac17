using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Server.Api;

/// <summary>Qdrant's point routes beyond upsert and search: delete, scroll, count, and the payload routes.</summary>
public static class PointDataEndpoints
{
    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapPointDataEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/collections/{name}/points/delete", DeleteAsync);
        app.MapPost("/collections/{name}/points/scroll", ScrollAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points/count", CountAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/collections/{name}/points/payload", (string name, HttpRequest request, VLinkNode node, CancellationToken ct) =>
            ChangePayloadAsync(name, request, node, PayloadChangeKind.Set, ct));
        app.MapPut("/collections/{name}/points/payload", (string name, HttpRequest request, VLinkNode node, CancellationToken ct) =>
            ChangePayloadAsync(name, request, node, PayloadChangeKind.Overwrite, ct));
        app.MapPost("/collections/{name}/points/payload/delete", (string name, HttpRequest request, VLinkNode node, CancellationToken ct) =>
            ChangePayloadAsync(name, request, node, PayloadChangeKind.DeleteKeys, ct));
        app.MapPost("/collections/{name}/points/payload/clear", (string name, HttpRequest request, VLinkNode node, CancellationToken ct) =>
            ChangePayloadAsync(name, request, node, PayloadChangeKind.Clear, ct));
        return app;
    }

    /// <summary>
    /// Qdrant's answer to a write: <c>{"operation_id": 0, "status": "completed"}</c> (VLink answers once it is durable),
    /// and when something was written, <c>acknowledged</c>: the fewest replicas of any partition that had journalled
    /// their share when the write was acknowledged (at least the collection's write consistency).
    /// </summary>
    public static JsonObject Completed(WriteResult? result = null)
    {
        var answer = new JsonObject { ["operation_id"] = 0, ["status"] = "completed" };
        if (result is not null) answer["acknowledged"] = result.Acknowledged;
        return answer;
    }

    private static async Task<IResult> DeleteAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequestJson.CheckWait(request);
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        RequestJson.OnlyFields(document.RootElement, "", SelectorFields);
        var (ids, filter) = ReadSelector(document.RootElement);
        WriteResult? result = null;
        if (filter is not null) result = await node.DeleteByFilterAsync(name, filter).ConfigureAwait(false);
        else if (ids!.Count > 0) result = await node.DeleteAsync(name, ids).ConfigureAwait(false);
        OperationLog.Points(request.HttpContext, result?.Applied ?? 0);
        return Envelope.Ok(Completed(result), clock);
    }

    private static async Task<IResult> ScrollAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        RequestJson.OnlyFields(root, "", "order_by", "shard_key", "limit", "offset", "filter", "with_payload", "with_vector");
        RequestJson.Unsupported(root, "order_by", "order_by", "ordering by a payload field is not supported; scroll pages are in id order");
        RequestJson.Unsupported(root, "shard_key", "shard_key", "shard keys are not supported");
        int limit = RequestJson.OptionalInt(root, "limit", "limit", 1, RequestJson.MaxLimit) ?? 10;
        PointId? offset = RequestJson.TryGet(root, "offset", out var offsetElement) ? RequestJson.ReadId(offsetElement, "offset") : (PointId?)null;
        var filter = RequestJson.OptionalFilter(root, "filter", "filter");
        var payload = RequestJson.ReadPayloadSelector(root, "with_payload", defaultValue: true);
        bool withVector = RequestJson.OptionalBool(root, "with_vector", "with_vector") ?? false;

        var options = ReadOptions.Of(request);
        var page = await node.ScrollPartialAsync(name, filter, offset, limit, withVector, payload.Wanted, options.Timeout, cancellationToken).ConfigureAwait(false);
        options.Check(page.MissingPartitions);
        var points = new JsonArray([.. page.Points.Select(p => (JsonNode)PointJson.Render(p, payload, withVector))]);
        return Envelope.Ok(new JsonObject
        {
            ["points"] = points,
            ["next_page_offset"] = page.NextOffset is { } next ? PointJson.IdNode(next) : null,
        }, clock, ReadOptions.Completeness(page.MissingPartitions));
    }

    private static async Task<IResult> CountAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        RequestJson.OnlyFields(root, "", "shard_key", "filter", "exact");
        RequestJson.Unsupported(root, "shard_key", "shard_key", "shard keys are not supported");
        var filter = RequestJson.OptionalFilter(root, "filter", "filter");
        // Counts are always exact; "exact": false is accepted and answered exactly.
        RequestJson.OptionalBool(root, "exact", "exact");
        var options = ReadOptions.Of(request);
        var count = await node.CountPartialAsync(name, filter, options.Timeout, cancellationToken).ConfigureAwait(false);
        options.Check(count.MissingPartitions);
        return Envelope.Ok(new JsonObject { ["count"] = count.Value }, clock, ReadOptions.Completeness(count.MissingPartitions));
    }

    private static async Task<IResult> ChangePayloadAsync(string name, HttpRequest request, VLinkNode node, PayloadChangeKind kind, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        RequestJson.CheckWait(request);
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false);
        byte[]? payload = null;
        IReadOnlyList<string> keys = [];
        RequestJson.OnlyFields(root, "", kind switch
        {
            PayloadChangeKind.Set or PayloadChangeKind.Overwrite => [.. SelectorFields, "payload", "key"],
            PayloadChangeKind.DeleteKeys => [.. SelectorFields, "keys"],
            _ => SelectorFields,
        });
        switch (kind)
        {
            case PayloadChangeKind.Set or PayloadChangeKind.Overwrite:
                RequestJson.Unsupported(root, "key", "key", "setting the payload at a nested key is not supported; set top-level keys");
                payload = JsonSerializer.SerializeToUtf8Bytes(RequestJson.RequireObject(root, "payload", "payload"));
                break;
            case PayloadChangeKind.DeleteKeys:
                keys = ReadKeys(root);
                break;
        }
        var (ids, filter) = ReadSelector(root);
        WriteResult? result = null;
        if (filter is not null || ids!.Count > 0)
            result = await node.ChangePayloadAsync(name, kind, payload, keys, ids, filter).ConfigureAwait(false);
        OperationLog.Points(request.HttpContext, result?.Applied ?? 0);
        return Envelope.Ok(Completed(result), clock);
    }

    // The fields of Qdrant's points selector.
    private static readonly string[] SelectorFields = ["points", "filter", "shard_key"];

    // Qdrant's points selector: {"points": [ids]} or {"filter": {...}}, exactly one of the two.
    private static (List<PointId>? Ids, byte[]? Filter) ReadSelector(JsonElement root)
    {
        RequestJson.Unsupported(root, "shard_key", "shard_key", "shard keys are not supported");
        bool hasPoints = RequestJson.TryGet(root, "points", out _);
        bool hasFilter = RequestJson.TryGet(root, "filter", out _);
        if (hasPoints && hasFilter) throw ApiException.BadField("filter", "give either points or filter, not both");
        if (hasFilter) return (null, RequestJson.OptionalFilter(root, "filter", "filter"));
        if (!hasPoints) throw ApiException.BadField("points", "is required (or a filter)");
        return (RequestJson.RequireIds(root, "points", "points", PointEndpoints.MaxBatch), null);
    }

    private static List<string> ReadKeys(JsonElement root)
    {
        if (!RequestJson.TryGet(root, "keys", out var value)) throw ApiException.BadField("keys", "is required");
        if (value.ValueKind != JsonValueKind.Array) throw ApiException.BadField("keys", "expected an array of payload keys");
        var keys = new List<string>();
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } key)
                throw ApiException.BadField(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"keys[{i}]"), "expected a non-empty key");
            keys.Add(key);
            i++;
        }
        return keys;
    }
}
