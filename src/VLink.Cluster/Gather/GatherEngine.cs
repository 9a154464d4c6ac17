using System.Collections.Immutable;
using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Streams;
using Akka.Streams.Dsl;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
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
    public TimeSpan FirstPhase(int replicationFactor) =>
        replicationFactor <= 1 ? Timeout
        : (HedgeDelay ?? DefaultHedgeDelay) is { } hedge && hedge > TimeSpan.Zero ? (hedge < Timeout ? hedge : Timeout)
        : Timeout / 2;
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
/// Scatters a k-NN search to every node (one message per node, Akka.Streams with bounded parallelism), where
/// each node's agent merges its local partitions (stage 1); reduces the node answers into the global top-k
/// (stage 2) with the deterministic (distance, id) order. Partitions that did not answer through their node
/// are asked through their shard region, which wakes a passivated or re-homed partition; whatever is still
/// missing at the deadline is named in the answer instead of silently shrinking it. A partition that refuses (a replica
/// catching up, a partition that lost history) counts as not answering, the same.
/// </summary>
public sealed class GatherEngine
{
    private readonly ActorSystem _system;
    private readonly IActorRef _shardRegion;
    private readonly IActorRef _catalog;
    private readonly GatherSettings _settings;
    private readonly IMaterializer _materializer;
    private readonly ConcurrentDictionary<Address, IActorRef> _agents = new();
    private (CatalogSnapshot Snapshot, long Stamp)? _catalogCache;
    private volatile CatalogSnapshot? _lastCatalog;
    private long _catalogSilentSince;
    private int _rotation;
    private int _refreshing;

    /// <summary>Creates the engine for a node.</summary>
    public GatherEngine(ActorSystem system, IActorRef shardRegion, IActorRef catalog, GatherSettings? settings = null)
    {
        _system = system;
        _shardRegion = shardRegion;
        _catalog = catalog;
        _settings = settings ?? GatherSettings.Default;
        _materializer = system.Materializer();
    }

    /// <summary>Searches a collection across the cluster.</summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    /// <param name="collection">Collection to search.</param>
    /// <param name="vector">Query vector.</param>
    /// <param name="k">Results wanted.</param>
    /// <param name="ef">HNSW ef, or null for the collection's default.</param>
    /// <param name="exact">Exact scan everywhere.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <param name="filter">A Qdrant-style payload filter as UTF-8 JSON (validated by the caller), or null.</param>
    /// <param name="probes">
    /// Region collections: how many regions the search visits (those of the centroids nearest the query); null for the
    /// collection's default. Exact searches visit every region. Ignored by the other schemes, which visit every partition.
    /// </param>
    public async Task<GlobalSearchResult> SearchAsync(string collection, float[] vector, int k, int? ef = null, bool exact = false, CancellationToken cancellationToken = default, byte[]? filter = null, int? probes = null)
    {
        ArgumentNullException.ThrowIfNull(vector);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be positive, got {k}.");
        CheckProbes(probes);
        var clock = Stopwatch.StartNew();
        var entry = await CollectionAsync(collection).ConfigureAwait(false);
        Core.Vectors.VectorValidation.Validate(vector, entry.Spec.Dimension, nameof(vector));
        var request = Route(entry, new SearchRequest(vector, k, FetchK(k), ef, exact, filter), probes);
        var deadline = clock.Elapsed + _settings.Timeout;

        var members = Members(entry.Spec);
        var message = new NodeSearch(collection, request, entry.Generation, Choose(entry.Spec));
        var nodeAnswers = await ScatterAsync(members, address => AskNode(address, message, _settings.Timeout), _settings.FirstPhase(entry.Spec.ReplicationFactor)).ConfigureAwait(false);

        var lists = new List<IReadOnlyList<SearchHit>>();
        var answered = new HashSet<string>();
        var traces = new List<NodeTrace>();
        foreach (var (address, hits) in nodeAnswers)
        {
            traces.Add(new NodeTrace(address.ToString(), hits is not null, hits?.ElapsedMicros ?? 0, hits?.Partitions ?? []));
            if (hits is null) continue;
            lists.Add(hits.Hits);
            foreach (var p in hits.Partitions) answered.Add(PrimaryId(p.Partition));
        }

        // Partitions no node reported: wake them (every replica of each) through their shard region within the time left.
        var expected = entry.Partitions().Where(p => request.Visits(p.Key)).ToList();
        var missing = expected.Where(p => !answered.Contains(p.EntityId)).ToList();
        var woken = new List<string>();
        if (missing.Count > 0)
        {
            var left = deadline - clock.Elapsed;
            if (left > TimeSpan.Zero)
            {
                var asks = entry.Spec.ReplicationFactor > 1
                    ? HedgeAsync(entry, collection, request, missing, members, left)
                    : missing.Select(p => AskPartition(p, request, left)).ToList();
                foreach (var hits in await Task.WhenAll(asks).ConfigureAwait(false))
                {
                    if (hits is null) continue;
                    lists.Add(hits.Hits);
                    answered.Add(hits.Partition.Primary().EntityId);
                    woken.Add(hits.Partition.EntityId);
                }
            }
        }
        var stillMissing = expected.Select(p => p.EntityId).Where(p => !answered.Contains(p)).ToList();
        var merged = lists.Count == 0 ? [] : TopK.Merge(lists, k);
        var trace = new SearchTrace(traces, members.Count + missing.Count, woken, (long)clock.Elapsed.TotalMicroseconds);
        Telemetry.VLinkMetrics.RecordSearch(collection, stillMissing.Count == 0, clock.Elapsed);
        return new GlobalSearchResult(merged, stillMissing.Count == 0, stillMissing, trace);
    }

