using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using VLink.Cluster.Catalog;
using VLink.Cluster.Gather;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Cluster.Hosting;

/// <summary>Engine settings read from the <c>vlink</c> HOCON section.</summary>
public sealed record VLinkSettings(int ShardCount, PartitionSettings Partition, GatherSettings Gather)
{
    /// <summary>Reads the settings of an actor system's configuration.</summary>
    public static VLinkSettings From(ActorSystem system)
    {
        var c = system.Settings.Config.GetConfig("vlink");
        int snapshotEvery = c.GetInt("snapshot-every", 200);
        if (snapshotEvery < 1)
            throw new Akka.Configuration.ConfigurationException($"vlink.snapshot-every must be at least 1, got {snapshotEvery}.");
        int shardCount = c.GetInt("shard-count", 64);
        if (shardCount < 1)
            throw new Akka.Configuration.ConfigurationException($"vlink.shard-count must be at least 1, got {shardCount}.");
        return new VLinkSettings(
            shardCount,
            new PartitionSettings(snapshotEvery),
            new GatherSettings(c.GetTimeSpan("gather.timeout", TimeSpan.FromSeconds(5)), c.GetDouble("gather.over-fetch", 2.0)));
    }
}

/// <summary>
/// One VLink node inside an actor system: the node agent, the partition shard region, the catalog singleton
/// (manager + proxy) and the Gather Engine — plus the client operations the server and tests use.
/// </summary>
public sealed class VLinkNode
{
    /// <summary>The shard region's type name.</summary>
    public const string PartitionTypeName = "partition";

    private VLinkNode(ActorSystem system, VLinkSettings settings, IActorRef agent, IActorRef region, IActorRef catalog, GatherEngine gather)
    {
        System = system;
        Settings = settings;
        Agent = agent;
        Partitions = region;
        Catalog = catalog;
        Gather = gather;
    }

    /// <summary>The node's actor system.</summary>
    public ActorSystem System { get; }

    /// <summary>Engine settings.</summary>
    public VLinkSettings Settings { get; }

    /// <summary>The node agent (stage-1 searches of local partitions).</summary>
    public IActorRef Agent { get; }

    /// <summary>The partition shard region.</summary>
    public IActorRef Partitions { get; }

    /// <summary>The catalog singleton's proxy.</summary>
    public IActorRef Catalog { get; }

    /// <summary>The Gather Engine.</summary>
    public GatherEngine Gather { get; }

    /// <summary>Starts the node's actors in an actor system configured by <see cref="VLinkConfig.Build"/>.</summary>
    public static VLinkNode Start(ActorSystem system)
    {
        var settings = VLinkSettings.From(system);
        var agent = system.ActorOf(NodeAgent.Props(settings.Gather.Timeout), NodeAgent.Name);
        var region = ClusterSharding.Get(system).Start(
            PartitionTypeName,
            entityId => PartitionEntity.Props(entityId, agent, settings.Partition),
            ClusterShardingSettings.Create(system),
            new PartitionMessageExtractor(settings.ShardCount));
        system.ActorOf(ClusterSingletonManager.Props(
            CatalogActor.Props(), PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), CatalogActor.Name);
        var catalog = system.ActorOf(ClusterSingletonProxy.Props(
            $"/user/{CatalogActor.Name}", ClusterSingletonProxySettings.Create(system)), CatalogActor.Name + "-proxy");
        var gather = new GatherEngine(system, region, catalog, settings.Gather);
        return new VLinkNode(system, settings, agent, region, catalog, gather);
    }

    /// <summary>Applies a catalog change; throws <see cref="InvalidOperationException"/> with the reason when refused.</summary>
    public async Task<CatalogAck> ChangeCatalogAsync(ICatalogCommand change, TimeSpan? timeout = null)
    {
        var reply = await Catalog.Ask<IVLinkMessage>(change, timeout ?? Settings.Gather.Timeout).ConfigureAwait(false);
        Gather.InvalidateCatalog();
        return reply switch
        {
            CatalogAck ack => ack,
            CatalogRejected rejected => throw new InvalidOperationException(rejected.Reason),
            _ => throw new InvalidOperationException($"Unexpected catalog reply {reply.GetType().Name}."),
        };
    }

