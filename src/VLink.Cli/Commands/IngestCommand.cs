using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using VLink.Cli.Client;

namespace VLink.Cli.Commands;

/// <summary><c>vlink ingest FILE</c>: streams a market file through the server's ingest pipeline and reports what it did.</summary>
internal static class IngestCommand
{
    /// <summary>Rejected rows listed after the summary; the rest are counted.</summary>
    internal const int RejectedShown = 20;

    public static Command Build()
    {
        var file = new Argument<string>("FILE") { Description = "The market file: CSV (a header row, then one tick or bar a row) or NDJSON (one object a line)." };
        var market = new Option<string>("--market") { Description = "The market the rows belong to (default: the file's market/symbol column).", HelpName = "SYMBOL" };
        var format = new Option<string>("--format") { Description = "csv or ndjson (default: from the file's extension: .csv is csv; .ndjson, .jsonl and .json are ndjson).", HelpName = "csv|ndjson" };
        var bars = new Option<bool>("--bars") { Description = "The rows are bars (default when the header has open, high, low and close, or is a close-only series)." };
        var ticks = new Option<bool>("--ticks") { Description = "The rows are ticks (default when the header has a price, last, mid or bid and ask column)." };
        var collection = new Option<string>("--collection") { Description = "The regime collection (created with defaults when missing).", DefaultValueFactory = _ => RegimeCommands.DefaultCollection, HelpName = "NAME" };
        var source = new Option<string>("--source") { Description = "The producer's name: ingesting the same file again under the same source applies each line once (line numbers are its sequence numbers). Default: a fresh name per run.", HelpName = "NAME" };
        var barInterval = new Option<string>("--bar-interval") { Description = "Bar interval of a collection created by this ingest (30s, 1m, 1h, 1d; default 1d for bars, 1m for ticks).", HelpName = "INTERVAL" };
        var priceColumn = new Option<string>("--price-column") { Description = "The column holding the price (for files with several series).", HelpName = "NAME" };
        var json = new Option<bool>("--json") { Description = "Print the server's JSON summary instead of the table." };
        format.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, TransferCommands.Formats);
        market.Check(v => v is not null && (v.Length is 0 or > 128 || v.Contains('/') || v.Any(char.IsControl))
            ? "--market: a market name is 1-128 characters without '/' or control characters." : null);
        barInterval.Check(v => v is null || RegimeOutput.IntervalOf(new JsonObject { ["bar_interval"] = v }) is { Ticks: > 0 }
            ? null : $"--bar-interval: '{v}' is not an interval (30s, 1m, 5m, 1h, 1d).");

        var command = new CheckedCommand("ingest", "Stream a market file (ticks or bars) into a regime collection, with a progress bar, and print what was read, accepted and rejected.")
        {
            file, market, format, bars, ticks, collection, source, barInterval, priceColumn, json,
        };
        command.Checks.Add(parse => parse.GetValue(bars) && parse.GetValue(ticks) ? "--bars and --ticks exclude each other." : null);
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            string path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new CliException($"{path}: no such file");
            string kind = TransferCommands.FormatOf(parse.GetValue(format), path, "FILE")
                ?? throw new CliException($"{path}: cannot tell the format from the extension; pass --format csv or --format ndjson");
            var upload = new MarketUpload(
                path,
                parse.GetValue(market),
                kind,
                parse.GetValue(bars) ? "bars" : parse.GetValue(ticks) ? "ticks" : MarketUpload.DetectKind(path, kind),
                parse.GetValue(collection)!,
                parse.GetValue(source),
                parse.GetValue(barInterval),
                parse.GetValue(priceColumn));
            using var client = VLinkClient.From(parse);
            var (result, text) = await upload.SendAsync(client, Output.Error, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(text);
                return 0;
            }
            upload.WriteReport(Output.Out, Output.Error, result);
            return 0;
        }));
        return command;
    }
}

/// <summary>One market file streamed to <c>POST /markets/ingest</c>: the request, its progress bar, and its report.</summary>
/// <param name="Path">The file.</param>
/// <param name="Market">The market, or null when the file names it per row.</param>
/// <param name="Format"><c>csv</c> or <c>ndjson</c>.</param>
/// <param name="Kind"><c>ticks</c> or <c>bars</c>.</param>
/// <param name="Collection">The regime collection.</param>
/// <param name="Source">The producer's name (exactly-once across runs), or null for a fresh one.</param>
/// <param name="BarInterval">The bar interval of a collection this ingest creates, or null.</param>
/// <param name="PriceColumn">The price column, or null.</param>
internal sealed record MarketUpload(string Path, string? Market, string Format, string Kind, string Collection, string? Source, string? BarInterval, string? PriceColumn)
{
    /// <summary>The route and query of this upload.</summary>
    public string Target
    {
        get
        {
            var query = new List<string> { $"kind={Kind}", $"format={Format}" };
            if (Market is not null) query.Add("market=" + Uri.EscapeDataString(Market));
            if (Collection != RegimeCommands.DefaultCollection) query.Add("collection=" + Uri.EscapeDataString(Collection));
            if (Source is not null) query.Add("source=" + Uri.EscapeDataString(Source));
            if (BarInterval is not null) query.Add("bar_interval=" + Uri.EscapeDataString(BarInterval));
            if (PriceColumn is not null) query.Add("price_column=" + Uri.EscapeDataString(PriceColumn));
            return "markets/ingest?" + string.Join('&', query);
        }
    }