    /// <summary>
    /// Runs several searches of one collection with one <see cref="NodeSearchBatch"/> per node (not one message per
    /// query and node); answers in query order, each with the same completeness semantics as <see cref="SearchAsync"/>.
    /// A partition missing from its node's answer is asked through its shard region once, for every query it missed.
    /// Every answer's trace counts the request messages of the whole batch.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    public async Task<GlobalSearchResult[]> SearchBatchAsync(string collection, IReadOnlyList<float[]> vectors, int k, int? ef = null, bool exact = false, CancellationToken cancellationToken = default, int? probes = null)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be positive, got {k}.");
        CheckProbes(probes);
        var clock = Stopwatch.StartNew();
        var entry = await CollectionAsync(collection).ConfigureAwait(false);
        for (int q = 0; q < vectors.Count; q++)
        {
            ArgumentNullException.ThrowIfNull(vectors[q], $"{nameof(vectors)}[{q}]");
            Core.Vectors.VectorValidation.Validate(vectors[q], entry.Spec.Dimension, $"{nameof(vectors)}[{q}]");
        }
        if (vectors.Count == 0) return [];
        int fetchK = FetchK(k);
        var requests = vectors.Select(v => Route(entry, new SearchRequest(v, k, fetchK, ef, exact), probes)).ToList();
        var deadline = clock.Elapsed + _settings.Timeout;

        var members = Members(entry.Spec);
        var message = new NodeSearchBatch(collection, requests, entry.Generation, Choose(entry.Spec));
        var nodeAnswers = await ScatterAsync(members, address => AskNodeBatch(address, message, _settings.Timeout), _settings.FirstPhase(entry.Spec.ReplicationFactor)).ConfigureAwait(false);

        int count = requests.Count;
        var lists = Enumerable.Range(0, count).Select(_ => new List<IReadOnlyList<SearchHit>>()).ToArray();
        var answered = Enumerable.Range(0, count).Select(_ => new HashSet<string>()).ToArray();
        var traces = Enumerable.Range(0, count).Select(_ => new List<NodeTrace>()).ToArray();
        foreach (var (address, batch) in nodeAnswers)
        {
            // An answer of the wrong length is not trusted: the node counts as not answering.
            var perQuery = batch is not null && batch.Answers.Count == count ? batch.Answers : null;
            for (int q = 0; q < count; q++)
            {
                var hits = perQuery?[q];
                traces[q].Add(new NodeTrace(address.ToString(), hits is not null, hits?.ElapsedMicros ?? 0, hits?.Partitions ?? []));
                if (hits is null) continue;
                lists[q].Add(hits.Hits);
                foreach (var p in hits.Partitions) answered[q].Add(PrimaryId(p.Partition));
            }
        }

