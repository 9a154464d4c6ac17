using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using VLink.Cluster.Catalog;
using VLink.Cluster.Gather;
using VLink.Cluster.Journal;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
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
        int snapshotEvery = c.GetInt("snapshot-every", 10_000);
        if (snapshotEvery < 1)
            throw new Akka.Configuration.ConfigurationException($"vlink.snapshot-every must be at least 1, got {snapshotEvery}.");
        // Read again by each partition and the catalog; checked here so a bad value stops the node at start.
        _ = Catalog.WatermarkSettings.From(system.Settings.Config);
        int shardCount = c.GetInt("shard-count", 64);
        if (shardCount < 1)
            throw new Akka.Configuration.ConfigurationException($"vlink.shard-count must be at least 1, got {shardCount}.");
        return new VLinkSettings(
            shardCount,
            PartitionSettings.From(c, snapshotEvery),
            new GatherSettings(
                c.GetTimeSpan("gather.timeout", TimeSpan.FromSeconds(5)),
                c.GetDouble("gather.over-fetch", 2.0),
                HedgeDelay: c.GetTimeSpan("gather.hedge-delay", GatherSettings.DefaultHedgeDelay)));
    }
}

/// <summary>
/// One VLink node inside an actor system: the node agent, the partition shard region, the catalog singleton
/// (manager + proxy) and the Gather Engine — plus the client operations the server and tests use.
/// </summary>
public sealed partial class VLinkNode
{
    /// <summary>The shard region's type name.</summary>
    public const string PartitionTypeName = "partition";

    private VLinkNode(ActorSystem system, VLinkSettings settings, IActorRef agent, IActorRef region, IActorRef catalog, GatherEngine gather)
    {
        Clock = new HybridClock(Akka.Cluster.Cluster.Get(system).SelfUniqueAddress.Uid);
        System = system;
        Settings = settings;
        Agent = agent;
        Partitions = region;
        Catalog = catalog;
        Gather = gather;
    }

    private readonly TaskCompletionSource<string> _journalRefusal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes with the reason when this node found that the cluster it joined keeps its journal in another store
    /// than its own; the node then leaves the cluster (<see cref="JournalGuard"/>), and its host should stop with an error.
    /// </summary>
    public Task<string> JournalRefusal => _journalRefusal.Task;

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

    /// <summary>
    /// The node's hybrid logical clock: every write this node coordinates is stamped with one of its versions, and
    /// partitions keep the latest version of each id (last writer wins). The node id is this incarnation's uid.
    /// </summary>
    public HybridClock Clock { get; }

    /// <summary>Starts the node's actors in an actor system configured by <see cref="VLinkConfig.Build"/>.</summary>
    public static VLinkNode Start(ActorSystem system)
    {
        var settings = VLinkSettings.From(system);
        system.ActorOf(JournalProbe.Props(JournalHealth.For(system)), JournalProbe.Name);
        var agent = system.ActorOf(NodeAgent.Props(settings.Gather.Timeout), NodeAgent.Name);
        var sharding = ClusterShardingSettings.Create(system);
        var tuning = sharding.TuningParameters;
        var region = ClusterSharding.Get(system).Start(
            PartitionTypeName,
            entityId => PartitionEntity.Props(entityId, agent, settings.Partition),
            sharding,
            new PartitionMessageExtractor(settings.ShardCount),
            new ReplicaAllocationStrategy(ShardAllocationStrategy.LeastShardAllocationStrategy(
                tuning.LeastShardAllocationAbsoluteLimit, tuning.LeastShardAllocationRelativeLimit)),
            PoisonPill.Instance);
        system.ActorOf(ClusterSingletonManager.Props(
            CatalogSupervisorProps(), PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), CatalogActor.Name);
        var catalog = system.ActorOf(ClusterSingletonProxy.Props(
            $"/user/{CatalogActor.Name}", ClusterSingletonProxySettings.Create(system)), CatalogActor.Name + "-proxy");
        var gather = new GatherEngine(system, region, catalog, settings.Gather);
        var node = new VLinkNode(system, settings, agent, region, catalog, gather);
        system.ActorOf(JournalGuard.Props(JournalIdentity.Of(system.Settings.Config), node._journalRefusal), JournalGuard.Name);
        system.ActorOf(ReplicaKeeper.Props(node), "vlink-replica-keeper");
        return node;
    }

