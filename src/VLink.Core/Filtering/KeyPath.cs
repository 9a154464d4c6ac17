using System.Text;
using System.Text.Json;

namespace VLink.Core.Filtering;

/// <summary>
/// A parsed payload key: dot-separated object keys, where <c>name[]</c> steps into every element of an array
/// (Qdrant's <c>country.cities[].population</c>). An array met where an object key is expected is also stepped
/// through element by element. Names are pre-encoded to UTF-8 so lookups do not allocate.
/// </summary>
internal sealed class KeyPath
{
    private readonly Segment[] _segments;

    private KeyPath(Segment[] segments) => _segments = segments;

    private readonly record struct Segment(byte[]? Name); // Name null: "[]", every array element

    /// <summary>Parses a key; returns null and a problem description when the key is malformed.</summary>
    public static KeyPath? TryParse(string? key, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(key))
        {
            problem = "expected a non-empty key";
            return null;
        }
        var segments = new List<Segment>();
        foreach (string part in key.Split('.'))
        {
            string name = part;
            bool flatten = false;
            if (name.EndsWith("[]", StringComparison.Ordinal))
            {
                name = name[..^2];
                flatten = true;
            }
            if (name.Length == 0)
            {
                problem = $"key '{key}' has an empty segment";
                return null;
            }
            if (name.Contains('[') || name.Contains(']') || name.Contains('"'))
            {
                problem = $"key '{key}': only 'name[]' array steps are supported (no indices or quoted segments)";
                return null;
            }
            segments.Add(new Segment(Encoding.UTF8.GetBytes(name)));
            if (flatten)
                segments.Add(new Segment(null));
        }
        return new KeyPath([.. segments]);
    }

    /// <summary>Parses a key or throws <see cref="ArgumentException"/>.</summary>
    public static KeyPath Parse(string key, string paramName) =>
        TryParse(key, out string? problem) ?? throw new ArgumentException(problem, paramName);

    /// <summary>
    /// Visits the values at the path, flattening one array level at the end when <paramref name="flattenLast"/>,
    /// until the test holds. <paramref name="visited"/> counts the values tested.
    /// </summary>
    public bool Any(JsonElement root, FieldCondition condition, bool flattenLast, ref int visited) =>
        Walk(root, 0, condition, flattenLast, ref visited);

    private bool Walk(JsonElement node, int index, FieldCondition condition, bool flattenLast, ref int visited)
    {
        if (index == _segments.Length)
        {
            if (flattenLast && node.ValueKind == JsonValueKind.Array)
            {
                foreach (var element in node.EnumerateArray())
                {
                    visited++;
                    if (condition.TestValue(element))
                        return true;
                }
                return false;
            }
            visited++;
            return condition.TestValue(node);
        }

        byte[]? name = _segments[index].Name;
        switch (node.ValueKind)
        {
            case JsonValueKind.Object when name is not null:
                return node.TryGetProperty(name, out var child) && Walk(child, index + 1, condition, flattenLast, ref visited);
            case JsonValueKind.Array:
                int next = name is null ? index + 1 : index;
                foreach (var element in node.EnumerateArray())
                {
                    if (Walk(element, next, condition, flattenLast, ref visited))
                        return true;
                }
                return false;
            default:
                return false;
        }
    }
}
