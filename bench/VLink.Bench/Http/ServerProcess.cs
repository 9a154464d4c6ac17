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
    public static ServerProcess Start(string assembly, string dataDirectory, int? seedAkkaPort, string keysFile)
    {
        int http = FreePort(), akka = FreePort();
        Directory.CreateDirectory(dataDirectory);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
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
        if (cli) info.ArgumentList.Add("node");
        Setting("--http-port", "HttpPort", http.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Setting("--akka-port", "AkkaPort", akka.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Setting("--host", "Host", "127.0.0.1");
        Setting("--data", "DataDirectory", dataDirectory);
        Setting("--api-keys", "ApiKeysFile", keysFile);
        if (seedAkkaPort is { } seed) Setting("--seed", "Seeds:0", $"127.0.0.1:{seed}");
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["DOTNET_gcServer"] = "1";

        string log = Path.Combine(dataDirectory, "node.log");
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var writer = new StreamWriter(log) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(process, http, akka, log);
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
