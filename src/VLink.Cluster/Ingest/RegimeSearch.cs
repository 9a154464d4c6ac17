using System.Globalization;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Ingest;

/// <summary>
/// An analyst's question: the k windows nearest to a regime vector — given directly, or as the vector of a market at a
/// time — optionally only in some markets and with window ends in a time range.
/// </summary>
/// <param name="Collection">The regime collection.</param>
/// <param name="Vector">The query vector, or null when a reference is given.</param>
/// <param name="ReferenceMarket">The reference's market (with <paramref name="ReferenceAt"/>), or null.</param>
/// <param name="ReferenceAt">The reference time (UTC ticks): the window of the market's latest bar starting at or before it.</param>
/// <param name="K">Matches wanted.</param>
/// <param name="Markets">Only these markets, or null for all.</param>
/// <param name="From">Only windows ending at or after this time (UTC ticks), or null.</param>
/// <param name="To">Only windows ending at or before this time (UTC ticks), or null.</param>
/// <param name="Exact">Exact scan (true) or the HNSW graph.</param>
/// <param name="Distinct">
/// Distinct episodes (true by default): no two matches of one market whose windows overlap or lie within
/// <paramref name="MinGap"/> bars of each other; the nearer one stays (see <see cref="RegimeEpisodes"/>).
/// </param>
/// <param name="MinGap">Further bars two matches of one market must be apart, beyond not overlapping.</param>
public sealed record RegimeQuery(
    string Collection,
    float[]? Vector,
    string? ReferenceMarket,
    long? ReferenceAt,
    int K,
    IReadOnlyList<string>? Markets = null,
    long? From = null,
    long? To = null,
    bool Exact = true,
    bool Distinct = true,
    int MinGap = 0);

/// <summary>The forward outcome of a window over one horizon, when known.</summary>
/// <param name="Horizon">Bars after the window.</param>
/// <param name="Return">Log return over the horizon, or null while unknown.</param>
/// <param name="Volatility">Realised per-bar volatility over the horizon, or null while unknown.</param>
public sealed record ForwardOutcome(int Horizon, double? Return, double? Volatility);

/// <summary>One window: its market, bounds, bar number, and forward outcomes.</summary>
/// <param name="Id">The point id.</param>
/// <param name="Market">The market.</param>
/// <param name="WindowStart">Window start (UTC ticks).</param>
/// <param name="WindowEnd">Window end (UTC ticks).</param>
/// <param name="Bar">The bar number of the window's last bar.</param>
/// <param name="Distance">Distance to the query (0 for the reference itself).</param>
/// <param name="Forward">Outcomes per horizon.</param>
public sealed record RegimeWindow(PointId Id, string Market, long WindowStart, long WindowEnd, long Bar, float Distance, IReadOnlyList<ForwardOutcome> Forward);

/// <summary>Distribution of one quantity over the matches that know it.</summary>
/// <param name="Count">Matches that know it.</param>
/// <param name="Mean">Mean.</param>
/// <param name="Median">Median.</param>
/// <param name="P10">10th percentile.</param>
/// <param name="P25">25th percentile.</param>
/// <param name="P75">75th percentile.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="Min">Smallest.</param>
/// <param name="Max">Largest.</param>
public sealed record Distribution(int Count, double Mean, double Median, double P10, double P25, double P75, double P90, double Min, double Max)
{
    /// <summary>The distribution of <paramref name="values"/> (quantiles by linear interpolation), or null when empty.</summary>
    public static Distribution? Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return null;
        double Q(double p)
        {
            double h = (sorted.Length - 1) * p;
            int lo = (int)Math.Floor(h);
            int hi = Math.Min(lo + 1, sorted.Length - 1);
            return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
        }
        return new Distribution(sorted.Length, sorted.Average(), Q(0.5), Q(0.1), Q(0.25), Q(0.75), Q(0.9), sorted[0], sorted[^1]);
    }
}

/// <summary>What happened after the matched windows, over one horizon.</summary>
/// <param name="Horizon">Bars after the window.</param>
/// <param name="Known">Matches whose outcome is known (later bars exist).</param>
/// <param name="Return">Distribution of forward log returns.</param>
/// <param name="Volatility">Distribution of forward realised volatility.</param>
/// <param name="PositiveFraction">Share of known forward returns above zero.</param>
/// <param name="Base">The base rate: the same markets' forward outcomes over the same period, whatever their windows.</param>
public sealed record HorizonSummary(int Horizon, int Known, Distribution? Return, Distribution? Volatility, double? PositiveFraction, BaseRateSummary? Base = null);

