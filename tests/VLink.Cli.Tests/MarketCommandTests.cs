using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Cli.Tests;

/// <summary><c>vlink ingest</c>, <c>vlink markets list</c> and <c>vlink regimes similar</c> as real processes against the shared cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MarketCommandTests(ClusterFixture cluster) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vlink-cli-market-").FullName;

    private string Url => cluster.Nodes[0].Url;

    /// <summary>The S&amp;P 500 file the CLI ships for the demo (copied beside vlink.dll).</summary>
    private static string Sp500 => Path.Combine(AppContext.BaseDirectory, "data", "market", "sp500-daily.csv");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<CliRun> Vlink(params string[] args)
    {
        var run = await VLinkProgram.RunAsync([.. args, "--url", Url], ClusterFixture.AdminKey, TimeSpan.FromSeconds(120));
        Assert.True(run.ExitCode == 0, $"vlink {string.Join(' ', args)}: {run}\n{cluster.Logs()}");
        return run;
    }

    private static IEnumerable<string> Rows(string table) =>
        table.Split('\n').Where(l => l.StartsWith('│') || l.StartsWith('|'))
            .Select(l => string.Join(' ', l.Split(['│', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));

    [Fact]
    public async Task Ingest_summarises_the_file_and_names_a_damaged_line()
    {
        // The first 400 bars of the S&P 500 file; data line 150 (file line 151) gets an unreadable close.
        var lines = File.ReadLines(Sp500).Take(401).ToList();
        var fields = lines[150].Split(',');
        fields[4] = "12x4.5";
        lines[150] = string.Join(',', fields);
        string file = Path.Combine(_dir, "spx-excerpt.csv");
        await File.WriteAllLinesAsync(file, lines);

        var run = await Vlink("ingest", file, "--market", "SPX", "--collection", "cli-ingest");

        var rows = Rows(run.Stdout).ToList();
        Assert.Contains("ingested spx-excerpt.csv into SPX (cli-ingest) as bars", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("rows read 400", rows);
        Assert.Contains("accepted 399", rows);
        Assert.Contains("rejected 1", rows);
        Assert.Contains("unparseable_number 1", rows);
        Assert.Contains("bars 399", rows);
        Assert.Contains("regime vectors 339", rows); // a vector per bar once 61 bars exist
        Assert.Contains($"{file}:151: unparseable_number: 'close' is not a number: '12x4.5'", run.Stderr, StringComparison.Ordinal);

        // The market counts what reached it: the reader's rejection is in the ingest summary, not in the market's own rejected column.
        var list = await Vlink("markets", "list", "--collection", "cli-ingest");
        Assert.Contains(Rows(list.Stdout), r => r.StartsWith("SPX 399 339 0 0 2000-01-03", StringComparison.Ordinal));
        var listJson = JsonNode.Parse((await Vlink("markets", "list", "--collection", "cli-ingest", "--json")).Stdout)!;
        Assert.Equal(339, (long)listJson["result"]!["markets"]![0]!["vectors"]!);

        // The same file again under one source applies nothing twice.
        var first = await Vlink("ingest", file, "--market", "DUP", "--collection", "cli-ingest", "--source", "excerpt", "--json");
        Assert.Equal(399, (long)JsonNode.Parse(first.Stdout)!["result"]!["accepted"]!);
        var again = await Vlink("ingest", file, "--market", "DUP", "--collection", "cli-ingest", "--source", "excerpt");
        Assert.Contains("duplicates (already ingested) 399", Rows(again.Stdout));
        Assert.Contains("accepted 0", Rows(again.Stdout));
    }

    [Fact]
    public async Task A_file_naming_its_markets_per_row_is_summarised_per_market()
    {
        // 100 S&P 500 bars written twice a row, as markets "A" and "B" (B's closes doubled): the same regimes.
        var lines = new List<string> { "symbol,date,open,high,low,close" };
        foreach (string line in File.ReadLines(Sp500).Skip(1).Take(100))
        {
            var f = line.Split(',');
            lines.Add($"A,{f[0]},{f[1]},{f[2]},{f[3]},{f[4]}");
            lines.Add(string.Join(',', ["B", f[0], .. f[1..5].Select(x => (2 * double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture))]));
        }
        string file = Path.Combine(_dir, "two.csv");
        await File.WriteAllLinesAsync(file, lines);

        var run = await Vlink("ingest", file, "--collection", "cli-ingest-two");

        var rows = Rows(run.Stdout).ToList();
        Assert.Contains("ingested two.csv into 2 markets (cli-ingest-two) as bars", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("rows read 200", rows);
        Assert.Contains("regime vectors 80", rows);
        Assert.Contains("market accepted duplicates rejected bars vectors", rows);
        Assert.Contains("A 100 0 0 100 40", rows);
        Assert.Contains("B 100 0 0 100 40", rows);
    }

    [Fact]
    public async Task Ingest_refused_by_the_server_exits_1_and_a_missing_file_is_named()
    {
        string file = Path.Combine(_dir, "no-time.csv");
        await File.WriteAllTextAsync(file, "price,size\n1.5,10\n");
        var refused = await VLinkProgram.RunAsync(["ingest", file, "--market", "X", "--collection", "cli-ingest-bad", "--url", Url], ClusterFixture.AdminKey);
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("vlink: the server answered 400 Bad Request: body:", refused.Stderr.Trim(), StringComparison.Ordinal);

        var missing = await VLinkProgram.RunAsync(["ingest", Path.Combine(_dir, "absent.csv"), "--market", "X", "--url", Url], ClusterFixture.AdminKey);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("absent.csv: no such file", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_query_by_market_and_time_returns_the_same_results_through_rest_and_cli()
    {
        await Vlink("ingest", Sp500, "--market", "SPX", "--collection", "cli-similar");

        var cli = JsonNode.Parse((await Vlink("regimes", "similar", "--market", "SPX", "--at", "2008-09-19", "--k", "7",
            "--from", "2001-01-01", "--to", "2019-12-31", "--collection", "cli-similar", "--json")).Stdout)!["result"]!;
        var body = """{"collection":"cli-similar","reference":{"market":"SPX","at":"2008-09-19"},"k":7,"from":"2001-01-01","to":"2019-12-31"}""";
        using var response = await cluster.Client.PostAsync($"{cluster.Nodes[1].Url}/regimes/search", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rest = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["result"]!;

        var matches = cli["matches"]!.AsArray();
        Assert.Equal(7, matches.Count);
        Assert.True(JsonNode.DeepEquals(rest["matches"], cli["matches"]), $"REST: {rest["matches"]}\nCLI: {cli["matches"]}");
        Assert.True(JsonNode.DeepEquals(rest["summary"], cli["summary"]));
        Assert.Equal("2008-09-20T00:00:00Z", (string?)cli["reference"]!["window"]!["end"]);

        // The table shows the same windows, nearest first, by their first and last bar.
        var table = await Vlink("regimes", "similar", "--market", "SPX", "--at", "2008-09-19", "--k", "7",
            "--from", "2001-01-01", "--to", "2019-12-31", "--collection", "cli-similar");
        Assert.Contains("reference: SPX 2008-06-26 → 2008-09-19; what followed: 5 bars -3.39%", table.Stdout, StringComparison.Ordinal);
        var rows = Rows(table.Stdout).ToList();
        Assert.Equal("# market window distance ret 5 vol 5 ret 20 vol 20", rows[0]);
        for (int i = 0; i < matches.Count; i++)
        {
            string start = ((string)matches[i]!["window"]!["start"]!)[..10];
            Assert.StartsWith($"{i + 1} SPX {start} → ", rows[i + 1], StringComparison.Ordinal);
        }
        Assert.Contains("what followed the 7 matches", table.Stdout, StringComparison.Ordinal);
        Assert.Contains(rows, r => r.StartsWith("5 bars return 7 ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("20 bars return 7 ", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("base rate ", StringComparison.Ordinal));

        // Episodes: --overlapping and --min-gap ask what "distinct" and "min_gap" ask through REST.
        foreach (var (flags, field) in new[] { (new[] { "--overlapping" }, "\"distinct\":false"), (new[] { "--min-gap", "30" }, "\"min_gap\":30") })
        {
            var viaCli = JsonNode.Parse((await Vlink(["regimes", "similar", "--market", "SPX", "--at", "2008-09-19", "--k", "7", "--collection", "cli-similar", "--json", .. flags])).Stdout)!["result"]!;
            string viaBody = $$"""{"collection":"cli-similar","reference":{"market":"SPX","at":"2008-09-19"},"k":7,{{field}}}""";
            using var answer = await cluster.Client.PostAsync($"{cluster.Nodes[1].Url}/regimes/search", new StringContent(viaBody, Encoding.UTF8, "application/json"));
            var viaRest = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["result"]!;
            Assert.True(JsonNode.DeepEquals(viaRest["matches"], viaCli["matches"]), $"{field}: REST {viaRest["matches"]}\nCLI {viaCli["matches"]}");
        }
        var both = await VLinkProgram.RunAsync(["regimes", "similar", "--market", "SPX", "--at", "2008-09-19", "--overlapping", "--min-gap", "3", "--url", Url], ClusterFixture.AdminKey);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--min-gap:", both.Stderr, StringComparison.Ordinal);

        // The server's refusals are one line: an unknown market is 404 naming reference.market.
        var unknown = await VLinkProgram.RunAsync(["regimes", "similar", "--market", "NOPE", "--at", "2008-09-19", "--collection", "cli-similar", "--url", Url], ClusterFixture.AdminKey);
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("vlink: the server answered 404 Not Found: reference.market:", unknown.Stderr.Trim(), StringComparison.Ordinal);
    }
}
