using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Partitions;

/// <summary>The payload changes of Qdrant's payload routes, on one point's stored payload (UTF-8 JSON objects).</summary>
public static class PayloadEdits
{
    /// <summary>
    /// The payload after a change: <paramref name="current"/> (null: none) changed by <paramref name="kind"/> with the
    /// change's payload object or keys. Returns null for an empty payload.
    /// </summary>
    public static byte[]? Apply(PayloadChangeKind kind, byte[]? current, byte[]? payload, IReadOnlyList<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        switch (kind)
        {
            case PayloadChangeKind.Clear:
                return null;
            case PayloadChangeKind.Overwrite:
                return payload is { Length: > 0 } && !IsEmptyObject(payload) ? payload : null;
            case PayloadChangeKind.Set:
            {
                if (payload is null) return current;
                var target = Parse(current);
                if (JsonNode.Parse(payload) is JsonObject set)
                {
                    foreach (var (key, value) in set) target[key] = value?.DeepClone();
                }
                return Write(target);
            }
            case PayloadChangeKind.DeleteKeys:
            {
                if (current is null) return null;
                var target = Parse(current);
                foreach (string key in keys) Remove(target, key);
                return Write(target);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown payload change.");
        }
    }

    // A key present as written wins; otherwise a dotted key walks nested objects ("a.b" removes b inside a).
    private static void Remove(JsonObject target, string key)
    {
        if (target.Remove(key)) return;
        string[] parts = key.Split('.');
        if (parts.Length < 2) return;
        JsonObject? at = target;
        for (int i = 0; i < parts.Length - 1 && at is not null; i++) at = at[parts[i]] as JsonObject;
        at?.Remove(parts[^1]);
    }

    private static JsonObject Parse(byte[]? payload) =>
        payload is { Length: > 0 } && JsonNode.Parse(payload) is JsonObject o ? o : [];

    private static byte[]? Write(JsonObject payload) => payload.Count == 0 ? null : JsonSerializer.SerializeToUtf8Bytes(payload);

    private static bool IsEmptyObject(byte[] payload) => JsonNode.Parse(payload) is JsonObject { Count: 0 };
}
