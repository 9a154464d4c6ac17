using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Real <c>vlink node</c> processes on free loopback ports: one node on SQLite, or several sharing one PostgreSQL
/// database (every node names every node as a seed, so any of them can be killed and started again and it rejoins).
/// Nodes can be killed with SIGKILL and restarted on the same ports and journal. One API-keys file with a key of
/// each role. Everything is killed and deleted on dispose.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    public const string AdminKey = "resilience-admin-5b0e1f";
    public const string WriteKey = "resilience-write-91c4d2";
    public const string ReadKey = "resilience-read-3fa7c0";

    /// <summary>How long a node may take to start and answer <c>/readyz</c> on a busy machine.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _root;
    private readonly NodeProcess?[] _nodes;
    private readonly NodeSpec[] _specs;
    private readonly bool[] _ready;

    private LocalCluster(string root, NodeSpec[] specs)
    {
        _root = root;
        _specs = specs;
        _nodes = new NodeProcess?[specs.Length];
        _ready = new bool[specs.Length];
        Admin = Client(AdminKey);
    }

    /// <summary>Sends the admin key.</summary>
    public HttpClient Admin { get; }

    /// <summary>How many nodes the cluster was made of (live or not).</summary>
    public int Count => _specs.Length;

    /// <summary>Node <paramref name="i"/>'s base URL (whether it runs or not).</summary>
    public string Url(int i) => $"http://127.0.0.1:{_specs[i].HttpPort}";

    /// <summary>Node <paramref name="i"/>'s cluster address as Akka writes it.</summary>
    public string Address(int i) => $"akka.tcp://vlink@127.0.0.1:{_specs[i].AkkaPort}";

    /// <summary>Node <paramref name="i"/>'s process, or null while it is down.</summary>
    public NodeProcess? Node(int i) => _nodes[i] is { HasExited: false } node ? node : null;

    /// <summary>The indices of the nodes whose processes run.</summary>
    public IReadOnlyList<int> Live => [.. Enumerable.Range(0, Count).Where(i => Node(i) is not null)];

    /// <summary>
    /// The indices of the nodes that run and answered <c>/readyz</c> since they were last started: where a client
    /// behind a load balancer with a readiness check would send requests (a node being started again is not yet one).
    /// </summary>
    public IReadOnlyList<int> Ready => [.. Enumerable.Range(0, Count).Where(i => Volatile.Read(ref _ready[i]) && Node(i) is not null)];

    /// <summary>
    /// Starts <paramref name="nodes"/> nodes and waits until every one is ready and sees all of them Up. With
    /// <paramref name="postgres"/> the journal is that database; without, each node has SQLite in its own folder
    /// (only meaningful for one node: partitions of a dead node could not recover elsewhere).
    /// </summary>
    public static async Task<LocalCluster> StartAsync(int nodes, string? postgres = null, IReadOnlyDictionary<string, string?>? environment = null,
        string extraHocon = "vlink.gather.timeout = 5s", int? startFirst = null)
    {
        string root = Directory.CreateTempSubdirectory("vlink-resilience-").FullName;
        string keys = Path.Combine(root, "api-keys.json");
        await File.WriteAllTextAsync(keys, $$"""
            [{"key":"{{AdminKey}}","role":"admin"},{"key":"{{WriteKey}}","role":"write"},{"key":"{{ReadKey}}","role":"read"}]
            """);
        var ports = Enumerable.Range(0, nodes).Select(_ => (Http: VLinkProgram.FreePort(), Akka: VLinkProgram.FreePort())).ToList();
        var seeds = ports.Select(p => p.Akka).ToList();
        var specs = ports.Select((p, i) => new NodeSpec(Path.Combine(root, $"node{i}"), p.Http, p.Akka, seeds, keys)
        {
            PostgresConnection = postgres,
            ExtraHocon = extraHocon,
            Environment = environment ?? new Dictionary<string, string?>(),
        }).ToArray();
        var cluster = new LocalCluster(root, specs);
        try
        {
            if (startFirst is { } first)
            {
                for (int i = 0; i < first; i++) await cluster.StartNodeAsync(i);
                await cluster.WaitForMembersAsync(0, first);
            }
            else
            {
                await cluster.StartAllAsync();
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>Starts every node that is not running and waits until all are ready and see each other Up.</summary>
    public async Task StartAllAsync()
    {
        for (int i = 0; i < Count; i++)
            if (Node(i) is null)
            {
                Volatile.Write(ref _ready[i], false);
                _nodes[i] = _nodes[i] is { } old ? old.Restart() : NodeProcess.Start(_specs[i]);
            }
        await Task.WhenAll(Enumerable.Range(0, Count).Select(async i =>
        {
            await _nodes[i]!.WaitReadyAsync(Admin, StartTimeout);
            Volatile.Write(ref _ready[i], true);
        }));
        await WaitForMembersAsync(0, Count);
    }

    /// <summary>Starts node <paramref name="i"/> (never started, or ended) and waits until it is ready.</summary>
    public async Task StartNodeAsync(int i)
    {
        if (Node(i) is not null) throw new InvalidOperationException($"node {i} runs already");
        Volatile.Write(ref _ready[i], false);
        var node = _nodes[i] = _nodes[i] is { } old ? old.Restart() : NodeProcess.Start(_specs[i]);
        await node.WaitReadyAsync(Admin, StartTimeout);
        Volatile.Write(ref _ready[i], true);
    }

    /// <summary>
    /// Asks node <paramref name="i"/> to leave the cluster through another node's <c>POST /cluster/leave</c> (its partitions
    /// and the catalog hand over first) and waits until its process has exited by itself; its exit code.
    /// </summary>
    public async Task<int> LeaveAsync(int i)
    {
        int asker = Live.First(n => n != i);
        Volatile.Write(ref _ready[i], false);
        await Rest.Ok(await Admin.PostAsync($"{Url(asker)}/cluster/leave", Rest.Json(new JsonObject { ["address"] = $"127.0.0.1:{_specs[i].AkkaPort}" })), Logs);
        return await _nodes[i]!.WaitForExitAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>Kills node <paramref name="i"/> with SIGKILL.</summary>
    public Task KillAsync(int i)
    {
        Volatile.Write(ref _ready[i], false);
        return (_nodes[i] ?? throw new InvalidOperationException($"node {i} was never started")).KillAsync();
    }

    /// <summary>Kills every node with SIGKILL.</summary>
    public Task KillAllAsync()
    {
        for (int i = 0; i < Count; i++) Volatile.Write(ref _ready[i], false);
        return Task.WhenAll(_nodes.OfType<NodeProcess>().Select(n => n.KillAsync()));
    }

    /// <summary>Starts the killed node <paramref name="i"/> again (same ports, folder and journal) and waits until it is ready.</summary>
    public async Task RestartAsync(int i)
    {
        Volatile.Write(ref _ready[i], false);
        var node = _nodes[i] = _nodes[i]!.Restart();
        await node.WaitReadyAsync(Admin, StartTimeout);
        Volatile.Write(ref _ready[i], true);
    }

    /// <summary>Waits until node <paramref name="observer"/> sees exactly <paramref name="count"/> members, all Up.</summary>
    public Task WaitForMembersAsync(int observer, int count) =>
        Poll.UntilAsync($"{Url(observer)} sees {count} Up members", TimeSpan.FromSeconds(90), async () =>
        {
            var body = await Admin.GetFromJsonAsync<JsonObject>($"{Url(observer)}/cluster");
            var members = body!["result"]!["members"]!.AsArray();
            return members.Count == count && members.All(m => (string?)m!["status"] == "Up");
        }, Logs);

    /// <summary>A client of its own with <paramref name="key"/> (none when null).</summary>
    public static HttpClient Client(string? key)
    {
        var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) client.DefaultRequestHeaders.Add("api-key", key);
        return client;
    }

    /// <summary>Every node's log (their tails), for a failing assertion's message.</summary>
    public string Logs() => string.Join("\n", _nodes.Select((n, i) => $"===== node {i} ({Url(i)}, {Address(i)}) =====\n{n?.Log()}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.OfType<NodeProcess>()) await node.DisposeAsync();
        Admin.Dispose();
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
}

/// <summary>Polling for a condition instead of sleeping for a guess.</summary>
public static class Poll
{
    /// <summary>
    /// Calls <paramref name="probe"/> until it returns a value (not null) and returns it; a probe that throws an HTTP,
    /// timeout or assertion error (such as <see cref="Rest.Ok"/> on a 503) counts as not yet. Fails with <paramref name="what"/> and the last error after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<T> UntilAsync<T>(string what, TimeSpan timeout, Func<Task<T?>> probe, Func<string>? context = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (true)
        {
            try
            {
                if (await probe() is { } value) return value;
                last = "not yet";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException or System.Text.Json.JsonException
                or Xunit.Sdk.XunitException)
            {
                // An answer that is not yet the wanted one (a 503 while partitions recover) is "not yet", too.
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for: {what}; last: {last}\n{context?.Invoke()}");
            await Task.Delay(250);
        }
    }

    /// <summary>Calls <paramref name="condition"/> until it holds (see the other overload).</summary>
    public static Task UntilAsync(string what, TimeSpan timeout, Func<Task<bool>> condition, Func<string>? context = null) =>
        UntilAsync<object>(what, timeout, async () => await condition() ? true : null, context);
}
