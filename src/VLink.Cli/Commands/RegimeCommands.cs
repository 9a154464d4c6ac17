using System.CommandLine;
using System.Text.Json.Nodes;
using VLink.Cli.Client;
using VLink.Core.Ingest;
using VLink.Server.Api;

namespace VLink.Cli.Commands;

/// <summary><c>vlink regimes similar</c> and <c>vlink markets list</c>: the analyst's side of the market routes.</summary>
internal static class RegimeCommands
{
    /// <summary>The regime collection the server writes and searches unless told otherwise.</summary>
    internal const string DefaultCollection = "regimes";

    public static Command BuildRegimes()
    {
        var command = new Command("regimes", "Search regime vectors: when, in any market held, did the market look like this?");
        command.Subcommands.Add(BuildSimilar());
        return command;
    }

    public static Command BuildMarkets()
    {
        var command = new Command("markets", "The markets of a regime collection.");
        var json = new Option<bool>("--json") { Description = "Print the server's JSON instead of a table." };
        var collection = CollectionOption();
        var list = new Command("list", "List the markets of a regime collection: bars, regime vectors, ticks, rejected rows and time span.") { collection, json };
        list.WithClientOptions();
        list.SetAction(Output.Guard(async (parse, ct) =>
        {
            using var client = VLinkClient.From(parse);
            string text = await client.SendForTextAsync(HttpMethod.Get, MarketsPath(parse.GetValue(collection)!), null, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(text);
                return 0;
            }
            RegimeOutput.WriteMarkets(Output.Out, JsonNode.Parse(text)?["result"] ?? new JsonObject());
            return 0;
        }));
        command.Subcommands.Add(list);
        return command;
    }

    private static Command BuildSimilar()
    {
        var market = new Option<string>("--market") { Description = "The reference market (its symbol in the collection).", Required = true, HelpName = "SYMBOL" };
        var at = new Option<string>("--at") { Description = "The reference time: the window of the market's last bar starting at or before it (2008-10-10, 2008-10-10T14:30:00Z).", Required = true, HelpName = "DATE" };
        var k = new Option<int>("--k") { Description = $"Matches wanted (1-{MarketEndpoints.MaxK}).", DefaultValueFactory = _ => 10, HelpName = "K" };
        var markets = new Option<string>("--markets") { Description = "Only windows of these markets, separated by commas (default: every market).", HelpName = "A,B" };
        var from = new Option<string>("--from") { Description = "Only windows ending at or after this time.", HelpName = "DATE" };
        var to = new Option<string>("--to") { Description = "Only windows ending at or before this time.", HelpName = "DATE" };
        var json = new Option<bool>("--json") { Description = "Print the server's JSON answer instead of tables." };
        var minGap = new Option<int?>("--min-gap") { Description = "Bars two matches of one market must be apart beyond not overlapping (default 0).", HelpName = "BARS" };
        var overlapping = new Option<bool>("--overlapping") { Description = "The plain k nearest windows, overlapping ones of one market included (by default each episode is one match)." };
        var collection = CollectionOption();
        k.Check(v => v is < 1 or > MarketEndpoints.MaxK ? $"--k: {v} must be between 1 and {MarketEndpoints.MaxK}." : null);
        minGap.Check(v => v is < 0 ? $"--min-gap: {v} must not be negative." : null);
        at.Check(v => TimeProblem("--at", v));
        from.Check(v => TimeProblem("--from", v));
        to.Check(v => TimeProblem("--to", v));
        markets.Check(v => v is not null && MarketList(v).Count == 0 ? "--markets: name at least one market (A,B)." : null);

        var command = new CheckedCommand("similar", "The windows nearest to a market's regime at a time, with what happened after each and the distribution of those outcomes.")
        {
            market, at, k, markets, from, to, minGap, overlapping, collection, json,
        };
        command.Checks.Add(parse =>
            parse.GetValue(from) is { } f && parse.GetValue(to) is { } t && Ticks(f) > Ticks(t) ? $"--from: {f} is after --to {t}." : null);
        command.Checks.Add(parse =>
            parse.GetValue(overlapping) && parse.GetValue(minGap) is not null ? "--min-gap: applies to distinct episodes; it cannot be given with --overlapping." : null);
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            var body = SearchBody(parse.GetValue(market)!, parse.GetValue(at)!, parse.GetValue(k),
                parse.GetValue(markets) is { } m ? MarketList(m) : null, parse.GetValue(from), parse.GetValue(to), parse.GetValue(collection)!);
            if (parse.GetValue(overlapping)) body["distinct"] = false;
            if (parse.GetValue(minGap) is { } gap) body["min_gap"] = gap;
            using var client = VLinkClient.From(parse);
            string text = await client.SendForTextAsync(HttpMethod.Post, "regimes/search", body, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(text);
                return 0;
            }
            var result = JsonNode.Parse(text)?["result"] ?? new JsonObject();
            var interval = await BarIntervalAsync(client, parse.GetValue(collection)!, ct).ConfigureAwait(false);
            RegimeOutput.WriteSearch(Output.Out, result, interval);
            return 0;
        }));
        return command;
    }

    /// <summary>The body of <c>POST /regimes/search</c> for a reference query.</summary>
    internal static JsonObject SearchBody(string market, string at, int k, IReadOnlyList<string>? markets, string? from, string? to, string collection)
    {
        var body = new JsonObject
        {
            ["collection"] = collection,
            ["reference"] = new JsonObject { ["market"] = market, ["at"] = at },
            ["k"] = k,
        };
        if (markets is not null) body["markets"] = new JsonArray([.. markets.Select(x => (JsonNode)JsonValue.Create(x))]);
        if (from is not null) body["from"] = from;
        if (to is not null) body["to"] = to;
        return body;
    }

    /// <summary>The collection's bar interval from <c>GET /markets</c>, or null when it cannot be read.</summary>
    internal static async Task<TimeSpan?> BarIntervalAsync(VLinkClient client, string collection, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await client.GetJsonAsync(MarketsPath(collection), cancellationToken).ConfigureAwait(false);
            return RegimeOutput.IntervalOf(answer["result"]);
        }
        catch (CliException)
        {
            return null; // windows are then shown by their start and end
        }
    }

    internal static string MarketsPath(string collection) =>
        collection == DefaultCollection ? "markets" : $"markets?collection={Uri.EscapeDataString(collection)}";

    private static Option<string> CollectionOption() => new("--collection")
    {
        Description = "The regime collection.",
        DefaultValueFactory = _ => DefaultCollection,
        HelpName = "NAME",
    };

    private static List<string> MarketList(string text) => [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    private static string? TimeProblem(string flag, string? text) =>
        text is null || MarketTime.TryParse(text.AsSpan(), out _) ? null : $"{flag}: '{text}' is not a date or date-time (2008-10-10, 2008-10-10T14:30:00Z).";

    private static long Ticks(string text) => MarketTime.TryParse(text.AsSpan(), out long ticks) ? ticks : 0;
}
