using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using VLink.Cluster.Hosting;
using VLink.Server.Hosting;

namespace VLink.Cli.Commands;

/// <summary><c>vlink node</c>: runs one cluster node (the REST server and its actor system) in this process.</summary>
internal sealed class NodeCommand : CheckedCommand
{
    internal readonly Option<int> HttpPort = new("--http-port")
    {
        Description = "HTTP port of the REST API.",
        DefaultValueFactory = _ => 6333,
        HelpName = "PORT",
    };

    internal readonly Option<int> AkkaPort = new("--akka-port")
    {
        Description = "Port other nodes reach this one at (Akka.Remote).",
        DefaultValueFactory = _ => 4053,
        HelpName = "PORT",
    };

    internal readonly Option<string> Host = new("--host")
    {
        Description = "Address other nodes and clients reach this node at; the HTTP API listens on it too.",
        DefaultValueFactory = _ => "127.0.0.1",
        HelpName = "HOST",
    };

    internal readonly Option<string[]> Seed = new("--seed")
    {
        Description = "A seed node to join, as HOST:PORT (its Akka port); repeat for several. None: form a new cluster with this node as its seed.",
        HelpName = "HOST:PORT",
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal readonly Option<string> Data = new("--data")
    {
        Description = "Folder of the node's local data (the SQLite journal); created when missing.",
        DefaultValueFactory = _ => "./vlink-data",
        HelpName = "DIR",
    };

    internal readonly Option<string> Persistence = new("--persistence")
    {
        Description = "Journal kind: sqlite (a file in --data) or postgres (needs --connection).",
        DefaultValueFactory = _ => "sqlite",
        HelpName = "sqlite|postgres",
    };

    internal readonly Option<string> Connection = new("--connection")
    {
        Description = "Journal connection string: required with --persistence postgres; with sqlite it replaces the file in --data.",
        HelpName = "STRING",
    };

    internal readonly Option<string> ApiKeys = new("--api-keys")
    {
        Description = "JSON file of API keys: [{\"key\":\"...\",\"role\":\"read|write|admin\"}]. Without it the keys are in DIR/api-keys.json, where the first start generates an admin key and prints it once.",
        HelpName = "FILE",
    };

    internal readonly Option<int?> HedgeDelay = new("--hedge-delay")
    {
        Description = "Collections with replicas: milliseconds a search waits for the replicas it asked before asking the others too (default 100); 0 turns hedging off.",
        HelpName = "MS",
    };

    /// <summary>The command, with its flags validated before anything starts.</summary>
    public NodeCommand()
        : base("node", "Run a VLink node in this process: the REST API on --http-port and a cluster member on --akka-port.")
    {
        Persistence.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "sqlite", "postgres");
        HttpPort.Check(port => PortProblem(HttpPort, port));
        AkkaPort.Check(port => PortProblem(AkkaPort, port));
        Host.Check(host => IsHost(host) ? null : $"--host: '{host}' is not a host name or IP address.");
        Seed.Check(seeds => (seeds ?? []).Select(ParseSeed).OfType<string>().Select(p => $"--seed: {p}").FirstOrDefault());
        Data.Check(data => string.IsNullOrWhiteSpace(data) ? "--data: the data folder must not be empty." : null);
        ApiKeys.Check(file =>
            string.IsNullOrWhiteSpace(file) ? "--api-keys: name a file."
            : Directory.Exists(file) ? $"--api-keys: '{file}' is a folder, not a file."
            : !File.Exists(file) ? $"--api-keys: '{file}' does not exist."
            : null);

        HedgeDelay.Check(ms => ms is < 0 or > 60_000 ? $"--hedge-delay: {ms} is not between 0 and 60000 milliseconds." : null);

        foreach (var option in new Option[] { HttpPort, AkkaPort, Host, Seed, Data, Persistence, Connection, ApiKeys, HedgeDelay }) Options.Add(option);
        Checks.Add(parse =>
            string.Equals(parse.GetValue(Persistence), "postgres", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(parse.GetValue(Connection))
                ? "--connection is required with --persistence postgres (for example \"Host=db;Username=vlink;Password=...;Database=vlink\")."
                : null);
        Checks.Add(parse => string.Equals(parse.GetValue(Persistence), "postgres", StringComparison.OrdinalIgnoreCase)
            ? null
            : JournalIdentity.RefusalOf(new NodeAddress(parse.GetValue(Host)!, parse.GetValue(AkkaPort), [.. (parse.GetValue(Seed) ?? []).Select(s => s.Trim())],
                PersistenceKind.Sqlite, parse.GetValue(Connection) is { Length: > 0 } c ? c : VLinkConfig.SqliteConnection(parse.GetValue(Data)!))) is { } refusal
                ? $"--seed: {refusal}"
                : null);
        Checks.Add(parse => parse.GetValue(HttpPort) == parse.GetValue(AkkaPort)
            ? $"--http-port and --akka-port must differ (both are {parse.GetValue(HttpPort)})."
            : null);
        SetAction(RunAsync);
    }

    /// <summary>The server's configuration arguments (<c>--VLink:Key=value</c>) for a parsed <c>vlink node</c>.</summary>
    internal string[] ServerArguments(ParseResult parse)
    {
        var args = new List<string>
        {
            Setting("HttpPort", parse.GetValue(HttpPort).ToString(CultureInfo.InvariantCulture)),
            Setting("AkkaPort", parse.GetValue(AkkaPort).ToString(CultureInfo.InvariantCulture)),
            Setting("Host", parse.GetValue(Host)!),
            Setting("DataDirectory", parse.GetValue(Data)!),
            Setting("Persistence", string.Equals(parse.GetValue(Persistence), "postgres", StringComparison.OrdinalIgnoreCase) ? "Postgres" : "Sqlite"),
        };
        string[] seeds = parse.GetValue(Seed) ?? [];
        for (int i = 0; i < seeds.Length; i++) args.Add(Setting(string.Create(CultureInfo.InvariantCulture, $"Seeds:{i}"), seeds[i].Trim()));
        if (parse.GetValue(Connection) is { Length: > 0 } connection) args.Add(Setting("Connection", connection));
        if (parse.GetValue(ApiKeys) is { Length: > 0 } keys) args.Add(Setting("ApiKeysFile", Path.GetFullPath(keys)));
        if (parse.GetValue(HedgeDelay) is { } hedge) args.Add(Setting("HedgeDelayMs", hedge.ToString(CultureInfo.InvariantCulture)));
        return [.. args];
    }

    /// <summary>Why <paramref name="seed"/> is not HOST:PORT, or null when it is.</summary>
    internal static string? ParseSeed(string seed)
    {
        string text = seed.Trim();
        int colon = text.LastIndexOf(':');
        if (colon <= 0) return $"'{seed}' is not HOST:PORT (for example 10.0.0.5:4053).";
        if (!IsHost(text[..colon])) return $"'{seed}' has an invalid host '{text[..colon]}'.";
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            return $"'{seed}' has an invalid port '{text[(colon + 1)..]}' (1-65535).";
        return null;
    }

    private static string? PortProblem(Option<int> option, int port) =>
        port is < 1 or > 65535 ? $"{option.Name}: {port} is not a port (1-65535)." : null;

    private static bool IsHost(string? host) =>
        !string.IsNullOrWhiteSpace(host) && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '[' or ']');

