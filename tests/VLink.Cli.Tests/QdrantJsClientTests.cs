using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VLink.Cli.Tests;

/// <summary>
/// The official Qdrant JS client (<c>@qdrant/js-client-rest</c> from npm, pinned in tests/js/package-lock.json)
/// drives a real <c>vlink node</c>: the node script in tests/js creates, upserts, searches with filters, scrolls,
/// counts, sets payloads, deletes and recreates, checking every answer against brute force. In the same run the
/// official MCP TypeScript SDK (<c>@modelcontextprotocol/sdk</c>) drives <c>vlink mcp</c> in front of that node, over
/// stdio and over HTTP: it lists the tools and calls each (tests/js/mcp.test.mjs).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class QdrantJsClientTests(ClusterFixture cluster)
{
    [Fact]
    public async Task The_official_qdrant_js_client_works_against_a_vlink_node()
    {
        string scripts = Path.Combine(RepositoryRoot(), "tests", "js");
        if (!File.Exists(Path.Combine(scripts, "node_modules", "@qdrant", "js-client-rest", "package.json"))
            || !File.Exists(Path.Combine(scripts, "node_modules", "@modelcontextprotocol", "sdk", "package.json")))
        {
            var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], scripts, new Dictionary<string, string?>(), TimeSpan.FromMinutes(5));
            Assert.True(install.ExitCode == 0, $"npm ci in tests/js failed:\n{install}");
        }

        // A node other than the seed: the client's requests are scattered over the whole cluster from there.
        var node = cluster.Nodes[1];
        var run = await RunAsync("node", ["--test", "--test-reporter=tap"], scripts, new Dictionary<string, string?>
        {
            ["VLINK_URL"] = node.Url,
            ["VLINK_API_KEY"] = ClusterFixture.AdminKey,
            ["VLINK_CLI"] = VLinkProgram.Path,
        }, TimeSpan.FromMinutes(4));

        var passed = PassLine().Match(run.Stdout);
        var failed = FailLine().Match(run.Stdout);
        Assert.True(run.ExitCode == 0 && failed.Success && failed.Groups[1].Value == "0", $"the JS client tests failed:\n{run}\n{cluster.Logs()}");
        Assert.True(passed.Success && int.Parse(passed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, $"no JS client test ran:\n{run}");
        // Every script ran: the MCP tests skip themselves only when VLINK_CLI is missing.
        Assert.True(SkipLine().Match(run.Stdout) is { Success: true } skipped && skipped.Groups[1].Value == "0", $"some JS tests were skipped:\n{run}");
        Assert.Contains("vlink mcp over stdio", run.Stdout, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VLink.sln"))) return dir.FullName;
        throw new InvalidOperationException("the test does not run inside a VLink checkout (no VLink.sln above " + AppContext.BaseDirectory + ")");
    }

    private static async Task<CliRun> RunAsync(string program, string[] args, string directory, Dictionary<string, string?> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args) info.ArgumentList.Add(arg);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{program}' is not installed: the Qdrant JS client test needs Node.js 18+ and npm (Debian: apt-get install nodejs npm). {e.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout}:\n{await stdout}\n{await stderr}");
            }
            return new CliRun(process.ExitCode, await stdout, await stderr);
        }
    }

    [GeneratedRegex(@"^# pass (\d+)$", RegexOptions.Multiline)]
    private static partial Regex PassLine();

    [GeneratedRegex(@"^# fail (\d+)$", RegexOptions.Multiline)]
    private static partial Regex FailLine();

    [GeneratedRegex(@"^# skipped (\d+)$", RegexOptions.Multiline)]
    private static partial Regex SkipLine();
}