        // Partitions no node reported for some query: wake each through its shard region once, for those queries.
        var expected = entry.Partitions().ToList();
        var woken = Enumerable.Range(0, count).Select(_ => new List<string>()).ToArray();
        var missing = expected
            .Select(p => (Partition: p, Queries: Enumerable.Range(0, count)
                .Where(q => requests[q].Visits(p.Key) && !answered[q].Contains(p.EntityId)).ToList()))
            .Where(m => m.Queries.Count > 0)
            .ToList();
        if (missing.Count > 0)
        {
            var left = deadline - clock.Elapsed;
            if (left > TimeSpan.Zero)
            {
                var asks = missing.Select(m =>
                {
                    SearchRequest[] asked = [.. m.Queries.Select(q => requests[q])];
                    return FirstAsync(entry.Spec.Replicas(m.Partition).Select(r => AskPartitionBatch(r, asked, left)));
                }).ToList();
                var results = await Task.WhenAll(asks).ConfigureAwait(false);
                for (int i = 0; i < missing.Count; i++)
                {
                    var batch = results[i];
                    var queries = missing[i].Queries;
                    if (batch is null || batch.Answers.Count != queries.Count) continue;
                    for (int j = 0; j < queries.Count; j++)
                    {
                        int q = queries[j];
                        lists[q].Add(batch.Answers[j].Hits);
                        answered[q].Add(missing[i].Partition.EntityId);
                        woken[q].Add(missing[i].Partition.EntityId);
                    }
                }
            }
        }

