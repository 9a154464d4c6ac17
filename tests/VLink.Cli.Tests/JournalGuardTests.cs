using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace VLink.Cli.Tests;

/// <summary>
/// A cluster never serves a partition from a store that lacks its history: a node on a SQLite file of its own refuses
/// to join others before it starts, and a node that joins a cluster keeping its journal elsewhere leaves it, exits with
/// status 1 naming the fix, and is given no partition meanwhile (real processes).
/// </summary>
public sealed class JournalGuardTests : IAsyncDisposable
{
    private const string Key = "journal-guard-admin-4e1a9c";
    private readonly string _root = Directory.CreateTempSubdirectory("vlink-journal-guard-").FullName;
    private readonly List<NodeProcess> _nodes = [];
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };

    public JournalGuardTests() => _client.DefaultRequestHeaders.Add("api-key", Key);

    private static IReadOnlyList<string> Problems(params string[] args) => VLinkCli.Problems(VLinkCli.BuildRoot().Parse(args));

    [Fact]
    public void A_SQLite_node_refuses_seeds_other_than_itself_and_names_the_fix()
    {
        var refused = Problems("node", "--akka-port", "4054", "--data", "./n2", "--seed", "127.0.0.1:4053");
        string problem = Assert.Single(refused);
        Assert.Contains("--seed:", problem, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:4053", problem, StringComparison.Ordinal);
        Assert.Contains("--persistence postgres --connection", problem, StringComparison.Ordinal);
        // The same seeds on PostgreSQL, and a SQLite node naming only itself (in any spelling of loopback), are fine.
        Assert.Empty(Problems("node", "--akka-port", "4054", "--seed", "127.0.0.1:4053", "--persistence", "postgres", "--connection", "Host=db;Database=vlink"));
        Assert.Empty(Problems("node", "--akka-port", "4053", "--seed", "127.0.0.1:4053"));
        Assert.Empty(Problems("node", "--akka-port", "4053", "--seed", "localhost:4053"));
        Assert.Single(Problems("node", "--akka-port", "4053", "--seed", "localhost:4053", "--seed", "localhost:4054"));
    }

    [Fact]
    public async Task The_refusal_at_start_is_one_line_exit_2_and_nothing_written()
    {
        string data = Path.Combine(_root, "refused");
        var run = await VLinkProgram.RunAsync(["node", "--http-port", $"{VLinkProgram.FreePort()}", "--akka-port", $"{VLinkProgram.FreePort()}",
            "--data", data, "--seed", "127.0.0.1:4053"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("which only this node can read", run.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "the refused node created its data folder");
    }

    [PostgresFact]
    public async Task A_node_joining_a_cluster_on_another_store_leaves_exits_1_and_gets_no_partition()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        string keys = Path.Combine(_root, "keys.json");
        await File.WriteAllTextAsync(keys, $$"""[{"key":"{{Key}}","role":"admin"}]""");

        // 1. A node on its own SQLite file, with 300 acknowledged points in 6 partitions.
        int firstAkka = VLinkProgram.FreePort();
        var first = Start(new NodeSpec(Path.Combine(_root, "sqlite"), VLinkProgram.FreePort(), firstAkka, [firstAkka], keys));
        await first.WaitReadyAsync(_client, TimeSpan.FromSeconds(90));
        await Ok(await _client.PutAsJsonAsync($"{first.Url}/collections/guarded",
            new JsonObject { ["vectors"] = new JsonObject { ["size"] = 2, ["distance"] = "Euclid" }, ["shard_number"] = 6 }));
        var points = new JsonArray([.. Enumerable.Range(0, 300).Select(i => (JsonNode)new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, 1) })]);
        await Ok(await _client.PutAsJsonAsync($"{first.Url}/collections/guarded/points?wait=true", new JsonObject { ["points"] = points }));

        // 2. A node on PostgreSQL joins it: it finds the older member's store is not its own, leaves and exits with 1.
        var second = Start(new NodeSpec(Path.Combine(_root, "postgres"), VLinkProgram.FreePort(), VLinkProgram.FreePort(), [firstAkka], keys)
        {
            PostgresConnection = database.ConnectionString,
        });
        int exit = await second.WaitForExitAsync(TimeSpan.FromSeconds(120));
        string log = second.Log();
        Assert.True(exit == 1, $"exit {exit}:\n{log}");
        Assert.Contains("leaves the cluster", log, StringComparison.Ordinal);
        Assert.Contains("--persistence postgres", log, StringComparison.Ordinal);
        Assert.Contains("vlink node: left the cluster:", log, StringComparison.Ordinal);

        // 3. The first node warned, still holds every partition and counts every point, completely.
        Assert.Contains("uses another journal than this node's", first.Log(), StringComparison.Ordinal);
        var count = await Ok(await _client.PostAsJsonAsync($"{first.Url}/collections/guarded/points/count", new JsonObject { ["exact"] = true }));
        Assert.Equal(300, (int)count["result"]!["count"]!);
        Assert.NotEqual(false, (bool?)count["complete"]);
        // Nothing of the collection was ever journalled in the second node's database.
        await using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var rows = new Npgsql.NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_name = 'journal'", connection);
        long tables = (long)(await rows.ExecuteScalarAsync())!;
        if (tables > 0)
        {
            await using var events = new Npgsql.NpgsqlCommand("SELECT count(*) FROM journal WHERE persistence_id LIKE 'partition-guarded%'", connection);
            Assert.Equal(0L, (long)(await events.ExecuteScalarAsync())!);
        }
    }

    private NodeProcess Start(NodeSpec spec)
    {
        var node = NodeProcess.Start(spec);
        _nodes.Add(node);
        return node;
    }

    private static async Task<JsonObject> Ok(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        _client.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
