using System.Text.Json;
using VLink.Core.Indexing;

namespace VLink.Core.Filtering;

/// <summary>Reads Qdrant's JSON filter form into a <see cref="PayloadFilter"/>, reporting problems by JSON path.</summary>
internal static class FilterParser
{
    private static readonly HashSet<string> FilterKeys = ["must", "should", "must_not", "min_should"];

    public static PayloadFilter ParseFilter(JsonElement json, string path, int depth)
    {
        if (depth > PayloadFilter.MaxDepth)
            throw new FilterParseException(path, $"filters nest deeper than the limit of {PayloadFilter.MaxDepth} levels");
        if (json.ValueKind != JsonValueKind.Object)
            throw new FilterParseException(path, "expected a filter object");

        List<Condition>? must = null, should = null, mustNot = null;
        foreach (var property in json.EnumerateObject())
        {
            string at = path + "." + property.Name;
            switch (property.Name)
            {
                case "must": must = ParseConditions(property.Value, at, depth, must); break;
                case "should": should = ParseConditions(property.Value, at, depth, should); break;
                case "must_not": mustNot = ParseConditions(property.Value, at, depth, mustNot); break;
                case "min_should":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                        throw new FilterParseException(at, "min_should is not supported");
                    break;
                default:
                    throw new FilterParseException(at, "unknown field (a filter has must, should and must_not)");
            }
        }
        return new PayloadFilter(must, should, mustNot);
    }

    private static List<Condition>? ParseConditions(JsonElement json, string path, int depth, List<Condition>? existing)
    {
        if (existing is not null)
            throw new FilterParseException(path, "duplicate field");
        switch (json.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.Object: // Qdrant also accepts a single condition in place of a list
                return [ParseCondition(json, path, depth)];
            case JsonValueKind.Array:
                var list = new List<Condition>(json.GetArrayLength());
                int i = 0;
                foreach (var element in json.EnumerateArray())
                    list.Add(ParseCondition(element, $"{path}[{i++}]", depth));
                return list;
            default:
                throw new FilterParseException(path, "expected an array of conditions");
        }
    }

    private static Condition ParseCondition(JsonElement json, string path, int depth)
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new FilterParseException(path, "expected a condition object");

        bool isFilter = true;
        foreach (var property in json.EnumerateObject())
        {
            if (!FilterKeys.Contains(property.Name))
            {
                isFilter = false;
                break;
            }
        }
        if (isFilter) // includes {}: an empty filter, which always holds
            return new Nested(ParseFilter(json, path, depth + 1));

        if (json.TryGetProperty("has_id", out var ids))
        {
            RejectOthers(json, path, "has_id");
            return new HasId(ParseIds(ids, path + ".has_id"));
        }
        if (json.TryGetProperty("is_empty", out var isEmpty))
        {
            RejectOthers(json, path, "is_empty");
            return new IsEmpty(ParseKeyObject(isEmpty, path + ".is_empty"));
        }
        if (json.TryGetProperty("is_null", out var isNull))
        {
            RejectOthers(json, path, "is_null");
            return new IsNull(ParseKeyObject(isNull, path + ".is_null"));
        }
        if (json.TryGetProperty("key", out _))
            return ParseFieldCondition(json, path);

