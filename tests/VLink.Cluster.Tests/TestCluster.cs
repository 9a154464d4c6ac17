using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using VLink.Cluster.Hosting;

namespace VLink.Cluster.Tests;

/// <summary>
/// Real ActorSystems on loopback ports in one process, sharing one SQLite journal file — the smallest honest
/// cluster: real remoting, real sharding hand-off, real persistence.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly List<VLinkNode?> _nodes = [];
    private readonly List<int> _ports = [];
    private readonly Dictionary<int, Address> _crashed = [];

    private readonly bool _ownsData;

    private TestCluster(string dataDirectory, bool ownsData, string? postgres)
    {
        DataDirectory = dataDirectory;
        _ownsData = ownsData;
        _postgres = postgres;
    }

    private readonly string? _postgres;

    /// <summary>The folder of the shared SQLite file.</summary>
    public string DataDirectory { get; }

    public IReadOnlyList<VLinkNode?> Nodes => _nodes;

    public VLinkNode Node(int i) => _nodes[i] ?? throw new InvalidOperationException($"Node {i} is stopped.");

    public IEnumerable<VLinkNode> Running => _nodes.Where(n => n is not null)!;

    /// <summary>Starts <paramref name="count"/> nodes; node 0 is the seed. Waits until all are Up.</summary>
    /// <param name="count">Nodes.</param>
    /// <param name="dataDirectory">SQLite folder; a caller that names it owns it.</param>
    /// <param name="extraHocon">Settings on top of the test defaults.</param>
    /// <param name="postgres">A PostgreSQL connection string: journal there instead of SQLite.</param>
    public static async Task<TestCluster> StartAsync(int count, string? dataDirectory = null, string? extraHocon = null, string? postgres = null)
    {
        // A caller that names the folder owns it (to restart a cluster on the same journal); otherwise it is ours.
        bool ownsData = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("vlink-cluster-test-").FullName;
        var cluster = new TestCluster(dataDirectory, ownsData, postgres);
        for (int i = 0; i < count; i++) cluster._ports.Add(FreePort());
        for (int i = 0; i < count; i++)
        {
            cluster._nodes.Add(cluster.StartNode(i, extraHocon));
            // The seed first, so the journal tables are created once before others race for them.
            if (i == 0) await cluster.WaitUpAsync(1);
        }
        await cluster.WaitUpAsync(count);
        return cluster;
    }

    /// <summary>Starts (or restarts) node i on its port.</summary>
    public VLinkNode StartNode(int i, string? extraHocon = null)
    {
        var address = _postgres is not null
            ? new NodeAddress("127.0.0.1", _ports[i], [$"127.0.0.1:{_ports[0]}"], PersistenceKind.Postgres, _postgres)
            : new NodeAddress("127.0.0.1", _ports[i], [$"127.0.0.1:{_ports[0]}"], PersistenceKind.Sqlite,
                // Several ActorSystems share one file in this process; pooled connections outliving a stopped
                // system made SQLite report "readonly database" to the others, so tests open a connection per use.
                VLinkConfig.SqliteConnection(DataDirectory).Replace("Pooling=True", "Pooling=False"));
        const string testHocon = """
            akka.loglevel = WARNING
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            akka.cluster.split-brain-resolver.stable-after = 2s
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 3s
            akka.cluster.sharding.retry-interval = 200ms
            akka.cluster.sharding.handoff-timeout = 10s
            akka.cluster.singleton.hand-over-retry-interval = 200ms
            akka.remote.dot-netty.tcp.batching.enabled = false
            vlink.gather.timeout = 5s
            """;
        var system = ActorSystem.Create("vlink", VLinkConfig.Build(address, extraHocon is null ? testHocon : extraHocon + "\n" + testHocon));
        var node = VLinkNode.Start(system);
        if (i < _nodes.Count) _nodes[i] = node;
        return node;
    }

    /// <summary>Waits until <paramref name="count"/> members are Up as seen from every running node.</summary>
    public Task WaitUpAsync(int count, TimeSpan? within = null) => Eventually.Async(() =>
    {
        foreach (var node in Running)
        {
            int up = Akka.Cluster.Cluster.Get(node.System).State.Members.Count(m => m.Status == MemberStatus.Up);
            if (up != count) throw new InvalidOperationException($"{node.System.Name}@{Akka.Cluster.Cluster.Get(node.System).SelfAddress} sees {up} of {count} members up.");
        }
    }, within ?? TimeSpan.FromSeconds(30));

    /// <summary>Stops node i abruptly: no leaving, so the others see it unreachable until it is downed.</summary>
    public async Task CrashAsync(int i)
    {
        var victim = Node(i);
        _crashed[i] = Akka.Cluster.Cluster.Get(victim.System).SelfAddress;
        _nodes[i] = null;
        // Terminate without coordinated shutdown skips the cluster's graceful leave: in-process, the nearest
        // thing to SIGKILL (the multi-process tests use the real signal).
        await victim.System.Terminate();
    }

    /// <summary>Downs a crashed node from a surviving one (what the split-brain resolver or an operator does).</summary>
    public void Down(int i) => Akka.Cluster.Cluster.Get(Running.First().System).Down(_crashed[i]);

    /// <summary>Lets node i leave gracefully and waits for its system to stop.</summary>
    public async Task LeaveAsync(int i)
    {
        var node = Node(i);
        _nodes[i] = null;
        await CoordinatedShutdown.Get(node.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
    }

    public async Task StopAllAsync()
    {
        var running = Running.ToList();
        for (int i = 0; i < _nodes.Count; i++) _nodes[i] = null;
        await Task.WhenAll(running.Select(n => n.System.Terminate()));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAllAsync();
        if (!_ownsData) return;
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold the file a moment longer; the temp folder is cleaned by the OS later.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Retries an assertion until it holds or the time is up (AwaitAssert without a TestKit).</summary>
public static class Eventually
{
    public static async Task Async(Action assertion, TimeSpan within, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
            }
        }
    }

    public static async Task<T> Async<T>(Func<Task<T>> attempt, Func<T, bool> accept, TimeSpan within, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            T value;
            try
            {
                value = await attempt();
                if (accept(value) || DateTime.UtcNow >= deadline) return value;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
            }
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
    }
}
