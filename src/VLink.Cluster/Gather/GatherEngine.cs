using System.Collections.Immutable;
using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Streams;
using Akka.Streams.Dsl;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
using VLink.Core.Indexing;

namespace VLink.Cluster.Gather;

/// <summary>Knobs of the Gather Engine.</summary>
/// <param name="Timeout">How long one global search may take before it answers with what it has.</param>
/// <param name="OverFetch">Each partition returns ⌈k × OverFetch⌉ candidates (k'); 2 by default, as the design proposes.</param>
/// <param name="CatalogTtl">How long a catalog snapshot is reused before it is asked for again.</param>
/// <param name="HedgeDelay">
/// Collections with replicas: how long a search waits for the nodes' answers before it asks the partitions still
/// missing of every replica (a hedge); <see cref="DefaultHedgeDelay"/> when null. Zero turns hedging off: another
/// replica is then asked only after half the timeout (nodes the failure detector marks unreachable are never asked,
/// with or without hedging).
/// </param>
public sealed record GatherSettings(TimeSpan Timeout, double OverFetch = 2.0, TimeSpan? CatalogTtl = null, TimeSpan? HedgeDelay = null)
{
    /// <summary>The hedge delay unless configured: 100 ms.</summary>
    public static readonly TimeSpan DefaultHedgeDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>5 s timeout, over-fetch 2, catalog reused for 1 s, hedges after 100 ms.</summary>
    public static GatherSettings Default { get; } = new(TimeSpan.FromSeconds(5));

    /// <summary>
    /// How long the first phase of a search of a collection with <paramref name="replicationFactor"/> replicas waits for
    /// the nodes: the whole timeout with one replica, else the hedge delay (half the timeout when hedging is off).
    /// </summary>
    /// <param name="replicationFactor">The collection's replicas.</param>
    /// <param name="timeout">The read's own timeout; <see cref="Timeout"/> when null.</param>
    public TimeSpan FirstPhase(int replicationFactor, TimeSpan? timeout = null)
    {
        var whole = timeout ?? Timeout;
        return replicationFactor <= 1 ? whole : HedgeAfter(HedgeDelay, whole);
    }

    /// <summary>
    /// The one meaning of the hedge delay, for every read of replicas: how long the replicas asked first get before the
    /// others are asked — <paramref name="hedgeDelay"/> (<see cref="DefaultHedgeDelay"/> when null) but at most
    /// <paramref name="wait"/>, or half of <paramref name="wait"/> when hedging is off (zero).
    /// </summary>
    public static TimeSpan HedgeAfter(TimeSpan? hedgeDelay, TimeSpan wait) =>
        (hedgeDelay ?? DefaultHedgeDelay) is { } hedge && hedge > TimeSpan.Zero ? (hedge < wait ? hedge : wait) : wait / 2;
}

/// <summary>What one node contributed to a search.</summary>
public sealed record NodeTrace(string Node, bool Answered, long ElapsedMicros, IReadOnlyList<PartitionTiming> Partitions);

/// <summary>Where the time of one search went, for operators.</summary>
/// <param name="Nodes">Per node: answered or not, latency, per-partition timings.</param>
/// <param name="Messages">Request messages sent (one per node, plus one per partition woken through its shard).</param>
/// <param name="Woken">Partitions that had to be reached through their shard region (passivated or re-homed).</param>
/// <param name="ElapsedMicros">Wall time of the whole search.</param>
public sealed record SearchTrace(IReadOnlyList<NodeTrace> Nodes, int Messages, IReadOnlyList<string> Woken, long ElapsedMicros);

/// <summary>The global top-k, and what the answer knows about its own completeness.</summary>
/// <param name="Hits">The global top-k, ordered by (distance, id).</param>
/// <param name="Complete">True when every partition of the collection answered.</param>
/// <param name="MissingPartitions">Partitions that did not answer in time.</param>
/// <param name="Trace">Where the time went.</param>
public sealed record GlobalSearchResult(IReadOnlyList<SearchHit> Hits, bool Complete, IReadOnlyList<string> MissingPartitions, SearchTrace Trace);

/// <summary>A hybrid search's global results and what the answer knows about itself.</summary>
/// <param name="Hits">The fused results, best first (score, then id).</param>
/// <param name="SemanticExecuted">True when vector search ran in every partition (the query had an embedding and every partition answered).</param>
/// <param name="Complete">True when every partition of the collection answered.</param>
/// <param name="MissingPartitions">Partitions that did not answer in time.</param>
public sealed record HybridSearchResult(IReadOnlyList<Core.Hybrid.HybridHit> Hits, bool SemanticExecuted, bool Complete, IReadOnlyList<string> MissingPartitions);