        int messages = members.Count + missing.Count;
        long elapsed = (long)clock.Elapsed.TotalMicroseconds;
        var answers = new GlobalSearchResult[count];
        for (int q = 0; q < count; q++)
        {
            var stillMissing = expected.Where(p => requests[q].Visits(p.Key)).Select(p => p.EntityId).Where(p => !answered[q].Contains(p)).ToList();
            var merged = lists[q].Count == 0 ? [] : TopK.Merge(lists[q], k);
            var trace = new SearchTrace(traces[q], messages, woken[q], elapsed);
            answers[q] = new GlobalSearchResult(merged, stillMissing.Count == 0, stillMissing, trace);
            Telemetry.VLinkMetrics.RecordSearch(collection, stillMissing.Count == 0, clock.Elapsed);
        }
        return answers;
    }

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
    /// A hybrid search across the cluster (two stages): each node runs exact match, BM25 and vector search in its
    /// partitions and merges each method's rankings (stage one); here the nodes' rankings are merged method by method
    /// and fused with RRF (stage two), so ranks are global and the answer is RRF over the whole collection. The request
    /// carries the query's embedding, made once by the caller. Partitions no node reported are asked through their
    /// shard region; what is still missing is named.
    /// </summary>
    /// <exception cref="UnknownCollectionException">No such collection.</exception>
    public async Task<HybridSearchResult> HybridSearchAsync(string collection, HybridRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K <= 0) throw new ArgumentOutOfRangeException(nameof(request), request.K, $"k must be positive, got {request.K}.");
        var clock = Stopwatch.StartNew();
        var entry = await CollectionAsync(collection).ConfigureAwait(false);
        if (request.Vector is not null) Core.Vectors.VectorValidation.Validate(request.Vector, entry.Spec.Dimension, "vector");
        var deadline = clock.Elapsed + _settings.Timeout;
        var members = Members(entry.Spec);
        var message = new NodeHybridSearch(collection, request, entry.Generation, Choose(entry.Spec));
        var nodeAnswers = await ScatterAsync(members, async address =>
        {
            try
            {
                var agent = await AgentAsync(address, _settings.Timeout).ConfigureAwait(false);
                return (address, (NodeHybridHits?)await agent.Ask<NodeHybridHits>(message, _settings.Timeout).ConfigureAwait(false));
            }
            catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException or TaskCanceledException)
            {
                _agents.TryRemove(address, out _);
                return (address, (NodeHybridHits?)null);
            }
        }, _settings.FirstPhase(entry.Spec.ReplicationFactor)).ConfigureAwait(false);

        var lists = new List<IReadOnlyList<Core.Hybrid.MethodRanking>>();
        var answered = new HashSet<string>();
        bool semantic = request.RunsSemantic;
        foreach (var (_, hits) in nodeAnswers)
        {
            if (hits is null) continue;
            lists.Add(hits.Rankings);
            semantic &= hits.SemanticRan || hits.Partitions.Count == 0;
            foreach (var p in hits.Partitions) answered.Add(PrimaryId(p));
        }
        var missing = entry.Partitions().Where(p => !answered.Contains(p.EntityId)).ToList();
        if (missing.Count > 0 && deadline - clock.Elapsed is { } left && left > TimeSpan.Zero)
        {
            var woken = await Task.WhenAll(missing.Select(p => FirstAsync(entry.Spec.Replicas(p).Select(async r =>
            {
                try
                {
                    return await _shardRegion.Ask<PartitionHybridHits>(new SearchPartitionHybrid(r, request), left).ConfigureAwait(false);
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or InvalidOperationException)
                {
                    return null;
                }
            })))).ConfigureAwait(false);
            var found = woken.Where(w => w is not null).Select(w => w!).ToList();
            foreach (var w in found)
            {
                lists.Add(w.Rankings);
                answered.Add(w.Partition.Primary().EntityId);
            }
        }
        var stillMissing = entry.Partitions().Select(p => p.EntityId).Where(p => !answered.Contains(p)).ToList();
        var merged = request.Fuse(request.Merge(lists));
        Telemetry.VLinkMetrics.RecordSearch(collection, stillMissing.Count == 0, clock.Elapsed);
        return new HybridSearchResult(merged, semantic && stillMissing.Count == 0, stillMissing.Count == 0, stillMissing);
    }

    private int FetchK(int k) => Math.Max(k, (int)Math.Ceiling(k * _settings.OverFetch));

    private List<Address> UpMembers() => [.. Akka.Cluster.Cluster.Get(_system).State.Members
        .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp)
        .Select(m => m.Address)];

    /// <summary>
    /// One request per node, all in flight at once (Akka.Streams); the answers that arrived within
    /// <paramref name="firstPhase"/>, in arrival order (later ones are dropped: the partitions they would have covered
    /// are then asked of every replica instead, whose answers name one partition each and are never counted twice).
    /// </summary>
    private async Task<List<(Address Address, T? Hits)>> ScatterAsync<T>(List<Address> members, Func<Address, Task<(Address, T?)>> ask, TimeSpan firstPhase)
        where T : class
    {
        var answers = new List<(Address Address, T? Hits)>(members.Count);
        bool closed = false;
        var run = Source.From(members)
            .SelectAsyncUnordered(Math.Max(1, members.Count), ask)
            .RunForeach(answer =>
            {
                lock (answers)
                    if (!closed) answers.Add(answer);
            }, _materializer);
        try
        {
            await run.WaitAsync(firstPhase).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The nodes still silent are hedged by the caller.
        }
        lock (answers)
        {
            closed = true;
            return [.. answers];
        }
    }

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

    /// <summary>The replica choice of the next search of a collection: turns with every search, so replicas share the reads.</summary>
    private ReplicaChoice Choose(CollectionSpec spec) =>
        spec.ReplicationFactor <= 1 ? default : new ReplicaChoice(spec.ReplicationFactor, Interlocked.Increment(ref _rotation) & int.MaxValue);

    /// <summary>The partition (its replica 0's entity id) an answering replica's entity id belongs to.</summary>
    private static string PrimaryId(string entityId) =>
        entityId.Contains('#', StringComparison.Ordinal) ? PartitionRef.FromEntityId(entityId).Primary().EntityId : entityId;

    /// <summary>
    /// The hedge of a search of a replicated collection, for the partitions still missing: every replica of each through
    /// the shard region (which also wakes replicas no node has started), and at once every reachable node's agent for
    /// its local replicas of them (which works even while this node's shard region cannot locate a shard); per
    /// partition, the first answer.
    /// </summary>
    private List<Task<PartitionHits?>> HedgeAsync(CollectionEntry entry, string collection, SearchRequest request, List<PartitionRef> missing, List<Address> members, TimeSpan left)
    {
        var message = new NodeSearchPartitions(collection, request, entry.Generation, [.. missing.Select(p => p.Key)]);
        var viaAgents = members.Select(async address =>
        {
            try
            {
                var agent = await AgentAsync(address, left).ConfigureAwait(false);
                return await agent.Ask<NodePartitionHits>(message, left).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException or TaskCanceledException)
            {
                return null;
            }
        }).ToList();
        return [.. missing.Select(p => FirstAsync(entry.Spec.Replicas(p).Select(r => AskPartition(r, request, left))
            .Concat(viaAgents.Select(a => AnswerOf(a, p.Key)))))];
    }

    private static async Task<PartitionHits?> AnswerOf(Task<NodePartitionHits?> node, string key)
    {
        var answer = await node.ConfigureAwait(false);
        return answer?.Answers.FirstOrDefault(h => h.Partition.Key == key);
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
            if (last is null || snapshot.Index >= last.Index) _lastCatalog = snapshot;
            Interlocked.Exchange(ref _catalogSilentSince, 0);
            _catalogCache = (snapshot, Stopwatch.GetTimestamp());
            return snapshot;
        }
        catch (AskTimeoutException) when (last is not null)
        {
            Interlocked.Exchange(ref _catalogSilentSince, Stopwatch.GetTimestamp());
            return last;
        }
    }

    // A search uses the cached catalog while it is fresh (the TTL); once stale, a search of a collection the cache knows
    // still uses it and refreshes it in the background (one refresh at a time), so no search waits on the singleton —
    // which matters while the singleton moves after its node died. A collection the cache does not know is asked for.
    private async Task<CollectionEntry> CollectionAsync(string collection)
    {
        var ttl = _settings.CatalogTtl ?? TimeSpan.FromSeconds(1);
        var cached = _catalogCache;
        if (cached is { } c && c.Snapshot.Find(collection) is { } hit)
        {
            if (Stopwatch.GetElapsedTime(c.Stamp) >= ttl && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
                _ = RefreshCatalogAsync();
            return hit;
        }
        var snapshot = await CatalogAsync().ConfigureAwait(false);
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

    private async Task<(Address, NodeHits?)> AskNode(Address address, NodeSearch message, TimeSpan timeout)
    {
        try
        {
            var agent = await AgentAsync(address, timeout).ConfigureAwait(false);
            return (address, await agent.Ask<NodeHits>(message, timeout).ConfigureAwait(false));
        }
        catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException or TaskCanceledException)
        {
            _agents.TryRemove(address, out _);
            return (address, null);
        }
    }

    private async Task<(Address, NodeHitsBatch?)> AskNodeBatch(Address address, NodeSearchBatch message, TimeSpan timeout)
    {
        try
        {
            var agent = await AgentAsync(address, timeout).ConfigureAwait(false);
            return (address, await agent.Ask<NodeHitsBatch>(message, timeout).ConfigureAwait(false));
        }
        catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException or TaskCanceledException)
        {
            _agents.TryRemove(address, out _);
            return (address, null);
        }
    }

    private async Task<PartitionHitsBatch?> AskPartitionBatch(PartitionRef partition, IReadOnlyList<SearchRequest> requests, TimeSpan timeout)
    {
        try
        {
            return await _shardRegion.Ask<PartitionHitsBatch>(new SearchPartitionBatch(partition, requests), timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or InvalidOperationException)
        {
            return null;
        }
    }

    private async Task<IActorRef> AgentAsync(Address address, TimeSpan timeout)
    {
        if (_agents.TryGetValue(address, out var agent)) return agent;
        var path = new RootActorPath(address) / "user" / NodeAgent.Name;
        agent = await _system.ActorSelection(path).ResolveOne(timeout).ConfigureAwait(false);
        _agents[address] = agent;
        return agent;
    }

    private async Task<PartitionHits?> AskPartition(PartitionRef partition, SearchRequest request, TimeSpan timeout)
    {
        try
        {
            return await _shardRegion.Ask<PartitionHits>(new SearchPartition(partition, request), timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or InvalidOperationException)
        {
            return null;
        }
    }
}
