using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace VLink.Bench.Http;

/// <summary>
/// One VLink node in its own process on loopback ports: <c>vlink node</c> when the CLI is built, else the server
/// assembly with the same settings as configuration keys. Its output goes to a log file in its data folder.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, int httpPort, int akkaPort, string logPath)
    {
        _process = process;
        HttpPort = httpPort;
        AkkaPort = akkaPort;
        LogPath = logPath;
    }

    public int HttpPort { get; }

    public int AkkaPort { get; }

    public string LogPath { get; }

    public Uri Url => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>Finds the node's entry assembly: <paramref name="explicitPath"/>, or the Release build in this checkout.</summary>
    public static string Locate(string? explicitPath)
    {
        if (explicitPath is not null)
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : throw new Cli.UsageException($"--server: {explicitPath} does not exist");
        // The checkout this bench was built in, else the one the current folder is in.
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "VLink.sln"))) continue;
                foreach (string candidate in new[] { "src/VLink.Cli/bin/Release/net10.0/vlink.dll", "src/VLink.Server/bin/Release/net10.0/VLink.Server.dll" })
                {
                    string path = Path.Combine(dir.FullName, candidate);
                    if (File.Exists(path)) return path;
                }
                break;
            }
        }
        throw new Cli.UsageException("no built server found: run 'dotnet build VLink.sln -c Release' in the checkout, or pass --server PATH");
    }

    /// <summary>Starts a node; <paramref name="seedAkkaPort"/> null forms a new cluster.</summary>
    public static ServerProcess Start(string assembly, string dataDirectory, int? seedAkkaPort, string keysFile) =>
        Start(assembly, new ServerSettings(dataDirectory, FreePort(), FreePort(), seedAkkaPort is { } seed ? [seed] : [], keysFile));

    /// <summary>
    /// Starts a node as <paramref name="settings"/> say (its own ports, seeds, journal, extra flags); its log is appended
    /// to, so a node started again keeps the earlier output.
    /// </summary>
    public static ServerProcess Start(string assembly, ServerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(settings.DataDirectory);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = settings.DataDirectory,
        };
        info.ArgumentList.Add(assembly);
        bool cli = Path.GetFileName(assembly).Equals("vlink.dll", StringComparison.OrdinalIgnoreCase);
        void Setting(string flag, string key, string value)
        {
            if (cli)
            {
                info.ArgumentList.Add(flag);
                info.ArgumentList.Add(value);
            }
            else
            {
                info.ArgumentList.Add($"--VLink:{key}={value}");
            }
        }
        string Number(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (cli) info.ArgumentList.Add("node");
        Setting("--http-port", "HttpPort", Number(settings.HttpPort));
        Setting("--akka-port", "AkkaPort", Number(settings.AkkaPort));
        Setting("--host", "Host", "127.0.0.1");
        Setting("--data", "DataDirectory", settings.DataDirectory);
        Setting("--api-keys", "ApiKeysFile", settings.KeysFile);
        for (int i = 0; i < settings.SeedAkkaPorts.Count; i++) Setting("--seed", $"Seeds:{i}", $"127.0.0.1:{Number(settings.SeedAkkaPorts[i])}");
        if (settings.Postgres is { } connection)
        {
            Setting("--persistence", "Persistence", cli ? "postgres" : "Postgres");
            Setting("--connection", "Connection", connection);
        }
        if (settings.HedgeDelayMs is { } hedge) Setting("--hedge-delay", "HedgeDelayMs", Number(hedge));
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        if (settings.ServerGc) info.Environment["DOTNET_gcServer"] = "1";
        if (settings.ExtraHocon is { } hocon) info.Environment["VLink__ExtraHocon"] = hocon;

        string log = Path.Combine(settings.DataDirectory, "node.log");
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(process, settings.HttpPort, settings.AkkaPort, log) { Settings = settings, Assembly = assembly };
    }

    /// <summary>How the node was started (<see cref="Restart"/> starts it again the same way).</summary>
    public ServerSettings Settings { get; private init; } = null!;

    private string Assembly { get; init; } = "";

    /// <summary>The process id (its memory is read from <c>/proc</c>).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Kills the process with SIGKILL (nothing flushed, no goodbye to the cluster) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts the node again as it was started (same ports, folder and journal); this one must have ended.</summary>
    public ServerProcess Restart()
    {
        if (!_process.HasExited) throw new InvalidOperationException($"the node on port {HttpPort} is still running");
        _process.Dispose();
        return Start(Assembly, Settings);
    }

    /// <summary>Waits until <c>/readyz</c> answers 200.</summary>
    public async Task WaitReadyAsync(HttpClient client, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the node on port {HttpPort} exited with {_process.ExitCode}; its log: {LogPath}");
            try
            {
                using var response = await client.GetAsync(new Uri(Url, "/readyz"));
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the node on port {HttpPort} did not become ready; its log: {LogPath}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    /// <summary>A free loopback port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>How to start one node process.</summary>
/// <param name="DataDirectory">Its folder (log, and the SQLite journal without <see cref="Postgres"/>).</param>
/// <param name="HttpPort">REST port.</param>
/// <param name="AkkaPort">Cluster port.</param>
/// <param name="SeedAkkaPorts">Seeds' cluster ports on loopback (none: a new cluster of its own).</param>
/// <param name="KeysFile">The API-keys file.</param>
internal sealed record ServerSettings(string DataDirectory, int HttpPort, int AkkaPort, IReadOnlyList<int> SeedAkkaPorts, string KeysFile)
{
    /// <summary>The journal on PostgreSQL at this connection string; null: SQLite in the data folder.</summary>
    public string? Postgres { get; init; }

    /// <summary>Runs the node with the server GC (as a throughput benchmark wants); false keeps the node's own default.</summary>
    public bool ServerGc { get; init; } = true;

    /// <summary><c>--hedge-delay</c>, or null for the node's default.</summary>
    public int? HedgeDelayMs { get; init; }

    /// <summary>HOCON over the defaults (<c>VLink__ExtraHocon</c>), or null.</summary>
    public string? ExtraHocon { get; init; }
}
