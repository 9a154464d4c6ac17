using VLink.Cli.Commands;

namespace VLink.Cli.Tests;

/// <summary>The market commands' flags are checked before anything is sent; each refusal names the flag.</summary>
public sealed class MarketParsingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vlink-cli-parse-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyList<string> Problems(params string[] args) => VLinkCli.Problems(VLinkCli.BuildRoot().Parse(args));

    [Theory]
    [InlineData("regimes similar --at 2008-10-10", "--market")]
    [InlineData("regimes similar --market SPX", "--at")]
    [InlineData("regimes similar --market SPX --at 10/Oct/2008", "--at: '10/Oct/2008' is not a date or date-time")]
    [InlineData("regimes similar --market SPX --at 2008-02-30", "--at: '2008-02-30' is not a date")]
    [InlineData("regimes similar --market SPX --at 2008-10-10 --k 0", "--k: 0 must be between 1 and 1000")]
    [InlineData("regimes similar --market SPX --at 2008-10-10 --k 1001", "--k: 1001 must be between 1 and 1000")]
    [InlineData("regimes similar --market SPX --at 2008-10-10 --from yesterday", "--from: 'yesterday' is not a date")]
    [InlineData("regimes similar --market SPX --at 2008-10-10 --from 2010-01-01 --to 2009-01-01", "--from: 2010-01-01 is after --to 2009-01-01")]
    [InlineData("regimes similar --market SPX --at 2008-10-10 --markets ,", "--markets: name at least one market")]
    [InlineData("ingest prices.csv --market a/b", "--market: a market name is 1-128 characters")]
    [InlineData("ingest prices.csv --bars --ticks", "--bars and --ticks exclude each other")]
    [InlineData("ingest prices.csv --format xml", "'xml'")]
    [InlineData("ingest prices.csv --bar-interval 5x", "--bar-interval: '5x' is not an interval")]
    [InlineData("demo --k 0", "--k: 0 must be between 1 and 100")]
    [InlineData("demo --http-port 0", "--http-port: 0 is not a port")]
    [InlineData("demo --http-port 7000 --akka-port 7000", "--http-port and --akka-port must differ")]
    [InlineData("markets list --url ftp://x", "--url: 'ftp://x' is not an http:// or https:// URL")]
    public void Bad_flags_are_refused_naming_them(string line, string expected)
    {
        var problems = Problems(line.Split(' '));
        Assert.True(problems.Any(p => p.Contains(expected, StringComparison.Ordinal)),
            $"expected a problem containing \"{expected}\" for 'vlink {line}', got: {string.Join(" | ", problems)}");
    }

    [Theory]
    [InlineData("regimes similar --market SPX --at 2008-10-10 --k 5 --markets SPX,DAX --from 2001-01-01 --to 2019-12-31T12:00:00Z")]
    [InlineData("regimes similar --market SPX --at 1222992000")]
    [InlineData("ingest prices.csv --market SPX --ticks --bar-interval 30m --source feed-1")]
    [InlineData("demo --serve --data /tmp/x --http-port 7000 --akka-port 7001")]
    public void Good_flags_pass(string line) => Assert.Empty(Problems(line.Split(' ')));

    [Fact]
    public async Task Bad_flags_exit_2_naming_the_flag_before_anything_is_sent()
    {
        // No server at this URL: a flag problem must be found before any request.
        string url = $"http://127.0.0.1:{VLinkProgram.FreePort()}";
        var date = await VLinkProgram.RunAsync(["regimes", "similar", "--market", "SPX", "--at", "someday", "--url", url]);
        Assert.Equal(2, date.ExitCode);
        Assert.Contains("vlink: --at: 'someday' is not a date or date-time", date.Stderr, StringComparison.Ordinal);
        Assert.Contains("run 'vlink regimes similar --help' for usage", date.Stderr, StringComparison.Ordinal);

        var k = await VLinkProgram.RunAsync(["regimes", "similar", "--market", "SPX", "--at", "2008-10-10", "--k", "5000", "--url", url]);
        Assert.Equal(2, k.ExitCode);
        Assert.Contains("vlink: --k: 5000 must be between 1 and 1000.", k.Stderr, StringComparison.Ordinal);

        var demo = await VLinkProgram.RunAsync(["demo", "--http-port", "70000"]);
        Assert.Equal(2, demo.ExitCode);
        Assert.Contains("vlink: --http-port: 70000 is not a port", demo.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("date,open,high,low,close,adjclose,volume", "csv", "bars")]
    [InlineData("\"t\",\"DAX\",\"SMI\"", "csv", "bars")]
    [InlineData("\"XDATE\",\"DELAY\",\"CONTRIBUTOR\",\"BID\",\"ASK\",\"FLAG\"", "csv", "ticks")]
    [InlineData("time;price;size", "csv", "ticks")]
    [InlineData("{\"ts\":\"2020-01-01T00:00:00Z\",\"Open\":1,\"High\":2,\"Low\":0.5,\"Close\":1.5}", "ndjson", "bars")]
    [InlineData("{\"ts\":\"2020-01-01T00:00:00Z\",\"last\":1.5}", "ndjson", "ticks")]
    public void Ticks_or_bars_come_from_the_first_row(string first, string format, string expected)
    {
        string file = Path.Combine(_dir, "rows." + format);
        File.WriteAllText(file, "\n" + first + "\n");
        Assert.Equal(expected, MarketUpload.DetectKind(file, format));
    }

    [Fact]
    public void The_demo_finds_its_data_beside_the_program() =>
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "data", "market", "sp500-daily.csv"), DemoCommand.FindDataFile());
}