/// <summary>The collection does not exist.</summary>
public sealed class UnknownCollectionException(string collection) : Exception($"Collection '{collection}' does not exist.")
{
    /// <summary>The collection asked for.</summary>
    public string Collection { get; } = collection;
}

/// <summary>
/// The Gather Engine: every search — single, batch, hybrid, and the regime searches built on them — runs the same
/// stages, each an Akka.Streams graph the engine materializes per request: scatter one request per node (each node's
/// agent merges its local partitions, stage one) and reduce the answers as they arrive into the result (stage two, the
/// (distance, id) top-k or the per-method rankings), until the first phase ends; then hedge the partitions still
/// missing through their shard regions (every replica, and each node's agent for its local replicas), first answer per
/// partition. What is still missing at the deadline is named in the answer instead of silently shrinking it; a
/// partition that refuses (a replica catching up, a partition that lost history) counts as not answering, the same.
/// Each request carries its deadline to every stage (node agents answer by it less a margin) and its cancellation (a
/// kill switch on each stream, and a token on every outstanding ask).
/// </summary>
public sealed class GatherEngine
{
    private readonly ActorSystem _system;
    private readonly IActorRef _shardRegion;
    private readonly IActorRef _catalog;
    private readonly GatherSettings _settings;
    private readonly IMaterializer _materializer;
    private readonly ConcurrentDictionary<Address, IActorRef> _agents = new();
    private volatile CachedCatalog? _catalogCache;
    private volatile CatalogSnapshot? _lastCatalog;
    private long _catalogSilentSince;
    private int _refreshing;

    // The catalog snapshot searches reuse and when it was read: one immutable object, swapped whole.
    private sealed record CachedCatalog(CatalogSnapshot Snapshot, long Stamp);

    /// <summary>Creates the engine for a node.</summary>
    public GatherEngine(ActorSystem system, IActorRef shardRegion, IActorRef catalog, GatherSettings? settings = null)
    {
        _system = system;
        _shardRegion = shardRegion;
        _catalog = catalog;
        _settings = settings ?? GatherSettings.Default;
        _materializer = system.Materializer();
        Replicas = new ReplicaPolicy(shardRegion, _settings);
    }

    /// <summary>The engine's settings.</summary>
    public GatherSettings Settings => _settings;

    /// <summary>The node's one replica policy (ordering, hedging, quorum), which the engine's reads follow too.</summary>
    public ReplicaPolicy Replicas { get; }

    /// <summary>Searches a collection across the cluster.</summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the outstanding asks are too.</exception>
    /// <param name="collection">Collection to search.</param>
    /// <param name="vector">Query vector.</param>
    /// <param name="k">Results wanted.</param>
    /// <param name="ef">HNSW ef, or null for the collection's default.</param>
    /// <param name="exact">Exact scan everywhere.</param>
    /// <param name="cancellationToken">Cancels the search and its outstanding asks.</param>
    /// <param name="filter">A Qdrant-style payload filter as UTF-8 JSON (validated by the caller), or null.</param>
    /// <param name="probes">
    /// Region collections: how many regions the search visits (those of the centroids nearest the query); null for the
    /// collection's default. Exact searches visit every region. Ignored by the other schemes, which visit every partition.
    /// </param>
    /// <param name="timeout">How long the search may take before it answers with what it has; the configured timeout when null.</param>
    public async Task<GlobalSearchResult> SearchAsync(string collection, float[] vector, int k, int? ef = null, bool exact = false, CancellationToken cancellationToken = default, byte[]? filter = null, int? probes = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(vector);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be positive, got {k}.");
        CheckProbes(probes);
        var deadline = Deadline(timeout, cancellationToken);
        var entry = await CollectionAsync(collection, deadline).ConfigureAwait(false);
        Core.Vectors.VectorValidation.Validate(vector, entry.Spec.Dimension, nameof(vector));
        var read = new SearchRead(entry, Route(entry, new SearchRequest(vector, k, FetchK(k), ef, exact, filter), probes));
        int messages = await GatherAsync(read, deadline).ConfigureAwait(false);
        var result = read.Result(messages, deadline.Elapsed);
        Telemetry.VLinkMetrics.RecordSearch(collection, result.Complete, deadline.Elapsed);
        return result;
    }