    /// <summary>Applies a catalog change; throws <see cref="InvalidOperationException"/> with the reason when refused.</summary>
    /// <exception cref="JournalUnavailableException">The journal is down: the change was not made.</exception>
    public async Task<CatalogAck> ChangeCatalogAsync(ICatalogCommand change, TimeSpan? timeout = null)
    {
        IVLinkMessage reply;
        try
        {
            reply = await JournalledAskAsync(Catalog, change, timeout ?? Settings.Gather.Timeout).ConfigureAwait(false);
        }
        finally
        {
            Gather.InvalidateCatalog();
        }
        return reply switch
        {
            CatalogAck ack => ack,
            CatalogRejected rejected => throw new InvalidOperationException(rejected.Reason),
            _ => throw new InvalidOperationException($"Unexpected catalog reply {reply.GetType().Name}."),
        };
    }

    /// <summary>
    /// The current catalog; while the catalog singleton does not answer (its node died and it has not moved yet), the
    /// last catalog this node saw, so reads and writes of existing collections go on and searches name the partitions
    /// that do not answer instead of failing as a whole. Catalog changes still need the singleton.
    /// </summary>
    public Task<CatalogSnapshot> CatalogAsync(TimeSpan? timeout = null) => Gather.CatalogAsync(timeout);

    /// <summary>Where the catalog singleton runs and how far its log is.</summary>
    public Task<CatalogStatus> CatalogStatusAsync(TimeSpan? timeout = null) =>
        Catalog.Ask<CatalogStatus>(GetCatalogStatus.Instance, timeout ?? Settings.Gather.Timeout);

    /// <summary>What the node at <paramref name="node"/> hosts, asked of its agent (this node's own agent when local).</summary>
    public Task<NodeInventory> InventoryAsync(Address node, TimeSpan? timeout = null) =>
        System.ActorSelection(new RootActorPath(node) / "user" / NodeAgent.Name)
            .Ask<NodeInventory>(GetNodeInventory.Instance, timeout ?? Settings.Gather.Timeout);

    /// <summary>
    /// Upserts points into a collection: hash collections spread them by id; key collections take them into the
    /// partition <paramref name="key"/> (registered in the catalog first); region collections place each point in the
    /// region of its nearest centroid (or in the staging partition before the regions are trained). Returns once every
    /// partition journalled its share (of a replicated collection: as many replicas of each partition as its write
    /// consistency asks for).
    /// </summary>
    /// <exception cref="WriteConsistencyException">Too few replicas of a partition acknowledged in time.</exception>
    /// <exception cref="JournalUnavailableException">The journal is down: the write was not acknowledged.</exception>
    public async Task<WriteResult> UpsertAsync(string collection, IReadOnlyList<PointWrite> points, string? key = null, TimeSpan? timeout = null)
    {
        var wait = timeout ?? Settings.Gather.Timeout;
        // One version for the whole request: its points, and a region collection's deletes from the other regions.
        var version = Clock.Next();
        points = [.. points.Select(p => p with { Version = version })];
        for (int attempt = 0; ; attempt++)
        {
            var entry = await WritableAsync(collection, wait).ConfigureAwait(false);
            var spec = entry.Spec;
            IEnumerable<IPartitionMessage> writes;
            if (spec.Scheme == PartitionScheme.Key)
            {
                if (string.IsNullOrEmpty(key)) throw new ArgumentException($"Collection '{collection}' is partitioned by key; name the key.", nameof(key));
                if (!entry.Keys.Contains(key)) await ChangeCatalogAsync(new RegisterPartitionKey(collection, key), wait).ConfigureAwait(false);
                writes = [new UpsertPoints(entry.Partition(key), spec, points)];
            }
            else if (spec.Scheme == PartitionScheme.Region)
            {
                writes = RegionWrites(entry, points, version);
            }
            else
            {
                writes = points.GroupBy(p => HashPartitioner.KeyOf(p.Id, spec.PartitionCount))
                    .Select(g => new UpsertPoints(entry.Partition(g.Key), spec, g.ToList()));
            }
            var (result, sealedPartition) = await WriteAllAsync(spec, writes, wait, countUpsertsOnly: true).ConfigureAwait(false);
            if (sealedPartition)
            {
                // The staging partition was sealed between our catalog read and the write: the regions are being
                // filled. Help finish that, then write again to the regions.
                if (attempt > 0) throw new InvalidOperationException($"Collection '{collection}' kept moving its points to their regions; write again.");
                await MoveToRegionsAsync(collection, wait).ConfigureAwait(false);
                continue;
            }
            if (spec.Scheme == PartitionScheme.Region && entry.Phase == RegionPhase.Staging)
                await TrainRegionsIfDueAsync(entry, wait).ConfigureAwait(false);
            return result;
        }
    }

