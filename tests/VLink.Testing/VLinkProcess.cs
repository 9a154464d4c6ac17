using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VLink.Testing;

/// <summary>How to start one <c>vlink node</c>.</summary>
/// <param name="DataDirectory">Its folder (SQLite journal, log).</param>
/// <param name="HttpPort">REST port.</param>
/// <param name="AkkaPort">Cluster port.</param>
/// <param name="SeedAkkaPorts">The seeds' cluster ports on loopback, first seed first (only its own: a new cluster).</param>
/// <param name="KeysFile">The API-keys file.</param>
public sealed record NodeSpec(string DataDirectory, int HttpPort, int AkkaPort, IReadOnlyList<int> SeedAkkaPorts, string KeysFile)
{
    /// <summary>The journal on PostgreSQL at this connection string; null: SQLite in <see cref="DataDirectory"/>.</summary>
    public string? PostgresConnection { get; init; }

    /// <summary>HOCON over the defaults. The default asks generously: tests share the machine with other test projects.</summary>
    public string ExtraHocon { get; init; } = "vlink.gather.timeout = 20s";

    /// <summary>More environment variables (server settings such as <c>VLink__MaxBodyBytes</c>).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>What a finished vlink command printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs the built <c>vlink</c> program (beside the tests) as a real process.</summary>
public static class VLinkProgram
{
    /// <summary>vlink.dll as built with this test project (the project reference copies it and its runtime config here).</summary>
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "vlink.dll");

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Path);
        foreach (string arg in args) info.ArgumentList.Add(arg);
        // A key in the test runner's environment must not leak into a test that runs without one.
        info.Environment.Remove("VLINK_API_KEY");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) info.Environment[key] = value;
        return info;
    }

    /// <summary>Runs one command to completion (killed after <paramref name="timeout"/>).</summary>
    public static async Task<CliRun> RunAsync(IEnumerable<string> args, string? apiKey = null, TimeSpan? timeout = null)
    {
        var environment = new Dictionary<string, string?>();
        if (apiKey is not null) environment["VLINK_API_KEY"] = apiKey;
        using var process = Process.Start(StartInfo(args, environment)) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"vlink {string.Join(' ', args)} did not finish: {await stdout} {await stderr}");
        }
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }

    private static readonly HashSet<int> GivenPorts = [];

    /// <summary>
    /// A free loopback port, never one handed out before in this test run: the system may give a port it just released
    /// again at once, and two flags of one node (or two nodes) must not get the same one.
    /// </summary>
    public static int FreePort()
    {
        lock (GivenPorts)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                int port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (GivenPorts.Add(port)) return port;
            }
        }
    }
}

/// <summary>One <c>vlink node</c> process on loopback ports; its output goes to a log file; disposing kills it.</summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _gate = new();

    private NodeProcess(Process process, int httpPort, int akkaPort, string dataDirectory, string logPath, StreamWriter log)
    {
        _process = process;
        HttpPort = httpPort;
        AkkaPort = akkaPort;
        DataDirectory = dataDirectory;
        LogPath = logPath;
        _log = log;
    }

    public int HttpPort { get; }

    public int AkkaPort { get; }

    public string DataDirectory { get; }

    public string LogPath { get; }

    public string Url => $"http://127.0.0.1:{HttpPort}";

    /// <summary>The node's cluster address as Akka writes it.</summary>
    public string Address => $"akka.tcp://vlink@127.0.0.1:{AkkaPort}";

    public bool HasExited => _process.HasExited;

    /// <summary>The process id (for reading its memory).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The process's resident memory now, in bytes.</summary>
    public long WorkingSetBytes()
    {
        _process.Refresh();
        return _process.WorkingSet64;
    }

    /// <summary>How the node was started; <see cref="RestartAsync"/> starts it again the same way.</summary>
    public NodeSpec Spec { get; private set; } = null!;

    /// <summary>Starts <c>vlink node</c> with the given seed (its own port forms a new cluster), SQLite in its folder.</summary>
    public static NodeProcess Start(string dataDirectory, int httpPort, int akkaPort, int seedAkkaPort, string keysFile) =>
        Start(new NodeSpec(dataDirectory, httpPort, akkaPort, [seedAkkaPort], keysFile));

    /// <summary>
    /// The command line of a node as these tests run it, on loopback unless <paramref name="host"/> and
    /// <paramref name="seedHost"/> say otherwise (docker/compose.yaml runs the same flags).
    /// </summary>
    public static List<string> Arguments(NodeSpec spec, string host = "127.0.0.1", string seedHost = "127.0.0.1")
    {
        ArgumentNullException.ThrowIfNull(spec);
        var args = new List<string>
        {
            "node", "--http-port", $"{spec.HttpPort}", "--akka-port", $"{spec.AkkaPort}", "--host", host,
            "--data", spec.DataDirectory, "--api-keys", spec.KeysFile,
        };
        foreach (int seed in spec.SeedAkkaPorts) args.AddRange(["--seed", $"{seedHost}:{seed}"]);
        if (spec.PostgresConnection is { } connection) args.AddRange(["--persistence", "postgres", "--connection", connection]);
        return args;
    }

    /// <summary>Starts <c>vlink node</c> as <paramref name="spec"/> says; its output is appended to <c>node.log</c> in its folder.</summary>
    public static NodeProcess Start(NodeSpec spec)
    {
        Directory.CreateDirectory(spec.DataDirectory);
        var args = Arguments(spec);
        var environment = new Dictionary<string, string?>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            ["VLink__ExtraHocon"] = "akka.loglevel = WARNING\n" + spec.ExtraHocon,
        };
        foreach (var (key, value) in spec.Environment) environment[key] = value;
        var info = VLinkProgram.StartInfo(args, environment);
        info.WorkingDirectory = spec.DataDirectory;
        string logPath = System.IO.Path.Combine(spec.DataDirectory, "node.log");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        log.WriteLine($"===== vlink node started {DateTime.UtcNow:O} =====");
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var node = new NodeProcess(process, spec.HttpPort, spec.AkkaPort, spec.DataDirectory, logPath, log) { Spec = spec };
        process.OutputDataReceived += (_, e) => node.Write(e.Data);
        process.ErrorDataReceived += (_, e) => node.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Kills the process with SIGKILL (no goodbye to the cluster, nothing flushed) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        Write($"===== killed with SIGKILL {DateTime.UtcNow:O} =====");
    }

    /// <summary>Starts the node again as it was started first (same ports, folder and journal); this one must have ended.</summary>
    public NodeProcess Restart()
    {
        if (!_process.HasExited) throw new InvalidOperationException($"the node on port {HttpPort} is still running");
        lock (_gate) _log.Dispose();
        return Start(Spec);
    }

    /// <summary>Waits until <c>/readyz</c> answers 200 (the node is Up and the catalog answers).</summary>
    public async Task WaitReadyAsync(HttpClient client, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the node on port {HttpPort} exited with {_process.ExitCode}:\n{Log()}");
            try
            {
                using var response = await client.GetAsync($"{Url}/readyz");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the node on port {HttpPort} did not become ready:\n{Log()}");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits for the process to end by itself; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the node on port {HttpPort} is still running after {timeout}:\n{Log()}");
        }
        return _process.ExitCode;
    }

    /// <summary>The node's output so far, its last 6,000 characters (for failure messages).</summary>
    public string Log()
    {
        lock (_gate)
        {
            _log.Flush();
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            string text = new StreamReader(stream).ReadToEnd();
            return text.Length > 6000 ? text[^6000..] : text;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
        _process.Dispose();
        lock (_gate) _log.Dispose();
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the node was disposed.
            }
        }
    }
}
