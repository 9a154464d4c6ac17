using System.Text.Json;
using VLink.Core.Indexing;

namespace VLink.Core.Filtering;

/// <summary>One clause of a <see cref="PayloadFilter"/>. Conditions are immutable and thread-safe.</summary>
public abstract class Condition
{
    private protected Condition()
    {
    }

    /// <summary>True when the point (its id and payload object) satisfies the condition.</summary>
    public abstract bool Matches(PointId id, JsonElement payload);
}

/// <summary>
/// A condition on the value(s) at a payload key. The key may be a dotted path (<c>meta.city</c>); when the value
/// there is an array, the condition holds if any element satisfies it (Qdrant's behaviour).
/// </summary>
public abstract class FieldCondition : Condition
{
    private readonly KeyPath _path;

    private protected FieldCondition(string key)
    {
        _path = KeyPath.Parse(key, nameof(key));
        Key = key;
    }

    /// <summary>The payload key, possibly a dotted path.</summary>
    public string Key { get; }

    /// <summary>Whether an array at the end of the path is tested element by element.</summary>
    private protected virtual bool FlattensArrays => true;

    /// <summary>Tests one value found at the key.</summary>
    internal abstract bool TestValue(JsonElement value);

    /// <summary>The result from whether any value passed and how many were tested.</summary>
    private protected virtual bool Combine(bool anyPassed, int tested) => anyPassed;

    /// <inheritdoc />
    public override bool Matches(PointId id, JsonElement payload)
    {
        int tested = 0;
        bool any = payload.ValueKind == JsonValueKind.Object && _path.Any(payload, this, FlattensArrays, ref tested);
        return Combine(any, tested);
    }
}

/// <summary>The value at the key equals the given string, integer or boolean (Qdrant's <c>match.value</c>).</summary>
public sealed class FieldMatch : FieldCondition
{
    /// <summary>Creates the condition.</summary>
    /// <exception cref="ArgumentException">The key is empty or malformed.</exception>
    public FieldMatch(string key, MatchValue value)
        : base(key) => Value = value;

    /// <summary>The value to equal.</summary>
    public MatchValue Value { get; }

    internal override bool TestValue(JsonElement value) => Value.Matches(value);
}

/// <summary>A set of match values with allocation-free membership tests for JSON values.</summary>
internal sealed class MatchValueSet
{
    private const int LinearStringLimit = 16;
    private readonly string[] _strings;
    private readonly HashSet<string>? _stringSet;
    private readonly HashSet<long> _integers = [];
    private readonly bool _true;
    private readonly bool _false;

    public MatchValueSet(IReadOnlyList<MatchValue> values)
    {
        var strings = new List<string>();
        foreach (var v in values)
        {
            switch (v.Kind)
            {
                case MatchValueKind.String: strings.Add(v.Text!); break;
                case MatchValueKind.Integer: _integers.Add(v.Integer); break;
                default:
                    if (v.Bool)
                        _true = true;
                    else
                        _false = true;
                    break;
            }
        }
        _strings = [.. strings.Distinct(StringComparer.Ordinal)];
        if (_strings.Length > LinearStringLimit)
            _stringSet = new HashSet<string>(_strings, StringComparer.Ordinal);
    }

    /// <summary>True when the (non-array) value equals one of the set's values.</summary>
    public bool Contains(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                if (_stringSet is not null)
                    return _stringSet.Contains(value.GetString()!); // large sets: one string per test
                foreach (string s in _strings)
                {
                    if (value.ValueEquals(s))
                        return true;
                }
                return false;
            case JsonValueKind.Number:
                return _integers.Count > 0 && value.TryGetInt64(out long n) && _integers.Contains(n);
            case JsonValueKind.True:
                return _true;
            case JsonValueKind.False:
                return _false;
            default:
                return false;
        }
    }
}

/// <summary>The value at the key equals one of the given values (Qdrant's <c>match.any</c>). An empty list matches nothing.</summary>
public sealed class FieldMatchAny : FieldCondition
{
    private readonly MatchValueSet _set;

    /// <summary>Creates the condition.</summary>
    /// <exception cref="ArgumentException">The key is empty or malformed.</exception>
    public FieldMatchAny(string key, IEnumerable<MatchValue> values)
        : base(key)
    {
        ArgumentNullException.ThrowIfNull(values);
        Values = [.. values];
        _set = new MatchValueSet(Values);
    }

    /// <summary>The accepted values.</summary>
    public IReadOnlyList<MatchValue> Values { get; }

    internal override bool TestValue(JsonElement value) => _set.Contains(value);
}