    /// <summary>
    /// Streams the file with a progress bar over the bytes sent on <paramref name="progressConsole"/>; returns the
    /// server's summary (its <c>result</c>) and the whole answer text. A refusal is a <see cref="CliException"/>.
    /// </summary>
    public async Task<(JsonNode Result, string Text)> SendAsync(VLinkClient client, IAnsiConsole progressConsole, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(progressConsole);
        string answer = await FileUpload.SendAsync(client, progressConsole, Path, Target, Format, "ingest", VLinkClient.Failure, cancellationToken)
            .ConfigureAwait(false);
        var result = VLinkClient.TryParseObject(answer)?["result"] ?? throw new CliException($"the server's answer to {Target} has no result: {answer}");
        return (result, answer);
    }

    /// <summary>
    /// The summary table on <paramref name="output"/>; the first rejected rows as <c>FILE:LINE: reason: detail</c> on
    /// <paramref name="warnings"/>.
    /// </summary>
    public void WriteReport(IAnsiConsole output, IAnsiConsole warnings, JsonNode result)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(warnings);
        ArgumentNullException.ThrowIfNull(result);
        var markets = (result["markets"] as JsonObject)?.Select(p => p.Key).ToList() ?? [];
        string into = markets.Count switch
        {
            0 => Collection,
            1 => $"{markets[0]} ({Collection})",
            _ => $"{markets.Count} markets ({Collection})",
        };
        output.MarkupLine(Markup.Escape($"ingested {System.IO.Path.GetFileName(Path)} into {into} as {Kind}"));
        var table = new Table()
            .AddColumn("")
            .AddColumn("", c => c.RightAligned())
            .HideHeaders();
        table.AddRow("rows read", RegimeOutput.Count(result["rows"]));
        table.AddRow("accepted", RegimeOutput.Count(result["accepted"]));
        if (result["duplicates"] is JsonValue d && d.TryGetValue(out long duplicates) && duplicates > 0)
            table.AddRow("duplicates (already ingested)", RegimeOutput.Count(result["duplicates"]));
        table.AddRow("rejected", RegimeOutput.Count(result["rejected"]));
        foreach (var (reason, count) in (result["rejected_by_reason"] as JsonObject) ?? [])
            table.AddRow(Markup.Escape($"  {reason}"), RegimeOutput.Count(count));
        table.AddRow("bars", RegimeOutput.Count(result["bars"]));
        table.AddRow("regime vectors", RegimeOutput.Count(result["vectors"]));
        double elapsed = result["elapsed_s"] is JsonValue e && e.TryGetValue(out double s) ? s : 0;
        table.AddRow("elapsed", elapsed.ToString("0.00 's'", CultureInfo.InvariantCulture));
        table.AddRow($"{Kind}/s", RegimeOutput.Count(result["rows_per_s"]));
        output.Write(table);
        if (markets.Count > 1)
        {
            var perMarket = new Table().AddColumn("market");
            foreach (string column in new[] { "accepted", "duplicates", "rejected", "bars", "vectors" }) perMarket.AddColumn(column, c => c.RightAligned());
            foreach (var (name, m) in (JsonObject)result["markets"]!)
                perMarket.AddRow(Markup.Escape(name), RegimeOutput.Count(m?["accepted"]), RegimeOutput.Count(m?["duplicates"]),
                    RegimeOutput.Count(m?["rejected"]), RegimeOutput.Count(m?["bars"]), RegimeOutput.Count(m?["vectors"]));
            output.Write(perMarket);
        }

        var errors = result["errors"]?.AsArray() ?? [];
        long rejected = result["rejected"] is JsonValue r && r.TryGetValue(out long n) ? n : errors.Count;
        foreach (var error in errors.Take(IngestCommand.RejectedShown))
        {
            string reason = (string?)error?["reason"] ?? "rejected";
            string detail = (string?)error?["detail"] ?? "";
            warnings.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Path}:{error?["line"]}: {reason}{(detail.Length > 0 ? ": " + detail : "")}"));
        }
        long listed = Math.Min(errors.Count, IngestCommand.RejectedShown);
        if (rejected > listed)
            warnings.WriteLine(string.Create(CultureInfo.InvariantCulture, $"... and {rejected - listed} more rejected rows"));
        if (rejected > 0)
            warnings.WriteLine("rejected rows were not ingested; every other row was (a rejected row is not a failure of the command)");
    }

    /// <summary>
    /// Ticks or bars, from the file's first row: bars when it has open, high, low and close; ticks when it has a price,
    /// last, mid, bid or ask column; otherwise bars (a close-only series such as <c>"time","USDCHF"</c>).
    /// </summary>
    public static string DetectKind(string path, string format)
    {
        string? first;
        using (var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true))
        {
            do first = reader.ReadLine();
            while (first is not null && string.IsNullOrWhiteSpace(first));
        }
        if (first is null) return "ticks";
        IEnumerable<string> names;
        if (format == "ndjson")
        {
            try
            {
                names = JsonNode.Parse(first) is JsonObject o ? o.Select(p => p.Key) : [];
            }
            catch (JsonException)
            {
                names = [];
            }
        }
        else
        {
            char delimiter = first.Contains(',') ? ',' : first.Contains(';') ? ';' : first.Contains('\t') ? '\t' : ',';
            names = first.Split(delimiter).Select(n => n.Trim().Trim('"'));
        }
        var columns = new HashSet<string>(names.Select(n => n.ToLowerInvariant()), StringComparer.Ordinal);
        if (columns.IsSupersetOf(["open", "high", "low", "close"])) return "bars";
        if (columns.Overlaps(["price", "last", "mid", "bid", "ask"])) return "ticks";
        return "bars";
    }
}
