using System.Text.Json;
using VLink.Core.Indexing;

namespace VLink.Core.Filtering;

/// <summary>
/// A Qdrant-style payload filter: every <see cref="Must"/> condition holds, at least one <see cref="Should"/> condition
/// holds when there are any, and no <see cref="MustNot"/> condition holds. An empty filter matches every point.
/// Immutable and thread-safe; evaluation walks the payload's <see cref="JsonElement"/> without re-parsing.
/// </summary>
public sealed class PayloadFilter
{
    /// <summary>The deepest nesting <see cref="Parse(JsonElement, string)"/> accepts (the top-level filter counts as 1).</summary>
    public const int MaxDepth = 32;

    /// <summary>JSON nesting accepted by <see cref="Parse(string, string)"/>: each filter level takes two JSON levels.</summary>
    private const int JsonDepthLimit = 4 * MaxDepth;

    private static readonly JsonElement EmptyPayload = JsonDocument.Parse("{}").RootElement;

    private readonly Condition[] _must;
    private readonly Condition[] _should;
    private readonly Condition[] _mustNot;

    /// <summary>Creates a filter; any list may be null (empty).</summary>
    public PayloadFilter(IEnumerable<Condition>? must = null, IEnumerable<Condition>? should = null, IEnumerable<Condition>? mustNot = null)
    {
        _must = Copy(must, nameof(must));
        _should = Copy(should, nameof(should));
        _mustNot = Copy(mustNot, nameof(mustNot));
    }

    /// <summary>The filter that matches everything.</summary>
    public static PayloadFilter Empty { get; } = new();

    /// <summary>Conditions that must all hold.</summary>
    public IReadOnlyList<Condition> Must => _must;

    /// <summary>Conditions of which at least one must hold, when non-empty.</summary>
    public IReadOnlyList<Condition> Should => _should;

    /// <summary>Conditions none of which may hold.</summary>
    public IReadOnlyList<Condition> MustNot => _mustNot;

    /// <summary>True when the filter has no conditions (matches everything).</summary>
    public bool IsEmpty => _must.Length == 0 && _should.Length == 0 && _mustNot.Length == 0;

    /// <summary>
    /// Parses Qdrant's JSON filter form (<c>{"must": [...], "should": [...], "must_not": [...]}</c>).
    /// </summary>
    /// <param name="json">The filter object.</param>
    /// <param name="path">The JSON path of <paramref name="json"/>, used as the prefix of error messages.</param>
    /// <exception cref="FilterParseException">Malformed or unsupported; the message names the JSON path of the problem.</exception>
    public static PayloadFilter Parse(JsonElement json, string path = "filter") => FilterParser.ParseFilter(json, path, 1);

    /// <summary>Parses Qdrant's JSON filter form from text.</summary>
    /// <exception cref="FilterParseException">Invalid JSON, or a malformed or unsupported filter.</exception>
    public static PayloadFilter Parse(string json, string path = "filter")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = JsonDepthLimit });
        }
        catch (JsonException e)
        {
            throw new FilterParseException(path, "invalid JSON: " + e.Message);
        }
        using (document)
            return Parse(document.RootElement, path);
    }

    /// <summary>True when the point satisfies the filter. A payload that is not an object behaves as <c>{}</c>.</summary>
    public bool Matches(PointId id, JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object)
            payload = EmptyPayload;
        foreach (var c in _must)
        {
            if (!c.Matches(id, payload))
                return false;
        }
        foreach (var c in _mustNot)
        {
            if (c.Matches(id, payload))
                return false;
        }
        if (_should.Length == 0)
            return true;
        foreach (var c in _should)
        {
            if (c.Matches(id, payload))
                return true;
        }
        return false;
    }

    /// <summary>True when the point satisfies the filter; a missing payload (null) behaves as <c>{}</c>.</summary>
    public bool Matches(PointId id, JsonElement? payload) => Matches(id, payload ?? EmptyPayload);

    private static Condition[] Copy(IEnumerable<Condition>? conditions, string paramName)
    {
        if (conditions is null)
            return [];
        Condition[] copy = [.. conditions];
        if (Array.IndexOf(copy, null) >= 0)
            throw new ArgumentException("Conditions must not be null.", paramName);
        return copy;
    }
}
