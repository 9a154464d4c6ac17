using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace VLink.Cli.Client;

/// <summary>
/// Draws the answers of the market routes as tables: a regime search (reference, matches, what followed them) and
/// the markets of a regime collection. Shared by <c>vlink regimes similar</c>, <c>vlink markets list</c> and
/// <c>vlink demo</c>.
/// </summary>
internal static class RegimeOutput
{
    /// <summary>The caption under a matches table: what the forward columns mean.</summary>
    public const string ForwardCaption = "ret h, vol h: log return and per-bar volatility over the next h bars";

    /// <summary>
    /// Writes a <c>POST /regimes/search</c> result: a line for the reference window and what followed it, the matches
    /// nearest first with their forward outcomes, then the distribution of those outcomes.
    /// </summary>
    /// <param name="console">Where to write.</param>
    /// <param name="result">The answer's <c>result</c> object.</param>
    /// <param name="barInterval">The collection's bar interval (shows a window by its first and last bar), or null.</param>
    public static void WriteSearch(IAnsiConsole console, JsonNode result, TimeSpan? barInterval)
    {
        var matches = result["matches"]?.AsArray() ?? [];
        var horizons = Horizons(result, matches);
        if (result["reference"] is JsonObject reference)
        {
            string followed = string.Join(", ", horizons.Select(h =>
                $"{h} bars {Percent(reference["forward"]?[$"ret_{h}"], signed: true)} (vol {Percent(reference["forward"]?[$"vol_{h}"], signed: false)})"));
            console.MarkupLine(Markup.Escape($"reference: {reference["market"]} {Window(reference, barInterval)}; what followed: {followed}"));
        }
        if (matches.Count == 0)
        {
            console.WriteLine("no matching windows");
            return;
        }

        var table = new Table().AddColumn("#", c => c.RightAligned()).AddColumns("market", "window").AddColumn("distance", c => c.RightAligned());
        foreach (int h in horizons)
        {
            table.AddColumn($"ret {h}", c => c.RightAligned());
            table.AddColumn($"vol {h}", c => c.RightAligned());
        }
        int rank = 1;
        foreach (var match in matches)
        {
            var row = new List<string>
            {
                rank++.ToString(CultureInfo.InvariantCulture),
                Markup.Escape((string?)match?["market"] ?? "-"),
                Markup.Escape(Window(match, barInterval)),
                match?["distance"] is JsonValue d && d.TryGetValue(out double distance) ? distance.ToString("0.000", CultureInfo.InvariantCulture) : "-",
            };
            foreach (int h in horizons)
            {
                row.Add(Percent(match?["forward"]?[$"ret_{h}"], signed: true));
                row.Add(Percent(match?["forward"]?[$"vol_{h}"], signed: false));
            }
            table.AddRow([.. row]);
        }
        table.Caption(Markup.Escape(ForwardCaption));
        console.Write(table);

        var summary = result["summary"];
        var forward = summary?["forward"] as JsonObject;
        if (forward is null || forward.Count == 0) return;
        var distribution = new Table()
            .Title(Markup.Escape($"what followed the {matches.Count} matches"))
            .AddColumns("after", "quantity")
            .AddColumn("known", c => c.RightAligned());
        foreach (string column in new[] { "mean", "p10", "p25", "median", "p75", "p90", "up" }) distribution.AddColumn(column, c => c.RightAligned());
        foreach (int h in horizons)
        {
            var horizon = forward[h.ToString(CultureInfo.InvariantCulture)];
            string known = horizon?["known"]?.ToString() ?? "0";
            string up = horizon?["positive_fraction"] is JsonValue p && p.TryGetValue(out double positive)
                ? positive.ToString("0%", CultureInfo.InvariantCulture)
                : "-";
            distribution.AddRow([$"{h} bars", "return", known, .. Quantiles(horizon?["return"], signed: true), up]);
            distribution.AddRow(["", "volatility", known, .. Quantiles(horizon?["volatility"], signed: false), ""]);
            if (horizon?["base_rate"] is JsonObject baseRate)
            {
                string baseUp = baseRate["positive_fraction"] is JsonValue bp && bp.TryGetValue(out double basePositive)
                    ? basePositive.ToString("0%", CultureInfo.InvariantCulture)
                    : "-";
                distribution.AddRow(["", "base rate", baseRate["known"]?.ToString() ?? "0", Percent(baseRate["mean_return"], signed: true), "", "", "", "", "", baseUp]);
            }
        }
        distribution.Caption("up: share of matches whose return was positive; base rate: every window of the same markets and period");
        console.Write(distribution);
        if (result["complete"] is JsonValue c && c.TryGetValue(out bool complete) && !complete)
            console.MarkupLine(Markup.Escape($"warning: partial answer; partitions that did not answer: {result["missing_partitions"]?.ToJsonString()}"));
    }

