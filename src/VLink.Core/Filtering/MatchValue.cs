using System.Globalization;
using System.Text.Json;

namespace VLink.Core.Filtering;

/// <summary>The kind of value a <see cref="MatchValue"/> holds.</summary>
public enum MatchValueKind
{
    /// <summary>A string (Qdrant's keyword match).</summary>
    String,

    /// <summary>A signed 64-bit integer.</summary>
    Integer,

    /// <summary>A boolean.</summary>
    Bool,
}

/// <summary>
/// A value to match a payload field against exactly: a string, an integer or a boolean, as in Qdrant's
/// <c>match.value</c>. Strings compare ordinally; integers match only integral JSON numbers (not <c>1.5</c> or <c>1e2</c>).
/// </summary>
public readonly struct MatchValue : IEquatable<MatchValue>
{
    private readonly string? _text;
    private readonly long _integer;

    private MatchValue(MatchValueKind kind, string? text, long integer)
    {
        Kind = kind;
        _text = text;
        _integer = integer;
    }

    /// <summary>What the value is.</summary>
    public MatchValueKind Kind { get; }

    /// <summary>The string, when <see cref="Kind"/> is <see cref="MatchValueKind.String"/>; otherwise null.</summary>
    public string? Text => Kind == MatchValueKind.String ? _text : null;

    /// <summary>The integer, when <see cref="Kind"/> is <see cref="MatchValueKind.Integer"/>.</summary>
    public long Integer => Kind == MatchValueKind.Integer ? _integer : 0;

    /// <summary>The boolean, when <see cref="Kind"/> is <see cref="MatchValueKind.Bool"/>.</summary>
    public bool Bool => Kind == MatchValueKind.Bool && _integer != 0;

    /// <summary>A string value.</summary>
    /// <exception cref="ArgumentNullException">The string is null.</exception>
    public static MatchValue FromString(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new MatchValue(MatchValueKind.String, text, 0);
    }

    /// <summary>An integer value.</summary>
    public static MatchValue FromInteger(long value) => new(MatchValueKind.Integer, null, value);

    /// <summary>A boolean value.</summary>
    public static MatchValue FromBool(bool value) => new(MatchValueKind.Bool, null, value ? 1 : 0);

    /// <summary>Implicit conversion from a string.</summary>
    public static implicit operator MatchValue(string text) => FromString(text);

    /// <summary>Implicit conversion from an integer.</summary>
    public static implicit operator MatchValue(long value) => FromInteger(value);

    /// <summary>Implicit conversion from a boolean.</summary>
    public static implicit operator MatchValue(bool value) => FromBool(value);

    /// <summary>True when a single JSON value (not an array) equals this value. Does not allocate.</summary>
    public bool Matches(JsonElement value) => Kind switch
    {
        MatchValueKind.String => value.ValueKind == JsonValueKind.String && value.ValueEquals(_text),
        MatchValueKind.Integer => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) && n == _integer,
        _ => value.ValueKind == (_integer != 0 ? JsonValueKind.True : JsonValueKind.False),
    };

    /// <inheritdoc />
    public bool Equals(MatchValue other) =>
        Kind == other.Kind && _integer == other._integer && string.Equals(_text, other._text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is MatchValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, _integer, _text is null ? 0 : StringComparer.Ordinal.GetHashCode(_text));

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        MatchValueKind.String => _text!,
        MatchValueKind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        _ => _integer != 0 ? "true" : "false",
    };

    /// <summary>Equality.</summary>
    public static bool operator ==(MatchValue left, MatchValue right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(MatchValue left, MatchValue right) => !left.Equals(right);
}