        foreach (var property in json.EnumerateObject())
        {
            string at = path + "." + property.Name;
            switch (property.Name)
            {
                case "nested": throw new FilterParseException(at, "nested object filters are not supported");
                case "has_vector": throw new FilterParseException(at, "has_vector is not supported");
                case "must" or "should" or "must_not" or "min_should":
                    throw new FilterParseException(at, "a nested filter cannot be mixed with other condition fields");
            }
        }
        throw new FilterParseException(path,
            "expected a condition: a field condition (key with match or range), has_id, is_empty, is_null or a nested filter");
    }

    private static void RejectOthers(JsonElement json, string path, string name)
    {
        foreach (var property in json.EnumerateObject())
        {
            if (property.Name != name)
                throw new FilterParseException(path + "." + property.Name, $"unexpected field next to {name}");
        }
    }

    private static Condition ParseFieldCondition(JsonElement json, string path)
    {
        string? key = null;
        JsonElement? match = null, range = null;
        int kinds = 0;
        foreach (var property in json.EnumerateObject())
        {
            string at = path + "." + property.Name;
            switch (property.Name)
            {
                case "key":
                    key = ParseKey(property.Value, at);
                    break;
                case "match":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                        break;
                    match = property.Value;
                    kinds++;
                    break;
                case "range":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                        break;
                    range = property.Value;
                    kinds++;
                    break;
                case "geo_bounding_box" or "geo_radius" or "geo_polygon" or "values_count" or "datetime_range":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                        throw new FilterParseException(at, $"{property.Name} conditions are not supported");
                    break;
                case "is_empty" or "is_null":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                        throw new FilterParseException(at, $"is_empty and is_null take the form {{\"{property.Name}\": {{\"key\": ...}}}}");
                    break;
                default:
                    throw new FilterParseException(at, "unknown field in a field condition");
            }
        }
        if (kinds == 0)
            throw new FilterParseException(path, "a field condition needs match or range");
        if (kinds > 1)
            throw new FilterParseException(path, "a field condition takes only one of match or range");
        return match is { } m ? ParseMatch(m, path + ".match", key!) : ParseRange(range!.Value, path + ".range", key!);
    }

    private static string ParseKey(JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.String)
            throw new FilterParseException(path, "expected a string");
        string key = json.GetString()!;
        if (KeyPath.TryParse(key, out string? problem) is null)
            throw new FilterParseException(path, problem!);
        return key;
    }

    private static string ParseKeyObject(JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new FilterParseException(path, "expected an object with a key");
        string? key = null;
        foreach (var property in json.EnumerateObject())
        {
            if (property.Name != "key")
                throw new FilterParseException(path + "." + property.Name, "unknown field (expected only key)");
            key = ParseKey(property.Value, path + ".key");
        }
        return key ?? throw new FilterParseException(path, "missing key");
    }

    private static Condition ParseMatch(JsonElement json, string path, string key)
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new FilterParseException(path, "expected an object with value, any or except");
        Condition? result = null;
        foreach (var property in json.EnumerateObject())
        {
            string at = path + "." + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Null)
                continue;
            Condition next = property.Name switch
            {
                "value" => new FieldMatch(key, ParseMatchValue(property.Value, at)),
                "any" => new FieldMatchAny(key, ParseMatchValues(property.Value, at)),
                "except" => new FieldMatchExcept(key, ParseMatchValues(property.Value, at)),
                "text" or "text_any" or "phrase" => throw new FilterParseException(at, "full-text match is not supported"),
                _ => throw new FilterParseException(at, "unknown field (expected value, any or except)"),
            };
            if (result is not null)
                throw new FilterParseException(at, "match takes only one of value, any or except");
            result = next;
        }
        return result ?? throw new FilterParseException(path, "expected one of value, any or except");
    }

    private static MatchValue ParseMatchValue(JsonElement json, string path)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.String:
                return MatchValue.FromString(json.GetString()!);
            case JsonValueKind.True:
                return MatchValue.FromBool(true);
            case JsonValueKind.False:
                return MatchValue.FromBool(false);
            case JsonValueKind.Number when json.TryGetInt64(out long n):
                return MatchValue.FromInteger(n);
            case JsonValueKind.Number:
                throw new FilterParseException(path, "expected an integer (match does not compare fractional numbers; use range)");
            default:
                throw new FilterParseException(path, "expected a string, an integer or a boolean");
        }
    }

    private static List<MatchValue> ParseMatchValues(JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.Array)
            throw new FilterParseException(path, "expected an array of strings or integers");
        var values = new List<MatchValue>(json.GetArrayLength());
        int i = 0;
        foreach (var element in json.EnumerateArray())
            values.Add(ParseMatchValue(element, $"{path}[{i++}]"));
        return values;
    }

    private static FieldRange ParseRange(JsonElement json, string path, string key)
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new FilterParseException(path, "expected an object with gt, gte, lt or lte");
        double? gt = null, gte = null, lt = null, lte = null;
        foreach (var property in json.EnumerateObject())
        {
            string at = path + "." + property.Name;
            double? bound = ParseBound(property.Value, at);
            switch (property.Name)
            {
                case "gt": gt = bound; break;
                case "gte": gte = bound; break;
                case "lt": lt = bound; break;
                case "lte": lte = bound; break;
                default: throw new FilterParseException(at, "unknown field (expected gt, gte, lt or lte)");
            }
        }
        return new FieldRange(key, gt, gte, lt, lte);
    }

    private static double? ParseBound(JsonElement json, string path)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.Number when json.TryGetDouble(out double d) && double.IsFinite(d):
                return d;
            case JsonValueKind.Number:
                throw new FilterParseException(path, "expected a finite number");
            case JsonValueKind.String:
                throw new FilterParseException(path, "expected a number (datetime ranges are not supported)");
            default:
                throw new FilterParseException(path, "expected a number");
        }
    }

    private static List<PointId> ParseIds(JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.Array)
            throw new FilterParseException(path, "expected an array of point ids");
        var ids = new List<PointId>(json.GetArrayLength());
        int i = 0;
        foreach (var element in json.EnumerateArray())
        {
            string at = $"{path}[{i++}]";
            if (element.ValueKind == JsonValueKind.Number && element.TryGetUInt64(out ulong n))
                ids.Add(new PointId(n));
            else if (element.ValueKind == JsonValueKind.String && element.GetString() is { Length: > 0 } s)
                ids.Add(new PointId(s));
            else
                throw new FilterParseException(at, "expected an unsigned integer or a non-empty string");
        }
        return ids;
    }
}
