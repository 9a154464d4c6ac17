using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;
using VLink.Cli.Client;
using VLink.Server.Hosting;

namespace VLink.Cli.Commands;

/// <summary>
/// <c>vlink demo</c>: one node in this process, the S&amp;P 500 daily bars shipped with VLink ingested into it (once;
/// later runs reuse the stored data), and a few analyst questions answered as tables through the node's REST API.
/// </summary>
internal sealed class DemoCommand : CheckedCommand
{
    /// <summary>The market the demo's file is ingested as.</summary>
    internal const string Market = "SPX";

    /// <summary>The producer name of the demo's ingest: a repeated or resumed ingest applies each line once.</summary>
    internal const string Source = "demo:sp500-daily.csv";

    /// <summary>The demo's file, relative to the program's folder (copied there by the build) or to the repository root.</summary>
    internal static readonly string DataFile = Path.Combine("data", "market", "sp500-daily.csv");

    /// <summary>The questions: a title, and the moment whose regime is the reference.</summary>
    internal static readonly (string Question, string At)[] Questions =
    [
        ("Which periods looked like the week Lehman fell?", "2008-09-19"),
        ("Which periods looked like the COVID crash?", "2020-03-16"),
        ("Which periods looked like the calm of 2017?", "2017-06-30"),
    ];

    internal readonly Option<string> Data = new("--data")
    {
        Description = "Folder of the demo node's data (the SQLite journal); a second run reuses what the first stored.",
        DefaultValueFactory = _ => "./vlink-data",
        HelpName = "DIR",
    };

    internal readonly Option<int> HttpPort = new("--http-port")
    {
        Description = "HTTP port of the demo node's REST API.",
        DefaultValueFactory = _ => 6333,
        HelpName = "PORT",
    };

    internal readonly Option<int> AkkaPort = new("--akka-port")
    {
        Description = "The demo node's cluster port (Akka.Remote).",
        DefaultValueFactory = _ => 4053,
        HelpName = "PORT",
    };

    internal readonly Option<int> K = new("--k")
    {
        Description = "Matches shown per question.",
        DefaultValueFactory = _ => 10,
        HelpName = "K",
    };

    internal readonly Option<bool> Serve = new("--serve")
    {
        Description = "Keep the node serving after the questions (Ctrl+C stops it), to explore with the other commands.",
    };

    /// <summary>The command, with its flags validated before anything starts.</summary>
    public DemoCommand()
        : base("demo", "Run the demo: one node in this process, S&P 500 daily bars 2000-2020 ingested into regime vectors, and a few analyst questions answered as tables.")
    {
        HttpPort.Check(port => port is < 1 or > 65535 ? $"--http-port: {port} is not a port (1-65535)." : null);
        AkkaPort.Check(port => port is < 1 or > 65535 ? $"--akka-port: {port} is not a port (1-65535)." : null);
        Data.Check(data => string.IsNullOrWhiteSpace(data) ? "--data: the data folder must not be empty." : null);
        K.Check(k => k is < 1 or > 100 ? $"--k: {k} must be between 1 and 100." : null);
        foreach (var option in new Option[] { Data, HttpPort, AkkaPort, K, Serve }) Options.Add(option);
        Checks.Add(parse => parse.GetValue(HttpPort) == parse.GetValue(AkkaPort)
            ? $"--http-port and --akka-port must differ (both are {parse.GetValue(HttpPort)})."
            : null);
        SetAction(Output.Guard(RunAsync));
    }