    /// <summary>Deletes points from a hash or region collection (or from one key partition); returns how many were deleted.</summary>
    /// <exception cref="WriteConsistencyException">Too few replicas of a partition acknowledged in time.</exception>
    /// <exception cref="JournalUnavailableException">The journal is down: the write was not acknowledged.</exception>
    public async Task<WriteResult> DeleteAsync(string collection, IReadOnlyList<PointId> ids, string? key = null, TimeSpan? timeout = null)
    {
        var wait = timeout ?? Settings.Gather.Timeout;
        var version = Clock.Next();
        return await WriteRetryingAsync(collection, wait, entry => entry.Spec.Scheme == PartitionScheme.Key && key is not null
            ? [new DeletePoints(entry.Partition(key), [.. ids], version)]
            : entry.PartitionsOf(ids).Select(b => new DeletePoints(b.Partition, b.Ids, version))).ConfigureAwait(false);
    }

    /// <summary>
    /// One page of the collection's points in ascending id order (numbers first, then strings): up to
    /// <paramref name="limit"/> points with id ≥ <paramref name="from"/> matching <paramref name="filter"/>, and the id
    /// the next page starts at. Every partition must answer; a page is never silently short.
    /// </summary>
    /// <param name="collection">The collection read.</param>
    /// <param name="filter">Qdrant filter JSON (validated by the caller), or null for every point.</param>
    /// <param name="from">The first id wanted (the previous page's <see cref="ScrollPage.NextOffset"/>), or null.</param>
    /// <param name="limit">Points per page, at least 1.</param>
    /// <param name="withVector">Whether the points carry their vectors.</param>
    /// <param name="withPayload">Whether the points carry their payloads and documents.</param>
    /// <param name="timeout">How long each partition may take; the gather timeout by default.</param>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="Akka.Actor.AskTimeoutException">A partition did not answer in time.</exception>
    public async Task<ScrollPage> ScrollAsync(string collection, byte[]? filter, PointId? from, int limit, bool withVector, bool withPayload = true, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfEqual(limit, int.MaxValue);
        var entry = await FindAsync(collection, timeout).ConfigureAwait(false);
        var wait = timeout ?? Settings.Gather.Timeout;
        // Each partition returns one more than the page, so the merged (limit+1)-th id is the next page's start.
        var pages = await Task.WhenAll(entry.Partitions().Select(p => Gather.Replicas.ReadAsync<PointsFound>(
            entry.Spec, p, r => new ScrollPartition(r, filter, from, limit + 1, withPayload, withVector), 1, wait))).ConfigureAwait(false);
        return Page(pages.Select(p => p[0]), limit);
    }

