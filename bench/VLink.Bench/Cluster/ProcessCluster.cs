using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using VLink.Bench.Http;

namespace VLink.Bench.Cluster;

/// <summary>
/// Real <c>vlink node</c> processes on loopback ports sharing one fresh PostgreSQL database (so a killed node's
/// partitions and the catalog recover anywhere); every node names every node as a seed, so any of them can be killed
/// with SIGKILL and started again on the same ports. Everything is killed, and the database dropped, on dispose.
/// </summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>The admin key every node of the cluster accepts.</summary>
    public const string AdminKey = "bench-admin-key";

    private const string Key = AdminKey;
    private readonly ServerProcess?[] _nodes;
    private readonly bool[] _ready;
    private readonly string _server;
    private readonly string _database;

    private ProcessCluster(string root, string server, string database, ServerProcess?[] nodes)
    {
        Root = root;
        _server = server;
        _database = database;
        _nodes = nodes;
        _ready = new bool[nodes.Length];
        Http = Client();
    }

    /// <summary>The cluster's folder (a node's log is <c>node{i}/node.log</c> in it).</summary>
    public string Root { get; }

    /// <summary>A client with the admin key (a minute's timeout).</summary>
    public HttpClient Http { get; }

    public int Count => _nodes.Length;

    /// <summary>
    /// The indices of the nodes that run and answered <c>/readyz</c> since they were last started (where a load balancer
    /// with a readiness check would send requests).
    /// </summary>
    public IReadOnlyList<int> Live => [.. Enumerable.Range(0, Count).Where(i => Volatile.Read(ref _ready[i]) && _nodes[i] is { HasExited: false })];

    public Uri Url(int i) => _nodes[i]!.Url;

    /// <summary>Node <paramref name="i"/>'s cluster address as Akka writes it.</summary>
    public string Address(int i) => $"akka.tcp://vlink@127.0.0.1:{_nodes[i]!.AkkaPort}";

    /// <summary>A client of its own with the admin key.</summary>
    public static HttpClient Client(TimeSpan? timeout = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = timeout ?? TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Add("api-key", Key);
        return client;
    }

    /// <summary>
    /// Creates a fresh database on the PostgreSQL server at <paramref name="postgres"/> and starts
    /// <paramref name="count"/> nodes of <paramref name="assembly"/> on it, waiting until all are ready and Up.
    /// </summary>
    public static async Task<ProcessCluster> StartAsync(string assembly, string postgres, int count, int? hedgeDelayMs)
    {
        string name = "vlink_bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(postgres))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        string journal = new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ConnectionString;
        string root = Directory.CreateTempSubdirectory("vlink-bench-replicas-").FullName;
        string keys = Path.Combine(root, "api-keys.json");
        await File.WriteAllTextAsync(keys, $$"""[{"key":"{{Key}}","role":"admin"}]""");
        var ports = Enumerable.Range(0, count).Select(_ => (Http: ServerProcess.FreePort(), Akka: ServerProcess.FreePort())).ToList();
        var nodes = new ServerProcess?[count];
        var cluster = new ProcessCluster(root, postgres, name, nodes);
        try
        {
            for (int i = 0; i < count; i++)
                nodes[i] = ServerProcess.Start(assembly, new ServerSettings(Path.Combine(root, $"node{i}"), ports[i].Http, ports[i].Akka, [.. ports.Select(p => p.Akka)], keys)
                {
                    Postgres = journal,
                    HedgeDelayMs = hedgeDelayMs,
                    ExtraHocon = "akka.loglevel = WARNING",
                });
            for (int i = 0; i < count; i++)
            {
                await nodes[i]!.WaitReadyAsync(cluster.Http, TimeSpan.FromSeconds(120));
                cluster._ready[i] = true;
            }
            await cluster.WaitForMembersAsync(count);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>Kills node <paramref name="i"/> with SIGKILL.</summary>
    public Task KillAsync(int i)
    {
        Volatile.Write(ref _ready[i], false);
        return _nodes[i]!.KillAsync();
    }

    /// <summary>Starts the killed node <paramref name="i"/> again and waits until it is ready and every node is Up.</summary>
    public async Task RestartAsync(int i)
    {
        var node = _nodes[i] = _nodes[i]!.Restart();
        await node.WaitReadyAsync(Http, TimeSpan.FromSeconds(120));
        Volatile.Write(ref _ready[i], true);
        await WaitForMembersAsync(Count);
    }

    /// <summary>Waits until a live node sees exactly <paramref name="count"/> members, all Up.</summary>
    public Task WaitForMembersAsync(int count) => PollAsync($"{count} Up members", TimeSpan.FromSeconds(120), async () =>
    {
        var body = JsonNode.Parse(await Http.GetStringAsync(new Uri(Url(Live[0]), "/cluster")))!;
        var members = body["result"]!["members"]!.AsArray();
        return members.Count == count && members.All(m => (string?)m!["status"] == "Up");
    });

    /// <summary>The node holding the catalog singleton.</summary>
    public async Task<int> SingletonNodeAsync()
    {
        var body = JsonNode.Parse(await Http.GetStringAsync(new Uri(Url(Live[0]), "/cluster/singleton")))!;
        string node = (string)body["result"]!["node"]!;
        return Enumerable.Range(0, Count).Single(i => Address(i) == node);
    }

    /// <summary>
    /// Whether every one of <paramref name="partitions"/> partitions of <paramref name="collection"/> has replicas
    /// 0 … R−1 on R distinct live nodes, as <c>GET /cluster/shards</c> of a live node lists them.
    /// </summary>
    public async Task<bool> PlacedAsync(string collection, int partitions, int replicationFactor)
    {
        var live = Live.Select(Address).ToHashSet();
        var body = JsonNode.Parse(await Http.GetStringAsync(new Uri(Url(Live[0]), "/cluster/shards")))!;
        var replicas = new List<(string Key, int Replica, string Node)>();
        foreach (var node in body["result"]!["nodes"]!.AsArray())
            foreach (var p in node!["partitions"]!.AsArray())
                if ((string?)p!["collection"] == collection && !(p["current"] is JsonValue current && !(bool)current))
                    replicas.Add(((string)p["key"]!, p["replica"] is JsonValue r ? (int)r : ReplicaOf((string)p["entity_id"]!), (string)node["address"]!));
        var byKey = replicas.GroupBy(r => r.Key).ToList();
        return byKey.Count == partitions && byKey.All(k =>
            k.Select(r => r.Replica).Order().SequenceEqual(Enumerable.Range(0, replicationFactor))
            && k.Select(r => r.Node).Distinct().Count() == replicationFactor
            && k.All(r => live.Contains(r.Node)));
    }

    /// <summary>The replica index in an entity id: <c>c@g#i/key</c> is replica i, <c>c@g/key</c> replica 0.</summary>
    private static int ReplicaOf(string entityId)
    {
        int slash = entityId.IndexOf('/', StringComparison.Ordinal);
        int hash = entityId.LastIndexOf('#', slash);
        return hash < 0 ? 0 : int.Parse(entityId.AsSpan(hash + 1, slash - hash - 1), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Sends a JSON body; the answer's body when 2xx, else throws with the status and body.</summary>
    public static async Task<JsonNode> SendAsync(HttpClient http, HttpMethod method, Uri uri, string body)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{method} {uri.AbsolutePath} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        return JsonNode.Parse(text)!;
    }

    /// <summary>Calls <paramref name="condition"/> every 250 ms until it holds; an HTTP error or timeout counts as not yet.</summary>
    public static async Task PollAsync(string what, TimeSpan timeout, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "not yet";
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what}; last: {last}");
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.OfType<ServerProcess>()) await node.DisposeAsync();
        Http.Dispose();
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(_server);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            Console.Error.WriteLine($"replicas: could not drop database {_database}: {e.Message}");
        }
        GatherCommand.TryDelete(Root);
    }
}
