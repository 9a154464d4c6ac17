using System.Globalization;
using System.Text.Json;
using VLink.Core.Indexing;

namespace VLink.Server.Api;

/// <summary>Reads request bodies and their fields, throwing <see cref="ApiException"/> naming the field on bad input.</summary>
public static class RequestJson
{
    /// <summary>The largest <c>limit</c> a search accepts.</summary>
    public const int MaxLimit = 10_000;

    /// <summary>Parses the request body as a JSON object (400 when it is missing, malformed, not UTF-8 or not an object).</summary>
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var buffer = new MemoryStream(request.ContentLength is > 0 and <= int.MaxValue ? (int)request.ContentLength : 0);
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        // The JSON reader checks UTF-8 only in strings it decodes; a payload is stored as it came, so a byte that is not
        // UTF-8 would be kept and later answered as U+FFFD: refused here instead.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span)) throw ApiException.BadField("body", "not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiException.BadField("body", $"malformed JSON ({e.Message})");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw ApiException.BadField("body", "expected a JSON object");
        }
        return document;
    }

    /// <summary>A property when present and not null.</summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    /// <summary>A required object property.</summary>
    public static JsonElement RequireObject(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value)) throw ApiException.BadField(path, "is required");
        if (value.ValueKind != JsonValueKind.Object) throw ApiException.BadField(path, "expected an object");
        return value;
    }

    /// <summary>An optional integer within [min, max].</summary>
    public static int? OptionalInt(JsonElement obj, string name, string path, int min, int max)
    {
        if (!TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long n))
            throw ApiException.BadField(path, "expected an integer");
        if (n < min || n > max)
            throw ApiException.BadField(path, string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max}, got {n}"));
        return (int)n;
    }

    /// <summary>An optional boolean.</summary>
    public static bool? OptionalBool(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadField(path, "expected true or false"),
        };
    }

    /// <summary>An optional finite number.</summary>
    public static double? OptionalNumber(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || !double.IsFinite(d))
            throw ApiException.BadField(path, "expected a finite number");
        return d;
    }

    /// <summary>A required vector of <paramref name="dimension"/> finite floats (non-zero for cosine).</summary>
    public static float[] RequireVector(JsonElement obj, string name, string path, int dimension, bool nonZero)
    {
        if (!TryGet(obj, name, out var value)) throw ApiException.BadField(path, "is required");
        if (value.ValueKind != JsonValueKind.Array) throw ApiException.BadField(path, "expected an array of numbers");
        int length = value.GetArrayLength();
        if (length != dimension)
            throw ApiException.BadField(path, string.Create(CultureInfo.InvariantCulture, $"wrong vector dimension: expected {dimension}, got {length}"));
        var vector = new float[length];
        int i = 0;
        bool allZero = true;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double d))
                throw ApiException.BadField(string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]"), "expected a number (NaN and infinity are not allowed)");
            float f = (float)d;
            if (!float.IsFinite(f))
                throw ApiException.BadField(string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]"), "is not a finite 32-bit float");
            allZero &= f == 0f;
            vector[i++] = f;
        }
        if (nonZero && allZero) throw ApiException.BadField(path, "a zero vector has no direction for cosine distance");
        return vector;
    }

    /// <summary>A point id: an unsigned integer or a UUID string (normalised to lowercase hyphenated form).</summary>
    public static PointId ReadId(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when value.TryGetUInt64(out ulong n):
                return new PointId(n);
            case JsonValueKind.String when Guid.TryParse(value.GetString(), out var uuid):
                return new PointId(uuid.ToString("D"));
            default:
                throw ApiException.BadField(path, "a point id must be an unsigned integer or a UUID string");
        }
    }

    /// <summary>
    /// Reads the <c>with_payload</c> selector: true/false, a list of top-level payload keys to include, or
    /// <c>{"include": [keys]}</c> / <c>{"exclude": [keys]}</c>.
    /// </summary>
    public static PayloadSelector ReadPayloadSelector(JsonElement obj, string name, bool defaultValue, string? path = null)
    {
        path ??= name;
        if (!TryGet(obj, name, out var value)) return defaultValue ? PayloadSelector.All : PayloadSelector.None;
        switch (value.ValueKind)
        {
            case JsonValueKind.True: return PayloadSelector.All;
            case JsonValueKind.False: return PayloadSelector.None;
            case JsonValueKind.Array:
                return new PayloadSelector(true, Keys(value, path));
            case JsonValueKind.Object when value.TryGetProperty("include", out var include):
                return new PayloadSelector(true, Keys(include, path + ".include"));
            case JsonValueKind.Object when value.TryGetProperty("exclude", out var exclude):
                return new PayloadSelector(true, null, Keys(exclude, path + ".exclude"));
            default:
                throw ApiException.BadField(path, "expected true, false, an array of payload keys, {\"include\": [...]} or {\"exclude\": [...]}");
        }

        static HashSet<string> Keys(JsonElement list, string path)
        {
            if (list.ValueKind != JsonValueKind.Array) throw ApiException.BadField(path, "expected an array of payload keys");
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) throw ApiException.BadField(path, "expected an array of payload keys");
                keys.Add(item.GetString()!);
            }
            return keys;
        }
    }

    /// <summary>
    /// An optional Qdrant filter, validated here so every partition receives one it can parse; its UTF-8 JSON, or null
    /// when absent. Errors name the path inside the filter (<c>filter.must[0].range.gt</c>).
    /// </summary>
    public static byte[]? OptionalFilter(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var filter)) return null;
        try
        {
            Core.Filtering.PayloadFilter.Parse(filter, path);
        }
        catch (Core.Filtering.FilterParseException e)
        {
            throw ApiException.BadField(e.Path, e.Problem);
        }
        return System.Text.Encoding.UTF8.GetBytes(filter.GetRawText());
    }

    /// <summary>A required list of point ids, at most <paramref name="max"/>.</summary>
    public static List<PointId> RequireIds(JsonElement obj, string name, string path, int max)
    {
        if (!TryGet(obj, name, out var value)) throw ApiException.BadField(path, "is required");
        if (value.ValueKind != JsonValueKind.Array) throw ApiException.BadField(path, "expected an array of point ids");
        int count = value.GetArrayLength();
        if (count > max) throw ApiException.BadField(path, string.Create(CultureInfo.InvariantCulture, $"at most {max} ids per request, got {count}"));
        var ids = new List<PointId>(count);
        int i = 0;
        foreach (var item in value.EnumerateArray())
            ids.Add(ReadId(item, string.Create(CultureInfo.InvariantCulture, $"{path}[{i++}]")));
        return ids;
    }

    /// <summary>
    /// Refuses every field of <paramref name="obj"/> (an object at <paramref name="prefix"/>; the body when empty) that
    /// is not one of <paramref name="known"/>, naming its path: a request is never run with part of it ignored. A field
    /// whose value is null counts as absent, as everywhere else. Fields that are known but not supported are refused by
    /// their readers with the reason (<see cref="Unsupported"/>).
    /// </summary>
    public static void OnlyFields(JsonElement obj, string prefix, params string[] known)
    {
        ArgumentNullException.ThrowIfNull(known);
        if (obj.ValueKind != JsonValueKind.Object) return;
        foreach (var property in obj.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Null || Array.IndexOf(known, property.Name) >= 0) continue;
            throw ApiException.BadField(Field(prefix, property.Name),
                $"is not a field VLink supports here (it reads {string.Join(", ", known.Order(StringComparer.Ordinal))})");
        }
    }

    /// <summary>Refuses a field VLink does not support (when present and not null), naming it.</summary>
    public static void Unsupported(JsonElement obj, string name, string path, string why)
    {
        if (TryGet(obj, name, out _)) throw ApiException.BadField(path, why);
    }

    /// <summary>Checks Qdrant's <c>?wait=</c> query parameter: absent, true or false (VLink always answers once written).</summary>
    public static void CheckWait(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Query.TryGetValue("wait", out var values)) return;
        foreach (string? value in values)
        {
            if (!bool.TryParse(value, out _)) throw ApiException.BadField("wait", "expected true or false");
        }
    }

    /// <summary>The path of a field inside an object at <paramref name="prefix"/> (the root when empty).</summary>
    public static string Field(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>Which payload to return with points: none, all, the listed top-level keys, or all but the listed ones.</summary>
/// <param name="Wanted">Whether any payload is returned.</param>
/// <param name="Keys">The top-level keys to include, or null for all.</param>
/// <param name="Excluded">The top-level keys to leave out, or null for none.</param>
public sealed record PayloadSelector(bool Wanted, IReadOnlySet<string>? Keys, IReadOnlySet<string>? Excluded = null)
{
    /// <summary>No payload.</summary>
    public static PayloadSelector None { get; } = new(false, null);

    /// <summary>The whole payload.</summary>
    public static PayloadSelector All { get; } = new(true, null);
}