    /// <summary>The current catalog.</summary>
    public Task<CatalogSnapshot> CatalogAsync(TimeSpan? timeout = null) =>
        Catalog.Ask<CatalogSnapshot>(GetCatalog.Instance, timeout ?? Settings.Gather.Timeout);

    /// <summary>Where the catalog singleton runs and how far its log is.</summary>
    public Task<CatalogStatus> CatalogStatusAsync(TimeSpan? timeout = null) =>
        Catalog.Ask<CatalogStatus>(GetCatalogStatus.Instance, timeout ?? Settings.Gather.Timeout);

    /// <summary>What the node at <paramref name="node"/> hosts, asked of its agent (this node's own agent when local).</summary>
    public Task<NodeInventory> InventoryAsync(Address node, TimeSpan? timeout = null) =>
        System.ActorSelection(new RootActorPath(node) / "user" / NodeAgent.Name)
            .Ask<NodeInventory>(GetNodeInventory.Instance, timeout ?? Settings.Gather.Timeout);

    /// <summary>
    /// Upserts points into a collection: hash collections spread them by id; key collections take them into the
    /// partition <paramref name="key"/> (registered in the catalog first). Returns once every partition journalled its share.
    /// </summary>
    public async Task<int> UpsertAsync(string collection, IReadOnlyList<PointWrite> points, string? key = null, TimeSpan? timeout = null)
    {
        var snapshot = await CatalogAsync(timeout).ConfigureAwait(false);
        var entry = snapshot.Find(collection) ?? throw new UnknownCollectionException(collection);
        var spec = entry.Spec;
        var wait = timeout ?? Settings.Gather.Timeout;
        IEnumerable<(PartitionRef Partition, List<PointWrite> Points)> batches;
        if (spec.Scheme == PartitionScheme.Key)
        {
            if (string.IsNullOrEmpty(key)) throw new ArgumentException($"Collection '{collection}' is partitioned by key; name the key.", nameof(key));
            if (!entry.Keys.Contains(key)) await ChangeCatalogAsync(new RegisterPartitionKey(collection, key), wait).ConfigureAwait(false);
            batches = [(entry.Partition(key), points.ToList())];
        }
        else
        {
            batches = points.GroupBy(p => HashPartitioner.KeyOf(p.Id, spec.PartitionCount))
                .Select(g => (entry.Partition(g.Key), g.ToList()));
        }
        var replies = await Task.WhenAll(batches.Select(b =>
            Partitions.Ask<IVLinkMessage>(new UpsertPoints(b.Partition, spec, b.Points), wait))).ConfigureAwait(false);
        int applied = 0;
        foreach (var reply in replies)
        {
            applied += reply switch
            {
                WriteAck ack => ack.Applied,
                WriteRejected rejected => throw new ArgumentException(rejected.Reason),
                _ => throw new InvalidOperationException($"Unexpected write reply {reply.GetType().Name}."),
            };
        }
        return applied;
    }

    /// <summary>Deletes points from a hash collection (or from one key partition).</summary>
    public async Task<int> DeleteAsync(string collection, IReadOnlyList<PointId> ids, string? key = null, TimeSpan? timeout = null)
    {
        var snapshot = await CatalogAsync(timeout).ConfigureAwait(false);
        var entry = snapshot.Find(collection) ?? throw new UnknownCollectionException(collection);
        var wait = timeout ?? Settings.Gather.Timeout;
        var batches = entry.Spec.Scheme == PartitionScheme.Key
            ? (key is null ? entry.Keys.Select(k => (entry.Partition(k), ids.ToList())) : [(entry.Partition(key), ids.ToList())])
            : ids.GroupBy(id => HashPartitioner.KeyOf(id, entry.Spec.PartitionCount)).Select(g => (entry.Partition(g.Key), g.ToList()));
        var acks = await Task.WhenAll(batches.Select(b => Partitions.Ask<WriteAck>(new DeletePoints(b.Item1, b.Item2), wait))).ConfigureAwait(false);
        return acks.Sum(a => a.Applied);
    }
}
