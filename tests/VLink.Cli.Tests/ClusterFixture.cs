using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace VLink.Cli.Tests;

/// <summary>
/// Three real <c>vlink node</c> processes on free loopback ports sharing one PostgreSQL database (a cluster needs one
/// journal: a node on a SQLite file of its own refuses to join others), all seeded by the first node's cluster port,
/// sharing one API-keys file. Started once for the collection where <c>VLINK_TEST_POSTGRES</c> offers a server (the
/// tests are <see cref="PostgresFactAttribute"/>s, skipped elsewhere); always killed.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string AdminKey = "cli-test-admin-7d1e52";
    public const string ReadKey = "cli-test-read-0c9a3b";

    private readonly string _root = Directory.CreateTempSubdirectory("vlink-cli-test-").FullName;
    private readonly List<NodeProcess> _nodes = [];
    private readonly List<NodeProcess> _extra = [];
    private string _keys = "";
    private PostgresDatabase? _database;

    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <summary>Sends the admin key.</summary>
    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        Client.DefaultRequestHeaders.Add("api-key", AdminKey);
        string keys = _keys = Path.Combine(_root, "api-keys.json");
        await File.WriteAllTextAsync(keys, $$"""[{"key":"{{AdminKey}}","role":"admin"},{"key":"{{ReadKey}}","role":"read"}]""");
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES"))) return;
        try
        {
            _database = await PostgresDatabase.CreateAsync();
            var ports = Enumerable.Range(0, 3).Select(_ => (Http: VLinkProgram.FreePort(), Akka: VLinkProgram.FreePort())).ToList();
            for (int i = 0; i < 3; i++)
                _nodes.Add(NodeProcess.Start(Spec(Path.Combine(_root, $"node{i}"), ports[i].Http, ports[i].Akka)));
            await Task.WhenAll(_nodes.Select(n => n.WaitReadyAsync(Client, TimeSpan.FromSeconds(60))));
            await WaitForMembersAsync(_nodes[0], 3, TimeSpan.FromSeconds(30));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts one more node, seeded by the first, and waits until it is ready: for tests that take nodes away, so the
    /// three every test shares stay. Killed with the fixture at the latest.
    /// </summary>
    public async Task<NodeProcess> AddNodeAsync()
    {
        var node = NodeProcess.Start(Spec(Path.Combine(_root, $"extra{_extra.Count}"), VLinkProgram.FreePort(), VLinkProgram.FreePort()));
        _extra.Add(node);
        await node.WaitReadyAsync(Client, TimeSpan.FromSeconds(60));
        return node;
    }

    private NodeSpec Spec(string folder, int httpPort, int akkaPort) =>
        new(folder, httpPort, akkaPort, [_nodes.Count == 0 ? akkaPort : _nodes[0].AkkaPort], _keys) { PostgresConnection = _database!.ConnectionString };

    /// <summary>Waits until <paramref name="node"/> sees exactly <paramref name="count"/> members, all Up.</summary>
    public async Task WaitForMembersAsync(NodeProcess node, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (true)
        {
            try
            {
                var body = await Client.GetFromJsonAsync<JsonObject>($"{node.Url}/cluster");
                var members = body!["result"]!["members"]!.AsArray();
                last = body.ToJsonString();
                if (members.Count == count && members.All(m => (string?)m!["status"] == "Up")) return;
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{node.Url} did not see {count} Up members: {last}");
            await Task.Delay(250);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _extra.Concat(_nodes)) await node.DisposeAsync();
        _extra.Clear();
        _nodes.Clear();
        Client.Dispose();
        if (_database is not null) await _database.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Every node's log, for a failing assertion's message.</summary>
    public string Logs() => string.Join("\n", _nodes.Concat(_extra).Select((n, i) => $"===== node {i} ({n.Url}, {n.Address}) =====\n{n.Log()}"));
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "three vlink nodes";
}