/// <summary>
/// The unconditional forward outcomes over one horizon: every window of the markets searched (those asked for, or all)
/// ending in the time range asked for (or ever), whether it matched or not — what the matches are to be compared with.
/// </summary>
/// <param name="Known">Windows whose outcome is known.</param>
/// <param name="MeanReturn">Mean forward log return, or null when none is known.</param>
/// <param name="PositiveFraction">Share of forward returns above zero, or null.</param>
/// <param name="MeanVolatility">Mean forward realised volatility, or null.</param>
public sealed record BaseRateSummary(long Known, double? MeanReturn, double? PositiveFraction, double? MeanVolatility);

/// <summary>The answer: the reference (when asked by market and time), the matches nearest first, and what followed them.</summary>
/// <param name="Reference">The reference window, or null for a vector query.</param>
/// <param name="Matches">Nearest first.</param>
/// <param name="Distance">Distribution of the matches' distances.</param>
/// <param name="Horizons">Per outcome horizon.</param>
/// <param name="Complete">Whether every market answered.</param>
/// <param name="MissingPartitions">The partitions that did not.</param>
public sealed record RegimeSearchResult(
    RegimeWindow? Reference,
    IReadOnlyList<RegimeWindow> Matches,
    Distribution? Distance,
    IReadOnlyList<HorizonSummary> Horizons,
    bool Complete,
    IReadOnlyList<string> MissingPartitions);

/// <summary>A regime query that cannot be answered as asked; <see cref="Field"/> names the request field.</summary>
public sealed class RegimeQueryException(string field, string problem, bool notFound = false) : Exception($"{field}: {problem}")
{
    /// <summary>The request field at fault (<c>reference.at</c>).</summary>
    public string Field { get; } = field;

    /// <summary>What is wrong.</summary>
    public string Problem { get; } = problem;

    /// <summary>True when the query is well formed but names something that does not exist (404).</summary>
    public bool NotFound { get; } = notFound;
}

/// <summary>
/// Answers regime queries through the Gather Engine: resolves a reference (market, time) to its vector, searches with
/// the filter inside each partition — the markets and time range asked for, and never a window of the reference's
/// market that overlaps the reference window (a moment is not its own best match) — then reads the matches' payloads
/// and summarises their forward outcomes. One deadline covers the three steps (the search keeps a margin for the
/// payloads); markets that do not answer in time are named in the answer, and the others' matches are returned.
/// </summary>
public sealed class RegimeSearch(VLinkNode node)
{
    /// <summary>Answers <paramref name="query"/>.</summary>
    /// <param name="query">The question.</param>
    /// <param name="cancellationToken">Cancels the search and its asks.</param>
    /// <param name="timeout">How long the whole answer may take; the gather timeout when null.</param>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="RegimeQueryException">The query does not fit the collection or names an unknown market or time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<RegimeSearchResult> SearchAsync(RegimeQuery query, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var deadline = node.Gather.Deadline(timeout, cancellationToken);
        var entry = await node.Gather.CollectionAsync(query.Collection, deadline).ConfigureAwait(false);
        var regime = entry.Spec.Regime ?? throw new RegimeQueryException("collection", $"collection '{query.Collection}' is not a regime collection");
        var features = regime.Features();
        var horizons = features.OutcomeHorizons;
        var margin = ReadDeadline.Margin(deadline.Timeout);

        RegimeWindow? reference = null;
        float[] vector;
        if (query.Vector is { } given)
        {
            if (given.Length != features.Dimension)
                throw new RegimeQueryException("vector", $"wrong vector dimension: expected {features.Dimension}, got {given.Length}");
            vector = given;
        }
        else
        {
            string market = query.ReferenceMarket ?? throw new RegimeQueryException("reference.market", "is required");
            long at = query.ReferenceAt ?? throw new RegimeQueryException("reference.at", "is required");
            if (!entry.Keys.Contains(market)) throw new RegimeQueryException("reference.market", $"no market '{market}' in collection '{entry.Spec.Name}'", notFound: true);
            var found = await node.Partitions.Ask<PointsFound>(new FindRegimeVector(entry.Partition(market), at), Max(deadline.Left, margin), cancellationToken).ConfigureAwait(false);
            if (found.Points.Count == 0 || found.Points[0].Vector is null)
                throw new RegimeQueryException("reference.at", $"market '{market}' has no regime vector at or before {Iso(at)} (a window needs {features.BarsBeforeFirstVector} bars)", notFound: true);
            var point = found.Points[0];
            reference = Window(point.Id, point.Payload, 0f, horizons) ?? throw new RegimeQueryException("reference.at", "the reference window has no payload");
            vector = point.Vector!;
        }

