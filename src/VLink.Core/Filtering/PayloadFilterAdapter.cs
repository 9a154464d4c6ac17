using System.Text.Json;
using VLink.Core.Indexing;

namespace VLink.Core.Filtering;

/// <summary>
/// Runs a <see cref="PayloadFilter"/> inside an index traversal: each candidate's payload is fetched by the lookup and
/// the filter evaluated against it. Thread-safe as long as the lookup is.
/// </summary>
public sealed class PayloadFilterAdapter : IPointFilter
{
    private readonly PayloadFilter _filter;
    private readonly Func<PointId, JsonElement?> _payloadLookup;

    /// <summary>Creates the adapter.</summary>
    /// <param name="filter">The filter to evaluate.</param>
    /// <param name="payloadLookup">Returns a point's payload object, or null when it has none (treated as <c>{}</c>).</param>
    public PayloadFilterAdapter(PayloadFilter filter, Func<PointId, JsonElement?> payloadLookup)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(payloadLookup);
        _filter = filter;
        _payloadLookup = payloadLookup;
    }

    /// <summary>The filter evaluated.</summary>
    public PayloadFilter Filter => _filter;

    /// <inheritdoc />
    public bool Matches(PointId id) => _filter.Matches(id, _payloadLookup(id));
}