    /// <summary>
    /// One page like <see cref="ScrollAsync(string, byte[], PointId?, int, bool, bool, TimeSpan?)"/>, but from the
    /// partitions that answer in time: those that do not (or refuse) are named in <see cref="ScrollPage.MissingPartitions"/>,
    /// and the page holds the points of the others.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ScrollPage> ScrollPartialAsync(string collection, byte[]? filter, PointId? from, int limit, bool withVector, bool withPayload, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfEqual(limit, int.MaxValue);
        var entry = await FindAsync(collection, timeout).ConfigureAwait(false);
        var wait = timeout ?? Settings.Gather.Timeout;
        var partitions = entry.Partitions().ToList();
        var pages = await Task.WhenAll(partitions.Select(p => Gather.Replicas.TryReadAsync<PointsFound>(
            entry.Spec, p, r => new ScrollPartition(r, filter, from, limit + 1, withPayload, withVector), 1, wait, cancellationToken))).ConfigureAwait(false);
        return Page(pages.Where(p => p is not null).Select(p => p![0]), limit) with
        {
            MissingPartitions = [.. partitions.Where((_, i) => pages[i] is null).Select(p => p.EntityId)],
        };
    }

    // The first `limit` points of the partitions' pages, and the id after them.
    private static ScrollPage Page(IEnumerable<PointsFound> pages, int limit)
    {
        var merged = pages.SelectMany(p => p.Points).OrderBy(p => p.Id).Take(limit + 1).ToList();
        PointId? next = merged.Count > limit ? merged[limit].Id : (PointId?)null;
        if (merged.Count > limit) merged.RemoveAt(limit);
        return new ScrollPage(merged, next);
    }

    /// <summary>Counts the collection's points matching a filter (null: all); every partition must answer.</summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    public async Task<long> CountAsync(string collection, byte[]? filter, TimeSpan? timeout = null)
    {
        var entry = await FindAsync(collection, timeout).ConfigureAwait(false);
        var wait = timeout ?? Settings.Gather.Timeout;
        var counts = await Task.WhenAll(entry.Partitions().Select(p =>
            Gather.Replicas.ReadAsync<PointCount>(entry.Spec, p, r => new CountPartition(r, filter), 1, wait))).ConfigureAwait(false);
        return counts.Sum(c => c[0].Count);
    }

    /// <summary>
    /// Counts the collection's points matching a filter (null: all) in the partitions that answer in time; those that do
    /// not (or refuse) are named in the answer.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ReadResult<long>> CountPartialAsync(string collection, byte[]? filter, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var entry = await FindAsync(collection, timeout).ConfigureAwait(false);
        var wait = timeout ?? Settings.Gather.Timeout;
        var partitions = entry.Partitions().ToList();
        var counts = await Task.WhenAll(partitions.Select(p => Gather.Replicas.TryReadAsync<PointCount>(
            entry.Spec, p, r => new CountPartition(r, filter), 1, wait, cancellationToken))).ConfigureAwait(false);
        return new(counts.Sum(c => c?[0].Count ?? 0), [.. partitions.Where((_, i) => counts[i] is null).Select(p => p.EntityId)]);
    }

    /// <summary>Deletes the collection's points matching a filter (validated by the caller); returns how many were deleted.</summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="WriteConsistencyException">Too few replicas of a partition acknowledged in time.</exception>
    /// <exception cref="JournalUnavailableException">The journal is down: the write was not acknowledged.</exception>
    public async Task<WriteResult> DeleteByFilterAsync(string collection, byte[] filter, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var wait = timeout ?? Settings.Gather.Timeout;
        var version = Clock.Next();
        return await WriteRetryingAsync(collection, wait, entry => entry.Partitions().Select(p => new DeletePointsByFilter(p, filter, version))).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes the payload of the points selected by <paramref name="ids"/> (unknown ids are ignored) or by
    /// <paramref name="filter"/> — exactly one of the two; returns how many points changed.
    /// </summary>
    /// <param name="collection">The collection changed.</param>
    /// <param name="kind">What is done to each selected point.</param>
    /// <param name="payload">The JSON object set or written (Set, Overwrite).</param>
    /// <param name="keys">The keys removed (DeleteKeys).</param>
    /// <param name="ids">The points, or null when selected by filter.</param>
    /// <param name="filter">Qdrant filter JSON (validated by the caller), or null when selected by ids.</param>
    /// <param name="timeout">How long each partition may take; the gather timeout by default.</param>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="WriteConsistencyException">Too few replicas of a partition acknowledged in time.</exception>
    /// <exception cref="JournalUnavailableException">The journal is down: the write was not acknowledged.</exception>
    public async Task<WriteResult> ChangePayloadAsync(
        string collection, PayloadChangeKind kind, byte[]? payload, IReadOnlyList<string> keys,
        IReadOnlyList<PointId>? ids, byte[]? filter, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if ((ids is null) == (filter is null)) throw new ArgumentException("Select points by ids or by a filter, exactly one of the two.", nameof(ids));
        var wait = timeout ?? Settings.Gather.Timeout;
        var version = Clock.Next();
        return await WriteRetryingAsync(collection, wait, entry => ids is null
            ? entry.Partitions().Select(p => new ChangePayload(p, kind, payload, keys, null, filter, version))
            : entry.PartitionsOf(ids).Select(b => new ChangePayload(b.Partition, kind, payload, keys, b.Ids, null, version))).ConfigureAwait(false);
    }

    private async Task<CollectionEntry> FindAsync(string collection, TimeSpan? timeout) =>
        (await CatalogAsync(timeout).ConfigureAwait(false)).Find(collection) ?? throw new UnknownCollectionException(collection);

    // A write built from the current catalog; written again once when it met a sealed staging partition.
    private async Task<WriteResult> WriteRetryingAsync(string collection, TimeSpan wait, Func<CollectionEntry, IEnumerable<IPartitionMessage>> writes)
    {
        for (int attempt = 0; ; attempt++)
        {
            var entry = await WritableAsync(collection, wait).ConfigureAwait(false);
            var (result, sealedPartition) = await WriteAllAsync(entry.Spec, writes(entry), wait).ConfigureAwait(false);
            if (!sealedPartition) return result;
            if (attempt > 0) throw new InvalidOperationException($"Collection '{collection}' kept moving its points to their regions; write again.");
            await MoveToRegionsAsync(collection, wait).ConfigureAwait(false);
        }
    }
}
