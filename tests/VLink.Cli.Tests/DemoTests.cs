namespace VLink.Cli.Tests;

/// <summary><c>vlink demo</c> as a real process: the first run ingests the shipped S&amp;P 500 file, the second reuses it.</summary>
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
        })
        {
            Assert.Contains(question, run.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("reference: SPX 2008-06-26 → 2008-09-19", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(run.Stdout, "what followed the 10 matches"));
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(run.Stdout, @"│\s+#\s+│ market\s+│ window\s+│ distance │"));
        return run;
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
        Assert.DoesNotContain("reusing stored data", first.Stdout, StringComparison.Ordinal);

        var second = await Demo();
        Assert.Contains("reusing stored data: SPX has 5,105 daily bars and 5,045 regime vectors", second.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ingested", second.Stdout, StringComparison.Ordinal);

        // The same questions, the same answers.
        string Answers(string stdout) => stdout[stdout.IndexOf("1. Which periods", StringComparison.Ordinal)..stdout.LastIndexOf("done.", StringComparison.Ordinal)];
        Assert.Equal(Answers(first.Stdout), Answers(second.Stdout));
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