    /// <summary>The demo's data file: beside the program, else under the working directory or one of its parents.</summary>
    internal static string? FindDataFile()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, DataFile);
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, DataFile);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string file = FindDataFile()
            ?? throw new CliException($"the demo's data file {DataFile} is neither beside the program ({AppContext.BaseDirectory}) nor under the working directory");
        int httpPort = parse.GetValue(HttpPort);
        string data = Path.GetFullPath(parse.GetValue(Data)!);
        string url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}");
        var console = Output.Out;
        console.Write(new Rule("[bold]VLink demo[/]: when, in any market we hold, did the market look like this?").LeftJustified());
        console.MarkupLine(Markup.Escape($"one node in this process: {url}, data in {data}"));

        Microsoft.AspNetCore.Builder.WebApplication? app = null;
        try
        {
            app = VLinkServerApp.Build(ServerArguments(parse, data));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A port in use: stop whatever did start (the actor system) before saying so in one line.
            if (app is not null) await StopQuietlyAsync(app).ConfigureAwait(false);
            throw new CliException($"cannot start the demo node: {NodeCommand.Describe(e)} (--http-port and --akka-port choose other ports)");
        }
        try
        {
            await WaitReadyAsync(app.Services.GetRequiredService<VLinkNodeHost>(), cancellationToken).ConfigureAwait(false);
            using var client = new VLinkClient(new Uri(url + "/"), null);
            await LoadAsync(client, file, data, console, cancellationToken).ConfigureAwait(false);

            var interval = await RegimeCommands.BarIntervalAsync(client, RegimeCommands.DefaultCollection, cancellationToken).ConfigureAwait(false);
            int k = parse.GetValue(K);
            for (int i = 0; i < Questions.Length; i++)
            {
                var (question, at) = Questions[i];
                console.WriteLine();
                console.Write(new Rule(Markup.Escape($"{i + 1}. {question} ({Market} at {at})")).LeftJustified());
                var body = RegimeCommands.SearchBody(Market, at, k, null, null, null, RegimeCommands.DefaultCollection);
                var answer = await client.SendJsonAsync(HttpMethod.Post, "regimes/search", body, cancellationToken).ConfigureAwait(false);
                RegimeOutput.WriteSearch(console, answer["result"] ?? new JsonObject(), interval);
            }

            console.WriteLine();
            if (parse.GetValue(Serve))
            {
                console.MarkupLine(Markup.Escape($"serving on {url} (API keys are off: a local demo node); Ctrl+C stops it. Try, from another shell:"));
                console.MarkupLine(Markup.Escape($"  vlink regimes similar --market {Market} --at 2011-08-08 --url {url}"));
                console.MarkupLine(Markup.Escape($"  vlink markets list --url {url}"));
                await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                console.MarkupLine(Markup.Escape($"done. `vlink demo --serve` keeps the node serving on {url} to explore (vlink regimes similar, vlink markets list); docs/cli.md has every command."));
            }
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        return 0;
    }

    private static async Task StopQuietlyAsync(Microsoft.AspNetCore.Builder.WebApplication app)
    {
        try
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // Half started: nothing more to release.
        }
    }

    // The node's settings: loopback only, keys off (a local demo), quiet logs so the tables stay readable, and a
    // patient gather: on a busy machine a demo should wait for every partition rather than answer in part.
    private string[] ServerArguments(ParseResult parse, string data) =>
    [
        $"--{VLinkServerOptions.Section}:HttpPort={parse.GetValue(HttpPort).ToString(CultureInfo.InvariantCulture)}",
        $"--{VLinkServerOptions.Section}:AkkaPort={parse.GetValue(AkkaPort).ToString(CultureInfo.InvariantCulture)}",
        $"--{VLinkServerOptions.Section}:Host=127.0.0.1",
        $"--{VLinkServerOptions.Section}:DataDirectory={data}",
        $"--{VLinkServerOptions.Section}:AuthEnabled=false",
        $"--{VLinkServerOptions.Section}:ExtraHocon=akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR\nvlink.gather.timeout = 30s",
        "--Logging:LogLevel:Default=Error",
        "--Logging:LogLevel:Microsoft.Extensions.Hosting=None", // a failed start is reported in one line instead
    ];

    private static async Task WaitReadyAsync(VLinkNodeHost host, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var (ready, reason) = await host.ReadinessAsync().ConfigureAwait(false);
            if (ready) return;
            if (DateTime.UtcNow > deadline) throw new CliException($"the demo node did not become ready in 60 s: {reason}");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    // Ingests the file unless the node already holds it (every data row as a bar, with regime vectors).
    private static async Task LoadAsync(VLinkClient client, string file, string data, IAnsiConsole console, CancellationToken cancellationToken)
    {
        long rows = DataRows(file);
        var markets = await client.GetJsonAsync(RegimeCommands.MarketsPath(RegimeCommands.DefaultCollection), cancellationToken).ConfigureAwait(false);
        var stored = markets["result"]?["markets"]?.AsArray().FirstOrDefault(m => (string?)m?["market"] == Market);
        long bars = stored?["bars"] is JsonValue b && b.TryGetValue(out long nb) ? nb : 0;
        long vectors = stored?["vectors"] is JsonValue v && v.TryGetValue(out long nv) ? nv : 0;
        if (vectors > 0 && bars >= rows)
        {
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"reusing stored data: {Market} has {bars:#,0} daily bars and {vectors:#,0} regime vectors in {data} (delete the folder to ingest again)")));
            return;
        }
        console.MarkupLine(Markup.Escape($"ingesting {DataFile} (S&P 500 daily bars 2000-2020) as {Market}"));
        var upload = new MarketUpload(file, Market, "csv", "bars", RegimeCommands.DefaultCollection, Source, null, null);
        var (result, _) = await upload.SendAsync(client, Output.Error, cancellationToken).ConfigureAwait(false);
        upload.WriteReport(console, Output.Error, result);
    }

    private static long DataRows(string file)
    {
        long rows = 0;
        bool header = true;
        foreach (string line in File.ReadLines(file))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (header) header = false;
            else rows++;
        }
        return rows;
    }
}