    /// <summary>
    /// Runs several searches of one collection with one <see cref="NodeSearchBatch"/> per node (not one message per
    /// query and node); answers in query order, each with the same completeness semantics as <see cref="SearchAsync"/>.
    /// A partition missing from its node's answer is asked through its shard region once, for every query it missed.
    /// Every answer's trace counts the request messages of the whole batch.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<GlobalSearchResult[]> SearchBatchAsync(string collection, IReadOnlyList<float[]> vectors, int k, int? ef = null, bool exact = false, CancellationToken cancellationToken = default, int? probes = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be positive, got {k}.");
        CheckProbes(probes);
        var deadline = Deadline(timeout, cancellationToken);
        var entry = await CollectionAsync(collection, deadline).ConfigureAwait(false);
        for (int q = 0; q < vectors.Count; q++)
        {
            ArgumentNullException.ThrowIfNull(vectors[q], $"{nameof(vectors)}[{q}]");
            Core.Vectors.VectorValidation.Validate(vectors[q], entry.Spec.Dimension, $"{nameof(vectors)}[{q}]");
        }
        if (vectors.Count == 0) return [];
        int fetchK = FetchK(k);
        var read = new BatchSearchRead(entry, [.. vectors.Select(v => Route(entry, new SearchRequest(v, k, fetchK, ef, exact), probes))]);
        int messages = await GatherAsync(read, deadline).ConfigureAwait(false);
        var results = read.Results(messages, deadline.Elapsed);
        foreach (var result in results) Telemetry.VLinkMetrics.RecordSearch(collection, result.Complete, deadline.Elapsed);
        return results;
    }

    /// <summary>
    /// A hybrid search across the cluster (two stages): each node runs exact match, BM25 and vector search in its
    /// partitions and merges each method's rankings (stage one); here the nodes' rankings are merged method by method
    /// and fused with RRF (stage two), so ranks are global and the answer is RRF over the whole collection. The request
    /// carries the query's embedding, made once by the caller. Partitions no node reported are asked through their
    /// shard region; what is still missing is named.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<HybridSearchResult> HybridSearchAsync(string collection, HybridRequest request, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K <= 0) throw new ArgumentOutOfRangeException(nameof(request), request.K, $"k must be positive, got {request.K}.");
        var deadline = Deadline(timeout, cancellationToken);
        var entry = await CollectionAsync(collection, deadline).ConfigureAwait(false);
        if (request.Vector is not null) Core.Vectors.VectorValidation.Validate(request.Vector, entry.Spec.Dimension, "vector");
        var read = new HybridSearchRead(entry, request);
        await GatherAsync(read, deadline).ConfigureAwait(false);
        var result = read.Result();
        Telemetry.VLinkMetrics.RecordSearch(collection, result.Complete, deadline.Elapsed);
        return result;
    }

    /// <summary>A read's deadline: <paramref name="timeout"/>, or the configured timeout.</summary>
    public ReadDeadline Deadline(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        new(timeout ?? _settings.Timeout, cancellationToken);

    private int FetchK(int k) => Math.Max(k, (int)Math.Ceiling(k * _settings.OverFetch));

    private static void CheckProbes(int? probes)
    {
        if (probes is < 1) throw new ArgumentOutOfRangeException(nameof(probes), probes, $"probes must be positive, got {probes}.");
    }

    /// <summary>
    /// The partitions a query visits. Region collections: before their regions are filled, the staging partition
    /// alone (regions being filled must not be read); after, the regions of the <paramref name="probes"/> centroids
    /// nearest the query (every region for exact searches). Other schemes: every partition (no key list).
    /// </summary>
    private static SearchRequest Route(CollectionEntry entry, SearchRequest request, int? probes)
    {
        if (entry.Spec.Scheme != PartitionScheme.Region) return request;
        if (entry.Phase != RegionPhase.Active) return request with { Keys = [CollectionEntry.StagingKey] };
        int count = request.Exact ? entry.Spec.PartitionCount : Math.Min(probes ?? entry.Spec.Regions!.Probes, entry.Spec.PartitionCount);
        var regions = count == entry.Spec.PartitionCount
            ? Enumerable.Range(0, count)
            : entry.Router().Nearest(request.Vector, count);
        return request with { Keys = [.. regions.Select(i => entry.Region(i).Key)] };
    }

    /// <summary>
    /// The stages every read runs: scatter one request per node and fold the answers into the read as they arrive, for
    /// the first phase (the whole deadline with one replica, the hedge delay with several); then, within what is left
    /// of the deadline, ask the partitions still missing — every replica through the shard region, and with replicas
    /// each node's agent for its local ones — and fold in the first answer of each. Returns the request messages sent.
    /// </summary>
    private async Task<int> GatherAsync<TNode, TPartition>(GatherRead<TNode, TPartition> read, ReadDeadline deadline)
        where TNode : class
        where TPartition : class
    {
        var spec = read.Entry.Spec;
        var cancel = deadline.Cancellation;
        var members = Members(spec);
        var message = read.NodeMessage(Replicas.Choose(spec), deadline.Left);
        var firstPhase = _settings.FirstPhase(spec.ReplicationFactor, deadline.Timeout) - deadline.Elapsed;
        await CollectAsync(members, address => AskNodeAsync<TNode>(address, message, deadline), firstPhase,
            answer => read.AddNode(answer.Address, answer.Answer), cancel).ConfigureAwait(false);

        // With one replica, a partition its node named as not answering is the same slow partition through its shard.
        var gaps = read.Gaps(includeNamed: spec.ReplicationFactor > 1);
        var left = deadline.Left;
        if (gaps.Count > 0 && left > TimeSpan.Zero)
        {
            var hedge = read.AgentHedge([.. gaps.Select(g => g.Partition.Key)], left);
            var viaAgents = spec.ReplicationFactor > 1
                ? members.Select(address => AskNodeAsync<NodePartitionAnswers>(address, hedge, deadline)).ToList()
                : [];
            await CollectAsync(gaps, async gap =>
            {
                var asks = spec.Replicas(gap.Partition)
                    .Select(r => AskPartitionAsync<TPartition>(read.PartitionMessage(r, gap.Queries), left, cancel))
                    .Concat(viaAgents.Select(async a => (await a.ConfigureAwait(false)).Answer is { } answer ? read.FromAgentHedge(answer, gap) : null));
                return (Gap: gap, Answer: await FirstAsync(asks).ConfigureAwait(false));
            }, left, answer =>
            {
                if (answer.Answer is not null) read.AddPartition(answer.Gap, answer.Answer);
            }, cancel).ConfigureAwait(false);
        }
        return members.Count + gaps.Count;
    }

    /// <summary>
    /// One stage as an Akka.Streams graph: every ask in flight at once, each answer folded in as it arrives (one at a
    /// time) until all came or <paramref name="within"/> passed (later answers are dropped); a kill switch tied to
    /// <paramref name="cancel"/> ends it at once.
    /// </summary>
    private async Task CollectAsync<TIn, TOut>(IReadOnlyList<TIn> items, Func<TIn, Task<TOut>> ask, TimeSpan within, Action<TOut> fold, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        if (items.Count == 0 || within <= TimeSpan.Zero) return;
        var (killSwitch, done) = Source.From(items)
            .SelectAsyncUnordered(items.Count, ask)
            .TakeWithin(within)
            .ViaMaterialized(KillSwitches.Single<TOut>(), Keep.Right)
            .ToMaterialized(Sink.Aggregate<TOut, int>(0, (count, answer) =>
            {
                fold(answer);
                return count + 1;
            }), Keep.Both)
            .Run(_materializer);
        using (cancel.Register(() => killSwitch.Abort(new OperationCanceledException(cancel))))
        {
            try
            {
                await done.ConfigureAwait(false);
            }
            catch (Exception) when (cancel.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancel);
            }
        }
    }

    private List<Address> UpMembers() => [.. Akka.Cluster.Cluster.Get(_system).State.Members
        .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp)
        .Select(m => m.Address)];

    /// <summary>
    /// The nodes a search asks: the members that are up, less — for a collection with replicas — those the failure
    /// detector marks unreachable (their partitions are read from other replicas at once).
    /// </summary>
    private List<Address> Members(CollectionSpec spec)
    {
        if (spec.ReplicationFactor <= 1) return UpMembers();
        var state = Akka.Cluster.Cluster.Get(_system).State;
        var unreachable = state.Unreachable;
        return [.. state.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp && !unreachable.Contains(m))
            .Select(m => m.Address)];
    }

    /// <summary>The first answer (not null) of several asks, or null when none answered.</summary>
    private static async Task<T?> FirstAsync<T>(IEnumerable<Task<T?>> asks)
        where T : class
    {
        var pending = asks.ToList();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            if (await done.ConfigureAwait(false) is { } answer) return answer;
        }
        return null;
    }

    /// <summary>Forgets the cached catalog (after a collection change made through this node).</summary>
    public void InvalidateCatalog() => _catalogCache = null;

    /// <summary>
    /// The current catalog, asked of the singleton. While the singleton does not answer (its node died and it has not
    /// moved yet) the last catalog this node saw is returned instead, so searches name the partitions that do not answer
    /// rather than failing as a whole; the singleton then gets half the timeout per ask, and after an unanswered ask it
    /// is not asked again for one timeout.
    /// </summary>
    /// <param name="timeout">How long to wait for the singleton; the gather timeout by default.</param>
    /// <exception cref="AskTimeoutException">The singleton did not answer and this node has never seen a catalog.</exception>
    public async Task<CatalogSnapshot> CatalogAsync(TimeSpan? timeout = null)
    {
        var last = _lastCatalog;
        var wait = timeout ?? _settings.Timeout;
        long silent = Interlocked.Read(ref _catalogSilentSince);
        if (last is not null && silent != 0 && Stopwatch.GetElapsedTime(silent) < wait) return last;
        try
        {
            var snapshot = await _catalog.Ask<CatalogSnapshot>(GetCatalog.Instance, last is null ? wait : wait / 2).ConfigureAwait(false);
            Remember(snapshot);
            Interlocked.Exchange(ref _catalogSilentSince, 0);
            _catalogCache = new CachedCatalog(snapshot, Stopwatch.GetTimestamp());
            return snapshot;
        }
        catch (AskTimeoutException) when (last is not null)
        {
            Interlocked.Exchange(ref _catalogSilentSince, Stopwatch.GetTimestamp());
            return last;
        }
    }

    // Keeps the newest catalog seen: answers of concurrent asks may arrive out of order.
    private void Remember(CatalogSnapshot snapshot)
    {
        while (true)
        {
            var last = _lastCatalog;
            if (last is not null && snapshot.Index < last.Index) return;
            if (Interlocked.CompareExchange(ref _lastCatalog, snapshot, last) == last) return;
        }
    }

    /// <summary>
    /// The catalog entry a search of <paramref name="collection"/> uses: the cached catalog while it is fresh (the TTL);
    /// once stale, a collection the cache knows is still taken from it and the cache refreshed in the background (one
    /// refresh at a time), so no search waits on the singleton — which matters while the singleton moves after its node
    /// died. A collection the cache does not know is asked for, within the deadline.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    public async Task<CollectionEntry> CollectionAsync(string collection, ReadDeadline? deadline = null)
    {
        deadline ??= Deadline();
        var ttl = _settings.CatalogTtl ?? TimeSpan.FromSeconds(1);
        if (_catalogCache is { } cached && cached.Snapshot.Find(collection) is { } hit)
        {
            if (Stopwatch.GetElapsedTime(cached.Stamp) >= ttl && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
                _ = RefreshCatalogAsync();
            return hit;
        }
        var snapshot = await CatalogAsync(deadline.Left).WaitAsync(deadline.Cancellation).ConfigureAwait(false);
        return snapshot.Find(collection) ?? throw new UnknownCollectionException(collection);
    }

    private async Task RefreshCatalogAsync()
    {
        try
        {
            await CatalogAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // The next search tries again.
        }
        finally
        {
            Interlocked.Exchange(ref _refreshing, 0);
        }
    }

    /// <summary>
    /// Asks a node's agent, giving it what is left of the deadline as its budget; null when it does not answer in time
    /// or fails. Only the read's cancellation is thrown.
    /// </summary>
    private async Task<(Address Address, T? Answer)> AskNodeAsync<T>(Address address, IVLinkMessage message, ReadDeadline deadline)
        where T : class
    {
        var cancel = deadline.Cancellation;
        try
        {
            var wait = deadline.Left;
            if (wait <= TimeSpan.Zero) return (address, null);
            var agent = await AgentAsync(address, wait, cancel).ConfigureAwait(false);
            return (address, await agent.Ask<T>(message, wait, cancel).ConfigureAwait(false));
        }
        catch (Exception) when (!cancel.IsCancellationRequested)
        {
            _agents.TryRemove(address, out _);
            return (address, null);
        }
    }

    /// <summary>
    /// Asks a partition through its shard region (which wakes a passivated or re-homed one); null when it does not answer
    /// in time or refuses (a Status.Failure: a replica catching up, a partition that lost history). Only the read's
    /// cancellation is thrown.
    /// </summary>
    private async Task<T?> AskPartitionAsync<T>(IPartitionMessage message, TimeSpan timeout, CancellationToken cancel)
        where T : class
    {
        try
        {
            return await _shardRegion.Ask<T>(message, timeout, cancel).ConfigureAwait(false);
        }
        catch (Exception) when (!cancel.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task<IActorRef> AgentAsync(Address address, TimeSpan timeout, CancellationToken cancel)
    {
        if (_agents.TryGetValue(address, out var agent)) return agent;
        var path = new RootActorPath(address) / "user" / NodeAgent.Name;
        agent = await _system.ActorSelection(path).ResolveOne(timeout, cancel).ConfigureAwait(false);
        _agents[address] = agent;
        return agent;
    }
}
