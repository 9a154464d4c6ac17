using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Http.Metadata;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Ingest;
using VLink.Cluster.Protocol;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Server.Api;

/// <summary>
/// VLink's market routes: ingest ticks or bars (an HTTP batch, or a whole file streamed), list markets, configure a
/// regime collection, and the analyst's query <c>POST /regimes/search</c>.
/// </summary>
public static class MarketEndpoints
{
    /// <summary>The largest <c>k</c> of a regime search.</summary>
    public const int MaxK = 1000;

    private static readonly ConditionalWeakTable<VLinkNode, MarketIngest> Pipelines = [];

    /// <summary>Maps the market and regime routes.</summary>
    public static IEndpointRouteBuilder MapMarketEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/markets/{symbol}/ticks", (string symbol, HttpRequest request, VLinkNode node, CancellationToken ct) =>
            IngestBatchAsync(symbol, MarketRowKind.Ticks, request, node, ct)).RequireRole(VLinkRole.Write);
        app.MapPost("/markets/{symbol}/bars", (string symbol, HttpRequest request, VLinkNode node, CancellationToken ct) =>
            IngestBatchAsync(symbol, MarketRowKind.Bars, request, node, ct)).RequireRole(VLinkRole.Write);
        app.MapPost("/markets/ingest", IngestStreamAsync).RequireRole(VLinkRole.Write).WithMetadata(Unlimited.Instance);
        app.MapGet("/markets", ListAsync).RequireRole(VLinkRole.Read);
        app.MapGet("/markets/{symbol}", GetAsync).RequireRole(VLinkRole.Read);
        app.MapPut("/regimes/collections/{name}", CreateAsync).RequireRole(VLinkRole.Write);
        app.MapPost("/regimes/search", SearchAsync).RequireRole(VLinkRole.Read);
        return app;
    }

    private static MarketIngest PipelineOf(VLinkNode node) => Pipelines.GetValue(node, n => new MarketIngest(n));

    // ---- ingest ----

    private static async Task<IResult> IngestBatchAsync(string symbol, MarketRowKind kind, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        CheckMarket(symbol, "symbol");
        var query = request.Query;
        string? source = Text(query, "source");
        long sequence = 1;
        if (query.ContainsKey("sequence"))
        {
            if (source is null) throw ApiException.BadField("sequence", "needs a source: sequence numbers count per source");
            if (!long.TryParse(query["sequence"], NumberStyles.None, CultureInfo.InvariantCulture, out sequence) || sequence < 1)
                throw ApiException.BadField("sequence", "expected a positive integer");
        }
        string format = Text(query, "format") ?? FormatOf(request.ContentType);
        // Without a source the batch is its own producer: nothing to deduplicate against.
        source ??= "http:" + Guid.NewGuid().ToString("N");
        Stream body = request.Body;
        MarketFileFormat fileFormat;
        switch (format)
        {
            case "csv":
                fileFormat = MarketFileFormat.Csv;
                break;
            case "ndjson":
                fileFormat = MarketFileFormat.Ndjson;
                break;
            case "json":
                fileFormat = MarketFileFormat.Ndjson;
                body = await JsonArrayAsNdjsonAsync(request, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw ApiException.BadField("format", $"expected csv, ndjson or json, got '{format}'");
        }
        var options = Options(query, kind, fileFormat) with { Market = symbol, Source = source, SequenceOffset = sequence - 1 };
        var report = await RunAsync(node, body, source, options, "symbol", cancellationToken).ConfigureAwait(false);
        return Envelope.Ok(JsonNode.Parse(report.ToJson()), clock);
    }

    private static async Task<IResult> IngestStreamAsync(HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var query = request.Query;
        string? market = Text(query, "market");
        if (market is not null) CheckMarket(market, "market");
        var kind = Text(query, "kind") switch
        {
            null or "ticks" => MarketRowKind.Ticks,
            "bars" => MarketRowKind.Bars,
            var other => throw ApiException.BadField("kind", $"expected ticks or bars, got '{other}'"),
        };
        var format = (Text(query, "format") ?? FormatOf(request.ContentType)) switch
        {
            "csv" => MarketFileFormat.Csv,
            "ndjson" => MarketFileFormat.Ndjson,
            var other => throw ApiException.BadField("format", $"expected csv or ndjson, got '{other}'"),
        };
        string source = Text(query, "source") ?? "upload:" + Guid.NewGuid().ToString("N");
        var options = Options(query, kind, format) with { Market = market, Source = source };
        var report = await RunAsync(node, request.Body, source, options, "market", cancellationToken).ConfigureAwait(false);
        return Envelope.Ok(JsonNode.Parse(report.ToJson()), clock);
    }

    private static IngestOptions Options(IQueryCollection query, MarketRowKind kind, MarketFileFormat format)
    {
        string collection = Text(query, "collection") ?? RegimeSpec.DefaultCollection;
        CheckCollectionName(collection, "collection");
        var interval = Text(query, "bar_interval") is { } text ? ParseInterval(text, "bar_interval") : (TimeSpan?)null;
        var tolerance = Text(query, "tolerance") is { } tol ? ParseDuration(tol, "tolerance", allowZero: true) : (TimeSpan?)null;
        RegimeSpec? newCollection = interval is null && tolerance is null
            ? null
            : RegimeSpec.Default(interval ?? (kind == MarketRowKind.Bars ? TimeSpan.FromDays(1) : TimeSpan.FromMinutes(1)), tolerance);
        return new IngestOptions
        {
            Collection = collection,
            Kind = kind,
            Format = format,
            NewCollection = newCollection,
            File = new MarketFileOptions { PriceColumn = Text(query, "price_column") },
        };
    }

    private static async Task<IngestReport> RunAsync(VLinkNode node, Stream body, string source, IngestOptions options, string marketField, CancellationToken cancellationToken)
    {
        try
        {
            return await PipelineOf(node).IngestAsync(body, source, options, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw ApiException.BadField("body", e.Message);
        }
        catch (MarketIngestException e)
        {
            throw ApiException.BadField(marketField, e.Message);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("regime collection", StringComparison.Ordinal))
        {
            throw new ApiException(StatusCodes.Status409Conflict, "collection", "collection: " + e.Message);
        }
    }

    // A JSON array of row objects becomes NDJSON lines for the reader (element i is line i + 1).
    private static async Task<Stream> JsonArrayAsNdjsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadField("body", $"malformed JSON ({e.Message})");
        }
        using (document)
        {
            var rows = document.RootElement;
            if (rows.ValueKind == JsonValueKind.Object && rows.TryGetProperty("rows", out var inner)) rows = inner;
            if (rows.ValueKind != JsonValueKind.Array) throw ApiException.BadField("body", "expected a JSON array of rows (or NDJSON or CSV with their content type)");
            var buffer = new MemoryStream();
            foreach (var row in rows.EnumerateArray())
            {
                buffer.Write(Encoding.UTF8.GetBytes(row.GetRawText().ReplaceLineEndings(" ")));
                buffer.WriteByte((byte)'\n');
            }
            buffer.Position = 0;
            return buffer;
        }
    }

    // ---- configuration and inspection ----

    private static async Task<IResult> CreateAsync(string name, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        CheckCollectionName(name, "collection_name");
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        RequestJson.OnlyFields(root, "", "bar_interval", "tolerance", "feature_set", "replication_factor", "write_consistency_factor", "write_consistency");
        foreach (string field in new[] { "replication_factor", "write_consistency_factor", "write_consistency" })
            RequestJson.Unsupported(root, field, field, "regime collections have one replica each: replication is not supported for them yet");
        var interval = RequestJson.TryGet(root, "bar_interval", out var iv) ? ParseInterval(StringOf(iv, "bar_interval"), "bar_interval") : TimeSpan.FromDays(1);
        var tolerance = RequestJson.TryGet(root, "tolerance", out var tv) ? ParseDuration(StringOf(tv, "tolerance"), "tolerance", allowZero: true) : TimeSpan.Zero;
        string featureSet = RegimeFeatureSet.Default.Id;
        if (RequestJson.TryGet(root, "feature_set", out var fv))
        {
            featureSet = StringOf(fv, "feature_set");
            try
            {
                featureSet = RegimeFeatureSet.Parse(featureSet).Id;
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw ApiException.BadField("feature_set", e.Message);
            }
        }
        var spec = new RegimeSpec(featureSet, interval.Ticks, tolerance.Ticks);
        var existing = (await node.CatalogAsync().ConfigureAwait(false)).Find(name);
        if (existing is not null && existing.Spec.Regime != spec)
            throw new ApiException(StatusCodes.Status409Conflict, "collection_name", $"collection_name: collection '{name}' already exists with a different configuration");
        await PipelineOf(node).EnsureCollectionAsync(name, spec).ConfigureAwait(false);
        return Envelope.Ok(RegimeConfig(name, spec, existing is null), clock);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string collection = Text(request.Query, "collection") ?? RegimeSpec.DefaultCollection;
        var entry = (await node.CatalogAsync().ConfigureAwait(false)).Find(collection);
        var result = new JsonObject { ["collection"] = collection };
        var markets = new JsonArray();
        if (entry?.Spec.Regime is { } regime)
        {
            result = RegimeConfig(collection, regime, null);
            var stats = await Task.WhenAll(entry.Keys.Select(k =>
                node.Partitions.Ask<MarketStats>(new GetMarketStats(entry.Partition(k)), node.Settings.Gather.Timeout, cancellationToken))).ConfigureAwait(false);
            foreach (var s in stats) markets.Add(StatsJson(s, withSources: false));
        }
        else if (entry is not null)
        {
            throw new ApiException(StatusCodes.Status409Conflict, "collection", $"collection: '{collection}' is not a regime collection");
        }
        result["markets"] = markets;
        return Envelope.Ok(result, clock);
    }

    private static async Task<IResult> GetAsync(string symbol, HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string collection = Text(request.Query, "collection") ?? RegimeSpec.DefaultCollection;
        var entry = (await node.CatalogAsync().ConfigureAwait(false)).Find(collection);
        if (entry?.Spec.Regime is null || !entry.Keys.Contains(symbol))
            throw new ApiException(StatusCodes.Status404NotFound, "symbol", $"symbol: no market '{symbol}' in collection '{collection}'");
        var stats = await node.Partitions.Ask<MarketStats>(new GetMarketStats(entry.Partition(symbol)), node.Settings.Gather.Timeout, cancellationToken).ConfigureAwait(false);
        var result = StatsJson(stats, withSources: true);
        result["collection"] = collection;
        result["feature_set"] = entry.Spec.Regime.FeatureSet;
        result["bar_interval"] = Interval(entry.Spec.Regime.BarInterval);
        return Envelope.Ok(result, clock);
    }

    private static JsonObject RegimeConfig(string name, RegimeSpec spec, bool? created)
    {
        var o = new JsonObject
        {
            ["collection"] = name,
            ["feature_set"] = spec.FeatureSet,
            ["features"] = new JsonArray([.. spec.Features().Features.Select(f => (JsonNode)JsonValue.Create(f.Name))]),
            ["dimension"] = spec.Features().Dimension,
            ["window"] = spec.Features().Window,
            ["outcome_horizons"] = new JsonArray([.. spec.Features().OutcomeHorizons.Select(h => (JsonNode)JsonValue.Create(h))]),
            ["bar_interval"] = Interval(spec.BarInterval),
            ["tolerance"] = Interval(spec.Policy.Tolerance),
        };
        if (created is { } c) o["created"] = c;
        return o;
    }

    private static JsonObject StatsJson(MarketStats s, bool withSources)
    {
        var o = new JsonObject
        {
            ["market"] = s.Partition.Key,
            ["ticks"] = s.Ticks,
            ["bars"] = s.Bars,
            ["vectors"] = s.Vectors,
            ["rejected"] = s.Rejected,
            ["first_bar_start"] = Time(s.FirstBarStart),
            ["last_bar_end"] = Time(s.LastBarEnd),
            ["watermark"] = Time(s.Watermark),
            ["open_bars"] = s.OpenBars,
        };
        if (withSources)
        {
            var sources = new JsonObject();
            foreach (var (source, sequence) in s.Sources) sources[source] = sequence;
            o["sources"] = sources;
        }
        return o;
    }

    // ---- search ----

    private static async Task<IResult> SearchAsync(HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = ReadOptions.Of(request);
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        RequestJson.OnlyFields(root, "", "collection", "vector", "reference", "k", "limit", "markets", "from", "to", "exact", "distinct", "min_gap");
        string collection = RequestJson.TryGet(root, "collection", out var cv) ? StringOf(cv, "collection") : RegimeSpec.DefaultCollection;
        var entry = await node.Gather.CollectionAsync(collection).ConfigureAwait(false);
        var regime = entry.Spec.Regime ?? throw ApiException.BadField("collection", $"'{collection}' is not a regime collection");
        bool hasVector = RequestJson.TryGet(root, "vector", out _);
        bool hasReference = RequestJson.TryGet(root, "reference", out var reference);
        if (hasVector == hasReference) throw ApiException.BadField("vector", "give either vector or reference, exactly one");
        float[]? vector = hasVector ? RequestJson.RequireVector(root, "vector", "vector", regime.Features().Dimension, nonZero: false) : null;
        string? market = null;
        long? at = null;
        if (hasReference)
        {
            if (reference.ValueKind != JsonValueKind.Object) throw ApiException.BadField("reference", "expected {\"market\": ..., \"at\": ...}");
            RequestJson.OnlyFields(reference, "reference", "market", "at");
            market = RequestJson.TryGet(reference, "market", out var mv) ? StringOf(mv, "reference.market") : throw ApiException.BadField("reference.market", "is required");
            at = RequestJson.TryGet(reference, "at", out var av) ? TimeOf(av, "reference.at") : throw ApiException.BadField("reference.at", "is required");
        }
        int k = RequestJson.OptionalInt(root, "k", "k", 1, MaxK) ?? RequestJson.OptionalInt(root, "limit", "limit", 1, MaxK) ?? 10;
        List<string>? markets = null;
        if (RequestJson.TryGet(root, "markets", out var ms))
        {
            if (ms.ValueKind != JsonValueKind.Array || ms.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String))
                throw ApiException.BadField("markets", "expected an array of market names");
            markets = [.. ms.EnumerateArray().Select(m => m.GetString()!)];
        }
        long? from = RequestJson.TryGet(root, "from", out var fv) ? TimeOf(fv, "from") : null;
        long? to = RequestJson.TryGet(root, "to", out var tv) ? TimeOf(tv, "to") : null;
        if (from > to) throw ApiException.BadField("from", "is after to");
        bool exact = RequestJson.OptionalBool(root, "exact", "exact") ?? true;
        bool distinct = RequestJson.OptionalBool(root, "distinct", "distinct") ?? true;
        int minGap = RequestJson.OptionalInt(root, "min_gap", "min_gap", 0, 1_000_000) ?? 0;
        if (!distinct && minGap > 0) throw ApiException.BadField("min_gap", "applies to distinct episodes; it cannot be given with \"distinct\": false");

        RegimeSearchResult result;
        try
        {
            result = await new RegimeSearch(node).SearchAsync(new RegimeQuery(collection, vector, market, at, k, markets, from, to, exact, distinct, minGap), cancellationToken, options.Timeout).ConfigureAwait(false);
        }
        catch (RegimeQueryException e)
        {
            throw new ApiException(e.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, e.Field, e.Message);
        }
        options.Check(result.MissingPartitions);
        var body = new JsonObject
        {
            ["reference"] = result.Reference is { } r ? WindowJson(r, withDistance: false) : null,
            ["matches"] = new JsonArray([.. result.Matches.Select(m => (JsonNode)WindowJson(m, withDistance: true))]),
            ["summary"] = SummaryJson(result),
            ["complete"] = result.Complete,
            ["missing_partitions"] = new JsonArray([.. result.MissingPartitions.Select(p => (JsonNode)JsonValue.Create(p))]),
        };
        return Envelope.Ok(body, clock);
    }

    private static JsonObject WindowJson(RegimeWindow w, bool withDistance)
    {
        var forward = new JsonObject();
        foreach (var f in w.Forward)
        {
            forward["ret_" + f.Horizon.ToString(CultureInfo.InvariantCulture)] = f.Return;
            forward["vol_" + f.Horizon.ToString(CultureInfo.InvariantCulture)] = f.Volatility;
        }
        var o = new JsonObject
        {
            ["id"] = PointJson.IdNode(w.Id),
            ["market"] = w.Market,
            ["window"] = new JsonObject { ["start"] = RegimeSearch.Iso(w.WindowStart), ["end"] = RegimeSearch.Iso(w.WindowEnd) },
            ["bar"] = w.Bar,
        };
        if (withDistance) o["distance"] = w.Distance;
        o["forward"] = forward;
        return o;
    }

    private static JsonObject SummaryJson(RegimeSearchResult result)
    {
        var horizons = new JsonObject();
        foreach (var h in result.Horizons)
        {
            horizons[h.Horizon.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["known"] = h.Known,
                ["positive_fraction"] = h.PositiveFraction,
                ["return"] = DistributionJson(h.Return),
                ["volatility"] = DistributionJson(h.Volatility),
                // What every window of the markets searched over the period did, matched or not.
                ["base_rate"] = h.Base is { } b
                    ? new JsonObject
                    {
                        ["known"] = b.Known,
                        ["positive_fraction"] = b.PositiveFraction,
                        ["mean_return"] = b.MeanReturn,
                        ["mean_volatility"] = b.MeanVolatility,
                    }
                    : null,
            };
        }
        return new JsonObject
        {
            ["count"] = result.Matches.Count,
            ["markets"] = new JsonArray([.. result.Matches.Select(m => m.Market).Distinct().Order(StringComparer.Ordinal).Select(m => (JsonNode)JsonValue.Create(m))]),
            ["distance"] = DistributionJson(result.Distance),
            ["forward"] = horizons,
        };
    }

    private static JsonObject? DistributionJson(Distribution? d) => d is null ? null : new JsonObject
    {
        ["count"] = d.Count,
        ["mean"] = d.Mean,
        ["median"] = d.Median,
        ["p10"] = d.P10,
        ["p25"] = d.P25,
        ["p75"] = d.P75,
        ["p90"] = d.P90,
        ["min"] = d.Min,
        ["max"] = d.Max,
    };

    // ---- small parsers ----

    private static string? Text(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && !string.IsNullOrEmpty(values.ToString()) ? values.ToString() : null;

    private static string FormatOf(string? contentType)
    {
        string media = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        return media switch
        {
            "text/csv" or "application/csv" or "text/plain" or "" => "csv",
            "application/x-ndjson" or "application/ndjson" or "application/jsonl" or "application/x-jsonlines" => "ndjson",
            "application/json" => "json",
            _ => throw ApiException.BadField("format", $"content type '{media}' is not csv, ndjson or json; name the format with ?format="),
        };
    }

    private static void CheckMarket(string market, string field)
    {
        if (string.IsNullOrEmpty(market) || market.Length > 128 || market.Contains('/') || market.Any(char.IsControl))
            throw ApiException.BadField(field, "a market name is 1-128 characters without '/' or control characters");
    }

    private static void CheckCollectionName(string name, string field)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw ApiException.BadField(field, $"'{name}' must be 1-128 characters of letters, digits, '-', '_' or '.'");
    }

    private static string StringOf(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : throw ApiException.BadField(field, "expected a non-empty string");

    private static long TimeOf(JsonElement value, string field)
    {
        string text = StringOf(value, field);
        return MarketTime.TryParse(text.AsSpan(), out long ticks)
            ? ticks
            : throw ApiException.BadField(field, $"'{text}' is not an ISO date or date-time (2008-10-10, 2008-10-10T14:30:00Z)");
    }

    /// <summary>Parses a bar interval: <c>30s</c>, <c>1m</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, or a <see cref="TimeSpan"/> (<c>00:05:00</c>).</summary>
    public static TimeSpan ParseInterval(string text, string field) => ParseDuration(text, field, allowZero: false);

    private static TimeSpan ParseDuration(string text, string field, bool allowZero)
    {
        TimeSpan value;
        char unit = text.Length > 1 ? text[^1] : ' ';
        if (unit is 's' or 'm' or 'h' or 'd' && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n <= 100_000)
        {
            value = unit switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        }
        else if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value))
        {
            throw ApiException.BadField(field, $"'{text}' is not a duration (30s, 1m, 5m, 1h, 1d or hh:mm:ss)");
        }
        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero))
            throw ApiException.BadField(field, allowZero ? "must not be negative" : "must be positive");
        return value;
    }

    private static string Interval(TimeSpan span) => span switch
    {
        { Ticks: 0 } => "0s",
        _ when span.Ticks % TimeSpan.TicksPerDay == 0 => $"{span.Ticks / TimeSpan.TicksPerDay}d",
        _ when span.Ticks % TimeSpan.TicksPerHour == 0 => $"{span.Ticks / TimeSpan.TicksPerHour}h",
        _ when span.Ticks % TimeSpan.TicksPerMinute == 0 => $"{span.Ticks / TimeSpan.TicksPerMinute}m",
        _ when span.Ticks % TimeSpan.TicksPerSecond == 0 => $"{span.Ticks / TimeSpan.TicksPerSecond}s",
        _ => span.ToString("c", CultureInfo.InvariantCulture),
    };

    private static string? Time(long ticks) => ticks is long.MinValue || ticks < 0 || ticks >= DateTime.MaxValue.Ticks ? null : RegimeSearch.Iso(ticks);

    /// <summary>Route metadata lifting the body cap (the streamed ingest reads its body in bounded batches).</summary>
    private sealed class Unlimited : IRequestSizeLimitMetadata
    {
        public static readonly Unlimited Instance = new();

        public long? MaxRequestBodySize => null;
    }
}
