using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using VLink.Cluster.Hosting;

namespace VLink.Bench.Cluster;

/// <summary>Real ActorSystems on loopback ports in this process, journalling to one SQLite file in a folder.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<VLinkNode> _nodes = [];

    public LocalCluster(string dataDirectory) => DataDirectory = dataDirectory;

    public string DataDirectory { get; }

    public IReadOnlyList<VLinkNode> Nodes => _nodes;

    public static async Task<LocalCluster> StartAsync(int count, string dataDirectory, string extraHocon = "")
    {
        var cluster = new LocalCluster(dataDirectory);
        var ports = Enumerable.Range(0, count).Select(_ => FreePort()).ToList();
        for (int i = 0; i < count; i++)
        {
            var address = new NodeAddress("127.0.0.1", ports[i], [$"127.0.0.1:{ports[0]}"], PersistenceKind.Sqlite,
                VLinkConfig.SqliteConnection(dataDirectory).Replace("Pooling=True", "Pooling=False"));
            var system = ActorSystem.Create("vlink", VLinkConfig.Build(address, "akka.loglevel = ERROR\n" + extraHocon));
            cluster._nodes.Add(VLinkNode.Start(system));
            if (i == 0) await cluster.WaitUpAsync(1);
        }
        await cluster.WaitUpAsync(count);
        return cluster;
    }

    private async Task WaitUpAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_nodes.Any(n => Akka.Cluster.Cluster.Get(n.System).State.Members.Count(m => m.Status == MemberStatus.Up) != count))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the cluster did not reach {count} members");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync() => await Task.WhenAll(_nodes.Select(n => n.System.Terminate()));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
