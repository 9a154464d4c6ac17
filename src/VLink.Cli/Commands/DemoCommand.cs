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
/// <c>vlink demo</c>: one node in this process, the market data shipped with VLink ingested into it (once; later runs
/// reuse the stored data) — the S&amp;P 500's daily bars, and six markets' monthly closes in a monthly regime collection —
/// and a few analyst questions answered as tables through the node's REST API, one of them across markets. With
/// <c>--markets DIR</c> the user's own files are ingested instead and the questions are asked of their latest windows.
/// </summary>
internal sealed class DemoCommand : CheckedCommand
{
    /// <summary>The market the demo's file is ingested as.</summary>
    internal const string Market = "SPX";

    /// <summary>The producer name of the demo's ingest: a repeated or resumed ingest applies each line once.</summary>
    internal const string Source = "demo:sp500-daily.csv";

    /// <summary>The demo's file, relative to the program's folder (copied there by the build) or to the repository root.</summary>
    internal static readonly string DataFile = Path.Combine("data", "market", "sp500-daily.csv");

    /// <summary>Six markets' monthly closes (a <c>market</c> column), ingested into <see cref="MonthlyCollection"/>.</summary>
    internal static readonly string MonthlyFile = Path.Combine("data", "market", "monthly-2000-2010.csv");

    /// <summary>The producer name of the monthly file's ingest.</summary>
    internal const string MonthlySource = "demo:monthly-2000-2010.csv";

    /// <summary>The regime collection of monthly bars: a window of 12 months, outcomes 1 and 3 months later.</summary>
    internal const string MonthlyCollection = "regimes-monthly";

    /// <summary>
    /// The monthly collection's configuration: bars 28 days long (no month is shorter, so bars never overlap), a window of
    /// 12 bars with return horizons 1, 3, 6 and 12, volatility horizons 3 and 6, short horizon 3, outcomes after 1 and 3.
    /// </summary>
    internal static readonly JsonObject MonthlySpec = new()
    {
        ["bar_interval"] = "28d",
        ["feature_set"] = "regime-v1:w12:r1,3,6,12:v3,6:q3:o1,3",
    };