        if (query.MinGap < 0) throw new RegimeQueryException("min_gap", $"must not be negative, got {query.MinGap}");
        int apart = query.Distinct ? features.Window + query.MinGap : features.Window;
        var filter = Filter(query, reference, apart);
        // The base rate does not depend on the matches: it is asked beside the search, within the search's share of the deadline.
        var baseMissing = new SortedSet<string>(StringComparer.Ordinal);
        var baseRateTask = BaseRateAsync(entry, query, horizons, Max(deadline.Left - margin, TimeSpan.FromMilliseconds(1)), baseMissing, cancellationToken);
        // Distinct episodes keep the nearest window of each episode: candidates are fetched beyond k, and more (four
        // times as many each round) while the rule leaves fewer than k of a full page. The rule applied to the best n
        // candidates keeps what it keeps of all of them once k are kept, so the k matches are the k best under it.
        int fetch = query.Distinct ? Math.Max(4 * query.K, query.K + 16) : query.K;
        var payloads = new Dictionary<PointId, byte[]?>();
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        List<RegimeWindow> matches;
        while (true)
        {
            var result = await node.Gather.SearchAsync(entry.Spec.Name, vector, fetch, null, query.Exact, cancellationToken, filter,
                timeout: Max(deadline.Left - margin, margin)).ConfigureAwait(false);
            missing.UnionWith(result.MissingPartitions);
            var ids = result.Hits.Select(h => h.Id).Where(id => !payloads.ContainsKey(id)).ToList();
            if (ids.Count > 0)
            {
                // The markets the search did not hear from hold none of its matches: they are not asked again.
                var read = await node.ReadPointsAsync(entry, ids, withVector: false, timeout: Max(deadline.Left, margin),
                    cancellationToken: cancellationToken, skip: result.MissingPartitions).ConfigureAwait(false);
                foreach (var p in read.Value.Values) payloads[p.Id] = p.Payload;
                missing.UnionWith(read.MissingPartitions);
            }
            var ranked = new List<RegimeWindow>(result.Hits.Count);
            foreach (var hit in result.Hits)
            {
                if (Window(hit.Id, payloads.GetValueOrDefault(hit.Id), hit.Distance, horizons) is { } window) ranked.Add(window);
            }
            if (!query.Distinct)
            {
                matches = ranked;
                break;
            }
            matches = RegimeEpisodes.Distinct(ranked, features.Window, query.MinGap, query.K);
            // A partial round is final: another would wait for the same silent partitions past the deadline.
            if (matches.Count >= query.K || result.Hits.Count < fetch || fetch >= MaxFetch || deadline.Left <= margin
                || result.MissingPartitions.Count > 0) break;
            fetch = (int)Math.Min(MaxFetch, 4L * fetch);
        }
        var baseRate = await baseRateTask.ConfigureAwait(false);
        missing.UnionWith(baseMissing);
        var summary = horizons.Select((h, i) =>
        {
            var known = matches.Select(m => m.Forward.First(f => f.Horizon == h)).Where(f => f.Return is not null).ToList();
            return new HorizonSummary(h, known.Count,
                Distribution.Of(known.Select(f => f.Return!.Value)),
                Distribution.Of(known.Where(f => f.Volatility is not null).Select(f => f.Volatility!.Value)),
                known.Count == 0 ? null : known.Count(f => f.Return > 0) / (double)known.Count,
                baseRate[i]);
        }).ToList();
        return new RegimeSearchResult(reference, matches, Distribution.Of(matches.Select(m => (double)m.Distance)), summary, missing.Count == 0, [.. missing]);
    }

    // The base rate over the markets searched and the time range asked for, summed over their partitions; a market that
    // does not answer in time is named missing (the base rate then holds the others).
    private async Task<BaseRateSummary[]> BaseRateAsync(CollectionEntry entry, RegimeQuery query, IReadOnlyList<int> horizons, TimeSpan wait,
        SortedSet<string> missing, CancellationToken cancellationToken)
    {
        var markets = query.Markets is { Count: > 0 } asked ? asked.Where(entry.Keys.Contains).Distinct().ToList() : [.. entry.Keys];
        double? from = query.From is { } f ? Unix(f) : null, to = query.To is { } t ? Unix(t) : null;
        var answers = await Task.WhenAll(markets.Select(async market =>
        {
            var partition = entry.Partition(market);
            try
            {
                return await node.Partitions.Ask<BaseRate>(new GetBaseRate(partition, from, to, [.. horizons]), wait, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AskTimeoutException or InvalidOperationException)
            {
                lock (missing) missing.Add(partition.EntityId);
                return null;
            }
        })).ConfigureAwait(false);
        return [.. horizons.Select((h, i) =>
        {
            long known = 0, positive = 0;
            double returns = 0, volatilities = 0;
            foreach (var answer in answers)
            {
                if (answer?.Horizons.FirstOrDefault(x => x.Horizon == h) is not { } sums) continue;
                known += sums.Known;
                positive += sums.Positive;
                returns += sums.ReturnSum;
                volatilities += sums.VolatilitySum;
            }
            return known == 0
                ? new BaseRateSummary(0, null, null, null)
                : new BaseRateSummary(known, returns / known, positive / (double)known, volatilities / known);
        })];
    }

    /// <summary>The most candidates one distinct-episode search fetches.</summary>
    private const int MaxFetch = 65_536;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The ISO 8601 form of UTC ticks.</summary>
    public static string Iso(long ticks) =>
        new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    // Markets and time range as must conditions; the reference's overlapping windows (same market, last bars fewer
    // than a window apart, or than a window and the minimum gap for distinct episodes) as a must_not.
    private static byte[]? Filter(RegimeQuery query, RegimeWindow? reference, int window)
    {
        var must = new List<string>();
        if (query.Markets is { Count: > 0 } markets)
            must.Add("{\"key\":\"market\",\"match\":{\"any\":" + JsonSerializer.Serialize(markets) + "}}");
        if (query.From is not null || query.To is not null)
        {
            var range = new List<string>();
            if (query.From is { } from) range.Add($"\"gte\":{Unix(from).ToString(CultureInfo.InvariantCulture)}");
            if (query.To is { } to) range.Add($"\"lte\":{Unix(to).ToString(CultureInfo.InvariantCulture)}");
            must.Add("{\"key\":\"window_end_unix\",\"range\":{" + string.Join(",", range) + "}}");
        }
        string? mustNot = null;
        if (reference is not null)
        {
            long lo = reference.Bar - window + 1, hi = reference.Bar + window - 1;
            mustNot = "[{\"must\":[{\"key\":\"market\",\"match\":{\"value\":" + JsonSerializer.Serialize(reference.Market) + "}},"
                + string.Create(CultureInfo.InvariantCulture, $"{{\"key\":\"bar\",\"range\":{{\"gte\":{lo},\"lte\":{hi}}}}}]}}]");
        }
        if (must.Count == 0 && mustNot is null) return null;
        var json = new StringBuilder("{");
        if (must.Count > 0) json.Append("\"must\":[").Append(string.Join(",", must)).Append(']');
        if (mustNot is not null) json.Append(must.Count > 0 ? "," : "").Append("\"must_not\":").Append(mustNot);
        json.Append('}');
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    private static double Unix(long ticks) => (ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerSecond;

    private static RegimeWindow? Window(PointId id, byte[]? payload, float distance, IReadOnlyList<int> horizons)
    {
        if (payload is null) return null;
        using var doc = JsonDocument.Parse(payload);
        var root = doc.RootElement;
        if (!root.TryGetProperty("market", out var market) || !root.TryGetProperty("window_start", out var start) ||
            !root.TryGetProperty("window_end", out var end) || !root.TryGetProperty("bar", out var bar))
            return null;
        static double? Number(JsonElement root, string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var forward = horizons.Select(h => new ForwardOutcome(h,
            Number(root, Core.Regimes.RegimeFeatureSet.ForwardReturnKey(h)),
            Number(root, Core.Regimes.RegimeFeatureSet.ForwardVolatilityKey(h)))).ToList();
        return new RegimeWindow(id, market.GetString()!, Ticks(start.GetString()!), Ticks(end.GetString()!), bar.GetInt64(), distance, forward);
    }

    private static long Ticks(string iso) =>
        DateTime.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal).Ticks;
}
