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

    /// <summary>
    /// A regime payload with the forward outcomes <paramref name="outcomes"/>[<paramref name="from"/>..<paramref name="to"/>)
    /// set (<c>fwd_ret_h</c>, <c>fwd_vol_h</c>): the same as a <see cref="PayloadChangeKind.Set"/> of those keys, written
    /// in one pass over the stored object instead of through a JSON tree (it runs for every closed bar).
    /// </summary>
    public static byte[] SetNumbers(byte[] current, IReadOnlyList<Core.Regimes.OutcomeUpdate> outcomes, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(outcomes);
        // The usual case: the payload as RegimePoints wrote it, with each key once at "key":null — splice the numbers in.
        byte[]? spliced = current;
        for (int i = from; i < to && spliced is not null; i++)
        {
            spliced = Splice(spliced, Core.Regimes.RegimeFeatureSet.ForwardReturnKey(outcomes[i].Horizon), outcomes[i].ForwardReturn);
            if (spliced is not null) spliced = Splice(spliced, Core.Regimes.RegimeFeatureSet.ForwardVolatilityKey(outcomes[i].Horizon), outcomes[i].ForwardVolatility);
        }
        if (spliced is not null) return spliced;
        int n = (to - from) * 2;
        var set = new (string Key, double Value, bool Written)[n];
        for (int i = from, k = 0; i < to; i++)
        {
            set[k++] = (Core.Regimes.RegimeFeatureSet.ForwardReturnKey(outcomes[i].Horizon), outcomes[i].ForwardReturn, false);
            set[k++] = (Core.Regimes.RegimeFeatureSet.ForwardVolatilityKey(outcomes[i].Horizon), outcomes[i].ForwardVolatility, false);
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(current.Length + 32 * n);
        using (var document = JsonDocument.Parse(current))
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    int hit = -1;
                    for (int k = 0; k < set.Length && hit < 0; k++)
                        if (!set[k].Written && property.NameEquals(set[k].Key)) hit = k;
                    if (hit < 0)
                    {
                        property.WriteTo(json);
                        continue;
                    }
                    json.WriteNumber(set[hit].Key, set[hit].Value);
                    set[hit].Written = true;
                }
            }
            foreach (var (key, value, written) in set)
                if (!written) json.WriteNumber(key, value);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    // "key":null present exactly once (a quote inside a JSON string is escaped, so the pattern cannot start inside one):
    // the payload with the number in place of null, formatted as Utf8JsonWriter formats it; otherwise null.
    private static byte[]? Splice(byte[] payload, string key, double value)
    {
        Span<byte> pattern = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(key.Length) + 7];
        int length = 0;
        pattern[length++] = (byte)'"';
        length += System.Text.Encoding.UTF8.GetBytes(key, pattern[length..]);
        "\":null"u8.CopyTo(pattern[length..]);
        length += 6;
        pattern = pattern[..length];
        int at = payload.AsSpan().IndexOf(pattern);
        if (at < 0 || payload.AsSpan(at + 1).IndexOf(pattern) >= 0 || !double.IsFinite(value)) return null;
        Span<byte> number = stackalloc byte[32];
        if (!value.TryFormat(number, out int written, default, System.Globalization.CultureInfo.InvariantCulture)) return null;
        int nullAt = at + pattern.Length - 4;
        var result = new byte[payload.Length - 4 + written];
        payload.AsSpan(0, nullAt).CopyTo(result);
        number[..written].CopyTo(result.AsSpan(nullAt));
        payload.AsSpan(nullAt + 4).CopyTo(result.AsSpan(nullAt + written));
        return result;
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