    /// <summary>The questions: a title, the market and moment whose regime is the reference, and the collection asked.</summary>
    internal static readonly (string Question, string Market, string At, string Collection)[] Questions =
    [
        ("Which periods looked like the week Lehman fell?", Market, "2008-09-19", RegimeCommands.DefaultCollection),
        ("Which periods looked like the COVID crash?", Market, "2020-03-16", RegimeCommands.DefaultCollection),
        ("Which periods looked like the calm of 2017?", Market, "2017-06-30", RegimeCommands.DefaultCollection),
        ("In six markets, monthly: which years looked like the one to the 2008 crash?", Market, "2008-10-01", MonthlyCollection),
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

    internal readonly Option<string> Markets = new("--markets")
    {
        Description = "A folder of your own market files (CSV or NDJSON, ticks or bars; a file without a market column is the market named by its file name) to ingest instead of the shipped data; the questions then ask what looked like each market's latest window.",
        HelpName = "DIR",
    };

    /// <summary>The command, with its flags validated before anything starts.</summary>
    public DemoCommand()
        : base("demo", "Run the demo: one node in this process, S&P 500 daily bars 2000-2020 ingested into regime vectors, and a few analyst questions answered as tables.")
    {
        HttpPort.Check(port => port is < 1 or > 65535 ? $"--http-port: {port} is not a port (1-65535)." : null);
        AkkaPort.Check(port => port is < 1 or > 65535 ? $"--akka-port: {port} is not a port (1-65535)." : null);
        Data.Check(data => string.IsNullOrWhiteSpace(data) ? "--data: the data folder must not be empty." : null);
        K.Check(k => k is < 1 or > 100 ? $"--k: {k} must be between 1 and 100." : null);
        Markets.Check(dir => dir is null ? null
            : !Directory.Exists(dir) ? $"--markets: {dir} is not a folder."
            : UserFiles(dir).Count == 0 ? $"--markets: {dir} holds no market file (*.csv, *.ndjson, *.jsonl, *.json)." : null);
        foreach (var option in new Option[] { Data, HttpPort, AkkaPort, K, Serve, Markets }) Options.Add(option);
        Checks.Add(parse => parse.GetValue(HttpPort) == parse.GetValue(AkkaPort)
            ? $"--http-port and --akka-port must differ (both are {parse.GetValue(HttpPort)})."
            : null);
        SetAction(Output.Guard(RunAsync));
    }

    /// <summary>The demo's data file: beside the program, else under the working directory or one of its parents.</summary>
    internal static string? FindDataFile(string? relative = null)
    {
        relative ??= DataFile;
        string beside = Path.Combine(AppContext.BaseDirectory, relative);
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The market files of a user's folder, in name order.</summary>
    internal static List<string> UserFiles(string dir) =>
        [.. Directory.EnumerateFiles(dir)
            .Where(f => TransferCommands.FormatOf(null, f, "FILE") is not null)
            .Order(StringComparer.Ordinal)];

    private static string Required(string relative) => FindDataFile(relative)
        ?? throw new CliException($"the demo's data file {relative} is neither beside the program ({AppContext.BaseDirectory}) nor under the working directory");

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string? userDir = parse.GetValue(Markets);
        string file = userDir is null ? Required(DataFile) : "";
        string monthly = userDir is null ? Required(MonthlyFile) : "";
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
            var questions = Questions;
            if (userDir is null)
            {
                await LoadAsync(client, file, data, console, cancellationToken).ConfigureAwait(false);
                await LoadMonthlyAsync(client, monthly, console, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                questions = await LoadUserFilesAsync(client, userDir, console, cancellationToken).ConfigureAwait(false);
            }

            int k = parse.GetValue(K);
            var intervals = new Dictionary<string, TimeSpan?>();
            for (int i = 0; i < questions.Length; i++)
            {
                var (question, market, at, collection) = questions[i];
                if (!intervals.TryGetValue(collection, out var interval))
                    intervals[collection] = interval = await RegimeCommands.BarIntervalAsync(client, collection, cancellationToken).ConfigureAwait(false);
                console.WriteLine();
                string asked = collection == RegimeCommands.DefaultCollection ? $"{market} at {at}" : $"{market} at {at}, collection {collection}";
                console.Write(new Rule(Markup.Escape($"{i + 1}. {question} ({asked})")).LeftJustified());
                var body = RegimeCommands.SearchBody(market, at, k, null, null, null, collection);
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

    // Creates the monthly collection and ingests the six markets' file unless the node already holds all of it.
    private static async Task LoadMonthlyAsync(VLinkClient client, string file, IAnsiConsole console, CancellationToken cancellationToken)
    {
        await client.SendJsonAsync(HttpMethod.Put, $"regimes/collections/{MonthlyCollection}", MonthlySpec.DeepClone(), cancellationToken).ConfigureAwait(false);
        long rows = DataRows(file);
        var markets = await client.GetJsonAsync(RegimeCommands.MarketsPath(MonthlyCollection), cancellationToken).ConfigureAwait(false);
        var held = markets["result"]?["markets"]?.AsArray() ?? [];
        long bars = held.Sum(m => m?["bars"] is JsonValue b && b.TryGetValue(out long n) ? n : 0);
        if (bars >= rows)
        {
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"reusing stored data: {held.Count} markets with {bars:#,0} monthly bars in {MonthlyCollection}")));
            return;
        }
        console.MarkupLine(Markup.Escape($"ingesting {MonthlyFile} (six markets' monthly closes 2000-2010) into {MonthlyCollection}"));
        var upload = new MarketUpload(file, null, "csv", "bars", MonthlyCollection, MonthlySource, null, null);
        var (result, _) = await upload.SendAsync(client, Output.Error, cancellationToken).ConfigureAwait(false);
        upload.WriteReport(console, Output.Error, result);
    }

    // Ingests every market file of the user's folder into the default collection (each file once per data folder: its
    // producer name is its file name) and asks, for up to three of its markets, what looked like their latest window.
    private static async Task<(string Question, string Market, string At, string Collection)[]> LoadUserFilesAsync(
        VLinkClient client, string dir, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var ingested = new List<string>();
        foreach (string path in UserFiles(dir))
        {
            string format = TransferCommands.FormatOf(null, path, "FILE")!;
            string? market = HasMarketColumn(path, format) ? null : Path.GetFileNameWithoutExtension(path);
            var upload = new MarketUpload(path, market, format, MarketUpload.DetectKind(path, format), RegimeCommands.DefaultCollection,
                "demo:" + Path.GetFileName(path), null, null);
            var (result, _) = await upload.SendAsync(client, Output.Error, cancellationToken).ConfigureAwait(false);
            upload.WriteReport(console, Output.Error, result);
            ingested.AddRange((result["markets"] as JsonObject)?.Select(p => p.Key) ?? (market is null ? [] : [market]));
        }
        var markets = await client.GetJsonAsync(RegimeCommands.MarketsPath(RegimeCommands.DefaultCollection), cancellationToken).ConfigureAwait(false);
        var questions = new List<(string, string, string, string)>();
        foreach (var m in markets["result"]?["markets"]?.AsArray() ?? [])
        {
            string? name = (string?)m?["market"];
            long vectors = m?["vectors"] is JsonValue v && v.TryGetValue(out long n) ? n : 0;
            if (name is null || vectors == 0 || !ingested.Contains(name) || m?["last_bar_end"] is not JsonValue end) continue;
            // The window of the market's last bar: the latest bar starts before its end.
            string at = ((string)end!)[..10];
            questions.Add(($"Which periods, in any market held, looked like {name}'s latest window?", name, at, RegimeCommands.DefaultCollection));
            if (questions.Count == 3) break;
        }
        if (questions.Count == 0)
            throw new CliException($"no market of {dir} has a regime vector yet (each needs at least a window of bars, 60 by default, plus one); nothing to ask");
        return [.. questions];
    }

    private static bool HasMarketColumn(string path, string format)
    {
        string? first;
        using (var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true))
        {
            do first = reader.ReadLine();
            while (first is not null && string.IsNullOrWhiteSpace(first));
        }
        if (first is null) return false;
        string[] names = ["market", "symbol", "ticker", "instrument"];
        if (format == "ndjson")
            return names.Any(n => first.Contains($"\"{n}\"", StringComparison.OrdinalIgnoreCase));
        char delimiter = first.Contains(',') ? ',' : first.Contains(';') ? ';' : first.Contains('\t') ? '\t' : ',';
        return first.Split(delimiter).Select(c => c.Trim().Trim('"')).Any(c => names.Contains(c, StringComparer.OrdinalIgnoreCase));
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
