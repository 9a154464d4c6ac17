using System.Globalization;

namespace VLink.Core.Indexing;

/// <summary>
/// The external id of a point, as Qdrant has them: an unsigned 64-bit integer or a string (typically a UUID).
/// Ids order numbers first (by value), then strings (ordinal); that order breaks distance ties everywhere.
/// </summary>
public readonly struct PointId : IEquatable<PointId>, IComparable<PointId>
{
    private readonly ulong _number;
    private readonly string? _text;

    /// <summary>Creates a numeric id.</summary>
    public PointId(ulong number)
    {
        _number = number;
        _text = null;
    }

    /// <summary>Creates a string id.</summary>
    /// <exception cref="ArgumentException">The string is null or empty.</exception>
    public PointId(string text)
    {
        if (string.IsNullOrEmpty(text))
            throw new ArgumentException("A string point id must not be empty.", nameof(text));
        _number = 0;
        _text = text;
    }

    /// <summary>True when the id is a number.</summary>
    public bool IsNumber => _text is null;

    /// <summary>The numeric value; only meaningful when <see cref="IsNumber"/>.</summary>
    public ulong Number => _number;

    /// <summary>The string value, or null for numeric ids.</summary>
    public string? Text => _text;

    /// <summary>Implicit conversion from a number.</summary>
    public static implicit operator PointId(ulong number) => new(number);

    /// <summary>Implicit conversion from a string.</summary>
    public static implicit operator PointId(string text) => new(text);

    /// <inheritdoc />
    public bool Equals(PointId other) => _number == other._number && string.Equals(_text, other._text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PointId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _text is null ? _number.GetHashCode() : StringComparer.Ordinal.GetHashCode(_text);

    /// <inheritdoc />
    public int CompareTo(PointId other)
    {
        if (_text is null)
            return other._text is null ? _number.CompareTo(other._number) : -1;
        return other._text is null ? 1 : string.CompareOrdinal(_text, other._text);
    }

    /// <inheritdoc />
    public override string ToString() => _text ?? _number.ToString(CultureInfo.InvariantCulture);

    /// <summary>Equality.</summary>
    public static bool operator ==(PointId left, PointId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PointId left, PointId right) => !left.Equals(right);

    /// <summary>Order: numbers before strings.</summary>
    public static bool operator <(PointId left, PointId right) => left.CompareTo(right) < 0;

    /// <summary>Order: numbers before strings.</summary>
    public static bool operator >(PointId left, PointId right) => left.CompareTo(right) > 0;

    /// <summary>Order: numbers before strings.</summary>
    public static bool operator <=(PointId left, PointId right) => left.CompareTo(right) <= 0;

    /// <summary>Order: numbers before strings.</summary>
    public static bool operator >=(PointId left, PointId right) => left.CompareTo(right) >= 0;
}
