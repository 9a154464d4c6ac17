using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Xunit.Abstractions;

namespace VLink.Cli.Tests;

/// <summary>
/// README.md's "A cluster" section run as a newcomer runs it: its lines in order, each through bash with the README's
/// <c>vlink</c> alias, in a fresh folder, each node a process of its own. Between node 1 and the others the test writes
/// 1,000 points, as the newcomer of the data-safety report did; once nodes 2 and 3 have joined and partitions have
/// moved to them, every node must count all 1,000 in every complete answer, and <c>vlink cluster show</c> must list three
/// members.
/// </summary>
public sealed class ReadmeClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Collection = "docs";
    private const int Points = 1000;
    private readonly string _folder = Directory.CreateTempSubdirectory("vlink-readme-cluster-").FullName;
    private readonly List<Process> _processes = [];
    private readonly StringBuilder _log = new();
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };

    [PostgresFact]
    public async Task The_README_cluster_keeps_every_point_written_before_nodes_joined()
    {
        var (alias, lines) = ClusterSection();
        // The README's server and ports are the ones .ci/run's PostgreSQL uses; elsewhere its first line would start a second one.
        Assert.Contains("Port=54329", Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES"), StringComparison.Ordinal);
        // A fresh folder that sees the repository's scripts and build output where the README's relative paths expect them.
        foreach (string dir in new[] { "src", "tests" })
            Directory.CreateSymbolicLink(Path.Combine(_folder, dir), Path.Combine(Repository.Root, dir));

        // 1. PostgreSQL (already running here: the script keeps it), then an empty "vlink" database as on a new machine.
        Assert.StartsWith("tests/scripts/postgres.sh start", lines[0], StringComparison.Ordinal);
        var start = await Bash(alias, lines[0], TimeSpan.FromMinutes(5));
        Assert.True(start.Exit == 0, $"'{lines[0]}' failed: {start.Output}");
        await EmptyDatabaseAsync();

        // 2. Node 1, then 1,000 acknowledged points in a collection of 6 partitions, all on node 1.
        var nodes = lines.Where(l => l.StartsWith("vlink node ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, nodes.Count);
        StartNode(alias, nodes[0]);
        string[] urls = [.. nodes.Select(l => $"http://127.0.0.1:{Flag(l, "--http-port")}")];
        await WaitReadyAsync(urls[0]);
        string key = await KeyAsync();
        _client.DefaultRequestHeaders.Add("api-key", key);
        await Ok(await _client.PutAsJsonAsync($"{urls[0]}/collections/{Collection}",
            new JsonObject { ["vectors"] = new JsonObject { ["size"] = 4, ["distance"] = "Euclid" }, ["shard_number"] = 6 }));
        for (int batch = 0; batch < Points / 250; batch++)
        {
            var points = new JsonArray();
            for (int i = batch * 250; i < (batch + 1) * 250; i++)
                points.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, i % 7, i % 11, 1), ["payload"] = new JsonObject { ["n"] = i } });
            await Ok(await _client.PutAsJsonAsync($"{urls[0]}/collections/{Collection}/points?wait=true", new JsonObject { ["points"] = points }));
        }
        Assert.Equal(Points, await CountAsync(urls[0]));

        // 3. Nodes 2 and 3 join as the README starts them; then the README's last lines.
        StartNode(alias, nodes[1]);
        StartNode(alias, nodes[2]);
        await Task.WhenAll(urls.Skip(1).Select(WaitReadyAsync));
        var rest = lines.SkipWhile(l => !l.StartsWith("export VLINK_API_KEY", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(rest);
        var show = await Bash(alias, string.Join('\n', rest), TimeSpan.FromMinutes(2));
        output.WriteLine(show.Output);
        Assert.True(show.Exit == 0, $"'{string.Join(" ; ", rest)}' failed: {show.Output}");
        Assert.Contains("members: 3", show.Output, StringComparison.Ordinal);

        // 4. Partitions move to the new nodes (sharding rebalances a few at a time); meanwhile and after, every complete
        //    count from every node is exactly 1,000.
        var clock = Stopwatch.StartNew();
        int moved = 0, complete = 0, partial = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            foreach (string url in urls)
            {
                var answer = await CountAnswerAsync(url);
                if (answer is null) continue;
                if ((bool?)answer["complete"] == false) { partial++; continue; }
                complete++;
                Assert.True((long)answer["result"]!["count"]! == Points, $"{url} answered a complete count of {answer["result"]!["count"]} after the joins:\n{Logs()}");
            }
            moved = await PartitionsOffNodeOneAsync(urls[0], nodes[0]);
            if (moved >= 2 && clock.Elapsed > TimeSpan.FromSeconds(5)) break;
            await Task.Delay(500);
        }
        output.WriteLine($"{moved} of 6 partitions moved off node 1 in {clock.Elapsed.TotalSeconds:0.0} s; {complete} complete counts (all {Points}), {partial} partial");
        Assert.True(moved >= 1, $"no partition moved to nodes 2 and 3 within 120 s, so the README's scenario was not exercised:\n{Logs()}");
        foreach (string url in urls)
            Assert.Equal(Points, await Poll(() => CountAsync(url)));
        // Every point, read back by id through the last node.
        var read = await Ok(await _client.PostAsJsonAsync($"{urls[2]}/collections/{Collection}/points",
            new JsonObject { ["ids"] = new JsonArray([.. Enumerable.Range(0, Points).Select(i => (JsonNode)i)]) }));
        Assert.Equal(Points, read["result"]!.AsArray().Count);
    }

    /// <summary>The README's <c>vlink</c> alias and the lines of its cluster block.</summary>
    private static (string Alias, List<string> Lines) ClusterSection()
    {
        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var blocks = DocCommands.ShellBlocks(readme).Select(b => b.Lines.Select(l => l.Text.Trim()).Where(t => t.Length > 0).ToList()).ToList();
        string alias = blocks.SelectMany(b => b).Single(l => l.StartsWith("alias vlink=", StringComparison.Ordinal));
        int section = readme.IndexOf("**5. A cluster.**", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no '5. A cluster' section");
        string after = readme[section..];
        var block = DocCommands.ShellBlocks(after).First().Lines.Select(l => l.Text.Trim()).Where(t => t.Length > 0).ToList();
        return (alias, block);
    }

    private static string Flag(string line, string flag)
    {
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words[Array.IndexOf(words, flag) + 1];
    }

    private static ProcessStartInfo BashInfo(string alias, string script, string folder)
    {
        var info = new ProcessStartInfo("bash", ["-O", "expand_aliases", "-c", alias + "\n" + script])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment.Remove("VLINK_API_KEY");
        info.Environment.Remove("VLINK_URL");
        return info;
    }

    private async Task<(int Exit, string Output)> Bash(string alias, string script, TimeSpan timeout)
    {
        using var process = Process.Start(BashInfo(alias, script, _folder))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private void StartNode(string alias, string line)
    {
        var process = Process.Start(BashInfo(alias, line, _folder))!;
        string name = $"node {_processes.Count + 1}";
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine($"[{name}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine($"[{name}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
    }

    private string Logs()
    {
        lock (_log) return _log.Length > 12_000 ? _log.ToString()[^12_000..] : _log.ToString();
    }

    private async Task WaitReadyAsync(string url)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            Assert.True(_processes.All(p => !p.HasExited), $"a node exited:\n{Logs()}");
            try
            {
                using var response = await _client.GetAsync($"{url}/readyz");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"{url} was not ready within 120 s:\n{Logs()}");
            await Task.Delay(250);
        }
    }

    // The key node 1 generated and keeps in its folder (the README's export line reads the same file).
    private async Task<string> KeyAsync()
    {
        var keys = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_folder, "n1", "api-keys.json")))!.AsArray();
        return (string)keys[0]!["key"]!;
    }

    private static async Task EmptyDatabaseAsync()
    {
        var server = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES")) { Database = "postgres" };
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        foreach (string sql in new[] { "DROP DATABASE IF EXISTS vlink WITH (FORCE)", "CREATE DATABASE vlink" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    private async Task<JsonObject?> CountAnswerAsync(string url)
    {
        try
        {
            using var response = await _client.PostAsJsonAsync($"{url}/collections/{Collection}/points/count", new JsonObject { ["exact"] = true });
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    // A complete count, or null while the answer is partial or refused.
    private async Task<long?> CountAsync(string url) =>
        await CountAnswerAsync(url) is { } answer && (bool?)answer["complete"] != false ? (long)answer["result"]!["count"]! : null;

    private static async Task<long> Poll(Func<Task<long?>> probe)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (await probe() is { } value) return value;
            Assert.True(DateTime.UtcNow < deadline, "no complete answer within 60 s");
            await Task.Delay(250);
        }
    }

    // How many of the collection's partitions live on nodes other than node 1 (GET /cluster/shards).
    private async Task<int> PartitionsOffNodeOneAsync(string url, string nodeOneLine)
    {
        try
        {
            var shards = await _client.GetFromJsonAsync<JsonObject>($"{url}/cluster/shards");
            string nodeOne = $"127.0.0.1:{Flag(nodeOneLine, "--akka-port")}";
            return shards!["result"]!["nodes"]!.AsArray()
                .Where(n => !((string?)n!["address"] ?? "").EndsWith(nodeOne, StringComparison.Ordinal))
                .Sum(n => n!["partitions"]!.AsArray().Count(p => (string?)p!["collection"] == Collection));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or NullReferenceException)
        {
            return 0;
        }
    }

    private static async Task<JsonObject> Ok(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
        _client.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
