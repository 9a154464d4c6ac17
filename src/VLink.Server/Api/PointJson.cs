using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Server.Api;

/// <summary>
/// One point as Qdrant's JSON writes it, both ways: <see cref="Parse"/> reads a point of a write request
/// (<c>id</c>, <c>vector</c>, optional <c>payload</c> and <c>document</c>), <see cref="Render"/> writes a stored
/// point for an answer (<c>id</c>, <c>payload</c>, <c>vector</c>).
/// </summary>
/// <remarks>
/// A point's document is its source text. It is stored beside the payload (filters do not see it) and returned
/// inside the payload under the key <see cref="DocumentKey"/> whenever payload is returned; a stored document wins
/// over a payload key of the same name.
/// </remarks>
public static class PointJson
{
    /// <summary>The largest document a point may carry, in UTF-8 bytes (1 MiB).</summary>
    public const int MaxDocumentBytes = 1 << 20;

    /// <summary>The payload key under which a point's document is returned.</summary>
    public const string DocumentKey = "document";

    /// <summary>
    /// Reads one point of a write request. Throws <see cref="ApiException"/> naming the field under
    /// <paramref name="path"/> (e.g. <c>points[3].vector</c>) when the point does not fit <paramref name="spec"/>.
    /// </summary>
    public static PointWrite Parse(JsonElement point, string path, CollectionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (point.ValueKind != JsonValueKind.Object) throw ApiException.BadField(path, "expected an object");
        RequestJson.OnlyFields(point, path, "id", "vector", "payload", "document");
        if (!RequestJson.TryGet(point, "id", out var idElement)) throw ApiException.BadField(path + ".id", "is required");
        var id = RequestJson.ReadId(idElement, path + ".id");
        // A collection that embeds its text takes text, not vectors: a vector of another model would mix models.
        // Its points leave here without one; TextEmbedding fills it in before the write.
        float[] vector;
        if (spec.Text?.Embedding is { } embedding)
        {
            if (RequestJson.TryGet(point, "vector", out _))
                throw ApiException.BadField(path + ".vector", $"collection '{spec.Name}' embeds the text of {string.Join(", ", spec.Text.Fields)} with {embedding.ModelId}; send text, not vectors");
            vector = null!;
        }
        else
        {
            vector = RequestJson.RequireVector(point, "vector", path + ".vector", spec.Dimension, spec.Metric == DistanceMetric.Cosine);
        }
        byte[]? payload = null;
        bool payloadHasDocument = false;
        if (RequestJson.TryGet(point, "payload", out var payloadElement))
        {
            if (payloadElement.ValueKind != JsonValueKind.Object) throw ApiException.BadField(path + ".payload", "expected an object");
            payload = JsonSerializer.SerializeToUtf8Bytes(payloadElement);
            payloadHasDocument = payloadElement.TryGetProperty(DocumentKey, out _);
        }
        string? document = null;
        if (RequestJson.TryGet(point, "document", out var documentElement))
        {
            if (documentElement.ValueKind != JsonValueKind.String) throw ApiException.BadField(path + ".document", "expected a string");
            document = documentElement.GetString()!;
            if (Encoding.UTF8.GetByteCount(document) > MaxDocumentBytes)
                throw ApiException.BadField(path + ".document", $"at most {MaxDocumentBytes} UTF-8 bytes");
            // Both would be returned under one key: refuse instead of dropping one of them.
            if (payloadHasDocument)
                throw ApiException.BadField(path + ".payload." + DocumentKey, "a point with a document cannot also have a payload key \"document\"");
        }
        return new PointWrite(id, vector, payload, document);
    }

    /// <summary>
    /// A stored point as Qdrant returns it: <c>{"id", "payload", "vector"}</c>, payload and vector null unless asked for.
    /// </summary>
    public static JsonObject Render(PointRecord record, PayloadSelector payload, bool withVector)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(payload);
        return new JsonObject
        {
            ["id"] = IdNode(record.Id),
            ["payload"] = payload.Wanted ? PayloadNode(record.Payload, record.Document, payload) : null,
            ["vector"] = withVector && record.Vector is { } v ? VectorNode(v) : null,
        };
    }

    /// <summary>
    /// The payload to return: the stored object (or <c>{}</c>), with the document under <see cref="DocumentKey"/>,
    /// reduced to the selected top-level keys when the selector lists keys, without the excluded ones.
    /// </summary>
    public static JsonObject PayloadNode(byte[]? payload, string? document, PayloadSelector selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var all = payload is { Length: > 0 } && JsonNode.Parse(payload) is JsonObject parsed ? parsed : [];
        if (document is not null) all[DocumentKey] = document;
        if (selector.Excluded is { } excluded)
        {
            foreach (string key in excluded) all.Remove(key);
        }
        if (selector.Keys is null) return all;
        var picked = new JsonObject();
        foreach (var (key, value) in all)
            if (selector.Keys.Contains(key)) picked[key] = value?.DeepClone();
        return picked;
    }

    /// <summary>A point id as Qdrant writes it: a number or a UUID string.</summary>
    public static JsonNode IdNode(PointId id) => id.IsNumber ? JsonValue.Create(id.Number) : JsonValue.Create(id.Text!);

    /// <summary>A vector as a JSON array of numbers.</summary>
    public static JsonArray VectorNode(float[] vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return new([.. vector.Select(f => (JsonNode)JsonValue.Create(f))]);
    }
}
