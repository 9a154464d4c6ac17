namespace VLink.Cli.Tests;

/// <summary>
/// <c>vlink demo</c> as a real process: the first run ingests the shipped files (S&amp;P 500 daily, six markets monthly),
/// the second reuses them; the cross-market question answers from several markets; <c>--markets DIR</c> does the same
/// with a folder of one's own files.
/// </summary>
public sealed class DemoTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("vlink-demo-test-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private async Task<CliRun> Demo()
    {
        var run = await VLinkProgram.RunAsync(
            ["demo", "--data", _data, "--http-port", $"{VLinkProgram.FreePort()}", "--akka-port", $"{VLinkProgram.FreePort()}"],
            timeout: TimeSpan.FromSeconds(180));
        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (string question in new[]
        {
            "1. Which periods looked like the week Lehman fell? (SPX at 2008-09-19)",
            "2. Which periods looked like the COVID crash? (SPX at 2020-03-16)",
            "3. Which periods looked like the calm of 2017? (SPX at 2017-06-30)",
            "4. In six markets, monthly: which years looked like the one to the 2008 crash? (SPX at 2008-10-01, collection regimes-monthly)",
        })
        {
            Assert.Contains(question, run.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("reference: SPX 2008-06-26 → 2008-09-19", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("reference: SPX 2007-11-01 → 2008-10-01", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(4, CountOf(run.Stdout, "what followed the 10 matches"));
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Count(run.Stdout, @"│\s+#\s+│ market\s+│ window\s+│ distance │"));
        var monthly = MarketsPerQuestion(run.Stdout)[4];
        Assert.True(monthly.Count >= 3, $"the cross-market question answered from {string.Join(", ", monthly)} only");
        return run;
    }

    // The markets of each question's matches, by question number.
    private static Dictionary<int, HashSet<string>> MarketsPerQuestion(string stdout)
    {
        var found = new Dictionary<int, HashSet<string>>();
        int question = 0;
        foreach (string line in stdout.Split('\n'))
        {
            var title = System.Text.RegularExpressions.Regex.Match(line, @"^── (\d+)\. ");
            if (title.Success)
            {
                question = int.Parse(title.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                found[question] = [];
                continue;
            }
            var match = System.Text.RegularExpressions.Regex.Match(line, @"^│\s+\d+ │ (\S+)\s+│");
            if (match.Success && question > 0) found[question].Add(match.Groups[1].Value);
        }
        return found;
    }

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    [Fact]
    public async Task The_first_run_ingests_the_shipped_data_and_the_second_reuses_it()
    {
        var first = await Demo();
        Assert.Contains("ingested sp500-daily.csv into SPX (regimes) as bars", first.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"│ regime vectors\s+│\s+5,045 │", first.Stdout);
        Assert.Contains("ingested monthly-2000-2010.csv into 6 markets (regimes-monthly) as bars", first.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"│ accepted\s+│\s+683 │", first.Stdout);
        Assert.DoesNotContain("reusing stored data", first.Stdout, StringComparison.Ordinal);

        var second = await Demo();
        Assert.Contains("reusing stored data: SPX has 5,105 daily bars and 5,045 regime vectors", second.Stdout, StringComparison.Ordinal);
        Assert.Contains("reusing stored data: 6 markets with 683 monthly bars in regimes-monthly", second.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ingested", second.Stdout, StringComparison.Ordinal);

        // The same questions, the same answers.
        string Answers(string stdout) => stdout[stdout.IndexOf("1. Which periods", StringComparison.Ordinal)..stdout.LastIndexOf("done.", StringComparison.Ordinal)];
        Assert.Equal(Answers(first.Stdout), Answers(second.Stdout));
    }

    [Fact]
    public async Task A_folder_of_ones_own_files_is_ingested_and_asked_across_its_markets()
    {
        // Four markets' monthly closes, a file each without a market column (the file name names the market).
        string mine = Directory.CreateDirectory(Path.Combine(_data, "mine")).FullName;
        var rows = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "market", "monthly-2000-2010.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        foreach (string market in new[] { "MSFT", "IBM", "AAPL", "AMZN" })
            File.WriteAllLines(Path.Combine(mine, market + ".csv"), ["date,close", .. rows.Where(r => r[0] == market).Select(r => $"{r[1]},{r[2]}")]);

        var run = await VLinkProgram.RunAsync(
            ["demo", "--data", Path.Combine(_data, "node"), "--markets", mine, "--http-port", $"{VLinkProgram.FreePort()}", "--akka-port", $"{VLinkProgram.FreePort()}"],
            timeout: TimeSpan.FromSeconds(180));

        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (string market in new[] { "AAPL", "AMZN", "IBM", "MSFT" })
            Assert.Contains($"ingested {market}.csv into {market} (regimes) as bars", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("sp500-daily.csv", run.Stdout, StringComparison.Ordinal);
        var answers = MarketsPerQuestion(run.Stdout);
        Assert.Equal(3, answers.Count);
        Assert.Contains("1. Which periods, in any market held, looked like AAPL's latest window? (AAPL at 2010-03-02)", run.Stdout, StringComparison.Ordinal);
        Assert.True(answers.Values.Any(m => m.Count >= 3), run.Stdout);
    }

    [Fact]
    public async Task A_markets_folder_that_is_not_there_is_refused_before_anything_starts()
    {
        var run = await VLinkProgram.RunAsync(["demo", "--data", _data, "--markets", Path.Combine(_data, "none")]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--markets:", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("is not a folder", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_is_one_line_and_exit_1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var run = await VLinkProgram.RunAsync(["demo", "--data", _data, "--http-port", $"{port}", "--akka-port", $"{VLinkProgram.FreePort()}"]);

        Assert.Equal(1, run.ExitCode);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, run.ToString());
        Assert.StartsWith($"vlink: cannot start the demo node: Failed to bind to address http://127.0.0.1:{port}", lines[0], StringComparison.Ordinal);
    }
}
