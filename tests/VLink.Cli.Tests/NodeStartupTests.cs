using System.Net;
using System.Net.Sockets;

namespace VLink.Cli.Tests;

/// <summary><c>vlink node</c> as a process: refusals are one line on stderr with a non-zero exit code.</summary>
public sealed class NodeStartupTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("vlink-cli-node-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Bad_flags_exit_2_before_anything_starts()
    {
        var run = await VLinkProgram.RunAsync(["node", "--akka-port", "70000", "--persistence", "postgres", "--data", _data]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("vlink: --akka-port: 70000 is not a port (1-65535).", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("run 'vlink node --help' for usage", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_data));
    }

    [Fact]
    public async Task A_taken_cluster_port_is_one_line_and_exit_1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var run = await VLinkProgram.RunAsync(
            ["node", "--http-port", $"{VLinkProgram.FreePort()}", "--akka-port", $"{port}", "--data", _data],
            timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"vlink node: cannot run the node: Failed to bind to [127.0.0.1:{port}]", run.Stderr, StringComparison.Ordinal);
    }
}