    /// <summary>The first real failure inside wrappers (aggregates, "see inner exception"), with its cause.</summary>
    internal static string Describe(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: > 0 } aggregate) e = aggregate.InnerExceptions[0];
        string message = e.Message.Replace(" See InnerException for details.", "", StringComparison.Ordinal).TrimEnd('.');
        return e.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal)
            ? $"{message}: {Describe(inner)}"
            : message;
    }

    private static string Setting(string key, string value) => $"--{VLinkServerOptions.Section}:{key}={value}";

    private async Task<int> RunAsync(ParseResult parse)
    {
        string[] args = ServerArguments(parse);
        string seeds = parse.GetValue(Seed) is { Length: > 0 } s ? string.Join(", ", s) : "none (a new cluster)";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"vlink node: HTTP on http://{parse.GetValue(Host)}:{parse.GetValue(HttpPort)}, cluster port {parse.GetValue(AkkaPort)}, seeds: {seeds}, journal: {parse.GetValue(Persistence)?.ToLowerInvariant()}"));
        try
        {
            var app = VLinkServerApp.Build(args);
            var host = app.Services.GetService(typeof(VLinkNodeHost)) as VLinkNodeHost;
            await app.RunAsync().ConfigureAwait(false);
            if (host is { JournalRefusal: { } refusal })
            {
                Console.Error.WriteLine($"vlink node: left the cluster: {refusal}");
                return VLinkCli.Failed;
            }
            return 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A port in use, an unreachable journal, a bad keys file: one line, not a stack trace.
            Console.Error.WriteLine($"vlink node: cannot run the node: {Describe(e)}");
            return VLinkCli.Failed;
        }
    }
}
