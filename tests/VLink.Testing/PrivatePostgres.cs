using System.Diagnostics;
using Npgsql;

namespace VLink.Testing;

/// <summary>
/// A PostgreSQL server of one test's own (Debian's package, started as tests/scripts/postgres.sh starts one) on a free
/// port and in its own data directory, which the test may stop and start again: never the server other tests share.
/// Needs what the shared server needs (root, to run it as the postgres user), so run it under
/// <see cref="PostgresFactAttribute"/>.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _state;

    private PrivatePostgres(string bin, string state, int port)
    {
        _bin = bin;
        _state = state;
        Port = port;
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The connection string of its <c>postgres</c> database (user vlink, trust authentication).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=vlink;Database=postgres";

    /// <summary>Creates the data directory and starts the server.</summary>
    public static async Task<PrivatePostgres> CreateAsync()
    {
        string bin = Directory.GetDirectories("/usr/lib/postgresql").OrderBy(d => int.TryParse(Path.GetFileName(d), out int v) ? v : 0).LastOrDefault()
            is { } version ? Path.Combine(version, "bin") : throw new InvalidOperationException("PostgreSQL is not installed (/usr/lib/postgresql).");
        string state = Directory.CreateTempSubdirectory("vlink-private-pg-").FullName;
        var server = new PrivatePostgres(bin, state, VLinkProgram.FreePort());
        try
        {
            await RunAsync("chown", "postgres:postgres", state);
            await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(bin, "initdb"), "-D", Path.Combine(state, "data"), "-A", "trust", "-U", "vlink");
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Starts the (stopped) server again on the same port and data, and waits until it accepts connections.</summary>
    public Task StartAsync() => RunAsync("runuser", "-u", "postgres", "--", Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_state, "data"),
        "-l", Path.Combine(_state, "server.log"), "-w", "-o", $"-p {Port} -k {_state} -c listen_addresses=127.0.0.1 -c max_connections=300", "start");

    /// <summary>Stops the server as a crash would (<c>pg_ctl stop -m immediate</c>): every connection is cut at once.</summary>
    public Task StopImmediatelyAsync() =>
        RunAsync("runuser", "-u", "postgres", "--", Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_state, "data"), "-m", "immediate", "-w", "stop");

    /// <summary>Stops the server (if it runs) and deletes its data.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (File.Exists(Path.Combine(_state, "data", "postmaster.pid"))) await StopImmediatelyAsync();
        }
        finally
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    private static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
    }
}