    /// <summary>Writes a <c>GET /markets</c> result: one row per market.</summary>
    public static void WriteMarkets(IAnsiConsole console, JsonNode result)
    {
        var markets = result["markets"]?.AsArray() ?? [];
        string collection = (string?)result["collection"] ?? "regimes";
        if (markets.Count == 0)
        {
            console.WriteLine($"no markets in {collection}");
            return;
        }
        var interval = IntervalOf(result);
        var table = new Table()
            .Title(Markup.Escape($"{collection}: {result["bar_interval"]} bars, {result["feature_set"]}"))
            .AddColumn("market")
            .AddColumn("bars", c => c.RightAligned())
            .AddColumn("vectors", c => c.RightAligned())
            .AddColumn("ticks", c => c.RightAligned())
            .AddColumn("rejected", c => c.RightAligned())
            .AddColumns("first bar", "last bar");
        foreach (var market in markets)
        {
            table.AddRow(
                Markup.Escape((string?)market?["market"] ?? "-"),
                Count(market?["bars"]),
                Count(market?["vectors"]),
                Count(market?["ticks"]),
                Count(market?["rejected"]),
                Time((string?)market?["first_bar_start"]),
                LastBar((string?)market?["last_bar_end"], interval));
        }
        console.Write(table);
    }

    /// <summary>The bar interval a <c>GET /markets</c> or collection result names (<c>1d</c>, <c>30m</c>), or null.</summary>
    public static TimeSpan? IntervalOf(JsonNode? result)
    {
        string? text = (string?)result?["bar_interval"];
        if (string.IsNullOrEmpty(text) || text.Length < 2) return null;
        if (!long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
        return text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    /// <summary>A thousands-separated count ("-" when absent).</summary>
    public static string Count(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out long n) ? n.ToString("#,0", CultureInfo.InvariantCulture) : "-";

    /// <summary>A UTC time as a date when it is midnight, else date and minutes (seconds when it has them).</summary>
    public static string Time(string? iso)
    {
        if (iso is null || !DateTime.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
            return "-";
        return Time(time);
    }

    private static string Time(DateTime time) =>
        time.TimeOfDay == TimeSpan.Zero ? time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
        : time.Second == 0 && time.Millisecond == 0 ? time.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    // A window by its first and last bar: the window's end is the end of its last bar, one interval after its start.
    private static string Window(JsonNode? window, TimeSpan? barInterval)
    {
        string start = Time((string?)window?["window"]?["start"]);
        string end = LastBar((string?)window?["window"]?["end"], barInterval);
        return $"{start} → {end}";
    }

    private static string LastBar(string? endIso, TimeSpan? barInterval)
    {
        if (endIso is null || !DateTime.TryParse(endIso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var end))
            return "-";
        return Time(barInterval is { } interval && end.Ticks - interval.Ticks >= 0 ? end - interval : end);
    }

    // The outcome horizons, from the summary (else from the first match's forward keys), ascending.
    private static List<int> Horizons(JsonNode result, JsonArray matches)
    {
        var keys = (result["summary"]?["forward"] as JsonObject)?.Select(p => p.Key)
            ?? (matches.FirstOrDefault()?["forward"] as JsonObject)?.Select(p => p.Key).Where(k => k.StartsWith("ret_", StringComparison.Ordinal)).Select(k => k[4..])
            ?? [];
        return [.. keys.Select(k => int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out int h) ? h : -1).Where(h => h > 0).Distinct().Order()];
    }

    private static string[] Quantiles(JsonNode? distribution, bool signed) =>
        [.. new[] { "mean", "p10", "p25", "median", "p75", "p90" }.Select(q => Percent(distribution?[q], signed))];

    /// <summary>A fraction as a percentage with two decimals (signed for returns), "-" when unknown.</summary>
    public static string Percent(JsonNode? node, bool signed)
    {
        if (node is not JsonValue v || !v.TryGetValue(out double x) || !double.IsFinite(x)) return "-";
        string text = (x * 100).ToString(signed ? "+0.00;-0.00;0.00" : "0.00", CultureInfo.InvariantCulture);
        return text + "%";
    }
}