/// <summary>
/// The value at the key is none of the given values (Qdrant's <c>match.except</c>). For an array, at least one element
/// must be outside the list. A missing key, <c>null</c> or an empty array also satisfies it, as in Qdrant.
/// </summary>
public sealed class FieldMatchExcept : FieldCondition
{
    private readonly MatchValueSet _set;

    /// <summary>Creates the condition.</summary>
    /// <exception cref="ArgumentException">The key is empty or malformed.</exception>
    public FieldMatchExcept(string key, IEnumerable<MatchValue> values)
        : base(key)
    {
        ArgumentNullException.ThrowIfNull(values);
        Values = [.. values];
        _set = new MatchValueSet(Values);
    }

    /// <summary>The excluded values.</summary>
    public IReadOnlyList<MatchValue> Values { get; }

    internal override bool TestValue(JsonElement value) => !_set.Contains(value);

    private protected override bool Combine(bool anyPassed, int tested) => anyPassed || tested == 0;
}

/// <summary>
/// The numeric value at the key lies within the bounds (Qdrant's <c>range</c>); any subset of the bounds may be given.
/// Non-numeric values never match; with no bounds at all, any number matches.
/// </summary>
public sealed class FieldRange : FieldCondition
{
    /// <summary>Creates the condition.</summary>
    /// <exception cref="ArgumentException">The key is empty or malformed, or a bound is NaN.</exception>
    public FieldRange(string key, double? gt = null, double? gte = null, double? lt = null, double? lte = null)
        : base(key)
    {
        if ((gt.HasValue && double.IsNaN(gt.Value)) || (gte.HasValue && double.IsNaN(gte.Value))
            || (lt.HasValue && double.IsNaN(lt.Value)) || (lte.HasValue && double.IsNaN(lte.Value)))
            throw new ArgumentException("Range bounds must not be NaN.");
        Gt = gt;
        Gte = gte;
        Lt = lt;
        Lte = lte;
    }

    /// <summary>Exclusive lower bound.</summary>
    public double? Gt { get; }

    /// <summary>Inclusive lower bound.</summary>
    public double? Gte { get; }

    /// <summary>Exclusive upper bound.</summary>
    public double? Lt { get; }

    /// <summary>Inclusive upper bound.</summary>
    public double? Lte { get; }

    internal override bool TestValue(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double x))
            return false;
        return (!Gt.HasValue || x > Gt.Value) && (!Gte.HasValue || x >= Gte.Value)
            && (!Lt.HasValue || x < Lt.Value) && (!Lte.HasValue || x <= Lte.Value);
    }
}

/// <summary>The key is missing, <c>null</c>, or an empty array (or an array of nulls) — Qdrant's <c>is_empty</c>.</summary>
public sealed class IsEmpty : FieldCondition
{
    /// <summary>Creates the condition.</summary>
    /// <exception cref="ArgumentException">The key is empty or malformed.</exception>
    public IsEmpty(string key)
        : base(key)
    {
    }

    internal override bool TestValue(JsonElement value) => value.ValueKind != JsonValueKind.Null;

    private protected override bool Combine(bool anyPassed, int tested) => !anyPassed;
}

/// <summary>The key is present with the value <c>null</c> — Qdrant's <c>is_null</c>. A missing key or <c>[]</c> does not match.</summary>
public sealed class IsNull : FieldCondition
{
    /// <summary>Creates the condition.</summary>
    /// <exception cref="ArgumentException">The key is empty or malformed.</exception>
    public IsNull(string key)
        : base(key)
    {
    }

    private protected override bool FlattensArrays => false;

    internal override bool TestValue(JsonElement value) => value.ValueKind == JsonValueKind.Null;
}

/// <summary>The point's id is one of the given ids (Qdrant's <c>has_id</c>).</summary>
public sealed class HasId : Condition
{
    private readonly HashSet<PointId> _ids;

    /// <summary>Creates the condition.</summary>
    public HasId(params PointId[] ids)
        : this((IEnumerable<PointId>)ids)
    {
    }

    /// <summary>Creates the condition.</summary>
    public HasId(IEnumerable<PointId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        _ids = [.. ids];
    }

    /// <summary>The admitted ids.</summary>
    public IReadOnlyCollection<PointId> Ids => _ids;

    /// <inheritdoc />
    public override bool Matches(PointId id, JsonElement payload) => _ids.Contains(id);
}

/// <summary>A whole filter used as a condition, for nesting boolean logic.</summary>
public sealed class Nested : Condition
{
    /// <summary>Creates the condition.</summary>
    public Nested(PayloadFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Filter = filter;
    }

    /// <summary>The nested filter.</summary>
    public PayloadFilter Filter { get; }

    /// <inheritdoc />
    public override bool Matches(PointId id, JsonElement payload) => Filter.Matches(id, payload);
}
