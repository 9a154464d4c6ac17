using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Regimes;

namespace VLink.Cluster.Partitions;

/// <summary>
/// What one partition holds: its collection's spec, its index and the payloads of its points. The domain of a
/// partition entity without the actor: commands are validated into events here, and events are applied here,
/// so both are testable without an ActorSystem. The index starts flat (exact, no graph) and becomes an HNSW
/// graph once the partition reaches the collection's flat threshold.
/// </summary>
public sealed partial class PartitionState : IDisposable
{
    // A journalled batch of at least this many points goes into a graph with every core inserting at once
    // (HnswIndex.UpsertMany). Parallel insertion links points in an order no replay repeats: a graph rebuilt from the
    // journal holds the same points, but an approximate search may rank near ties differently (a snapshot restores the
    // graph itself).
    private const int ParallelInsertBatch = 64;

    // An array costs its 24-byte header, a string its 22 bytes and two a character.
    private readonly AccountedMap<byte[]> _payloads = new(static p => 24 + p.LongLength);
    private readonly AccountedMap<string> _documents = new(static d => 22 + 2L * d.Length);
    // Parsed payloads for filters, filled on first use and dropped when the point changes.
    private readonly Dictionary<PointId, System.Text.Json.JsonElement> _parsed = [];
    // The ids in ascending order for scrolling, built on first use and dropped when a point comes or goes.
    private PointId[]? _sortedIds;
    // Last writer wins: each point's version and the tombstones of deleted ids.
    private readonly PointVersions _versions = new();

    // Keyword and exact-match index of the text fields (text collections only); derived from payloads, never persisted.
    private readonly Core.Hybrid.TextIndex? _text;

    private PartitionState(CollectionSpec spec, IVectorIndex index)
    {
        Spec = spec;
        Index = index;
        if (spec.Text is not null) _text = new Core.Hybrid.TextIndex();
    }

    private void IndexText(PointId id)
    {
        if (_text is null) return;
        _text.Upsert(id, Core.Hybrid.TextFields.Extract(_payloads.GetValueOrDefault(id), _documents.GetValueOrDefault(id), Spec.Text!.Fields));
    }

    /// <summary>For a partition of a regime collection: its market's tracker and watermarks (null otherwise, or before the first batch).</summary>
    public MarketState? Market { get; private set; }

    /// <summary>The collection spec this partition was created with.</summary>
    public CollectionSpec Spec { get; }

    /// <summary>The index (flat while small, HNSW above the threshold).</summary>
    public IVectorIndex Index { get; private set; }

    /// <summary>"flat" or "hnsw".</summary>
    public string IndexKind => Index is HnswIndex ? "hnsw" : "flat";

    /// <summary>Points held.</summary>
    public int Count => Index.Count;

    /// <summary>The versions of the points held and the tombstones of deleted ones (last writer wins).</summary>
    public PointVersions Versions => _versions;

    /// <summary>
    /// Bytes of memory the partition holds: its index (vectors or codes, graph, ids), its payloads and documents, and its text index.
    /// Safe to read from any thread. Full-precision vectors a quantized index memory-maps are in <see cref="MappedBytes"/>.
    /// </summary>
    public long MemoryBytes => Index.MemoryBytes + _payloads.Bytes + _documents.Bytes + (_text?.MemoryBytes ?? 0);

    /// <summary>Bytes of full-precision vectors in a memory-mapped file (quantized graphs with originals on disk).</summary>
    public long MappedBytes => Index is HnswIndex hnsw ? hnsw.MappedBytes : 0;

    /// <summary>A new, empty partition of a collection.</summary>
    public static PartitionState Create(CollectionSpec spec) => new(spec, new FlatIndex(spec.Dimension, spec.Metric));

    /// <summary>
    /// Checks an upsert against the spec and returns the event to persist, or the reason it is refused.
    /// Nothing is applied here: a refused batch leaves no trace.
    /// </summary>
    public static (PointsUpserted? Event, string? Error) Validate(CollectionSpec spec, IReadOnlyList<PointWrite> points)
    {
        if (points.Count == 0) return (null, "The batch holds no points.");
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (p.Vector is null) return (null, $"points[{i}] (id {p.Id}) has no vector.");
            try
            {
                Core.Vectors.VectorValidation.Validate(p.Vector, spec.Dimension, $"points[{i}].vector");
                if (spec.Metric == Core.Vectors.DistanceMetric.Cosine && Core.Vectors.VectorKernels.Norm(p.Vector) == 0f)
                    return (null, $"points[{i}] (id {p.Id}) is a zero vector, which has no cosine direction.");
            }
            catch (ArgumentException e)
            {
                return (null, $"points[{i}] (id {p.Id}): {e.Message}");
            }
        }
        return (new PointsUpserted(points), null);
    }

    /// <summary>
    /// Applies a journalled upsert; returns how many points it wrote. A point older than the version held for its id
    /// (a later write or delete) is skipped; later points of one batch win over earlier ones with the same id. A large
    /// batch into a graph is inserted on every core at once.
    /// </summary>
    public int Apply(PointsUpserted e)
    {
        // Versions decide first, in batch order, which points are written; the index then takes them all, its last
        // vector of an id winning as the last point of the id would one by one.
        var admitted = new List<PointWrite>(e.Points.Count);
        foreach (var p in e.Points)
            if (_versions.AdmitUpsert(p.Id, p.Version)) admitted.Add(p);
        if (_sortedIds is not null && admitted.Exists(p => !Index.Contains(p.Id))) _sortedIds = null;
        if (Index is HnswIndex graph && admitted.Count >= ParallelInsertBatch)
            graph.UpsertMany([.. admitted.Select(p => p.Id)], [.. admitted.Select(p => (ReadOnlyMemory<float>)p.Vector)], Environment.ProcessorCount, link: !LinkLater);
        else
            foreach (var p in admitted) Index.Upsert(p.Id, p.Vector);
        foreach (var p in admitted)
        {
            _parsed.Remove(p.Id);
            if (p.Payload is { Length: > 0 }) _payloads[p.Id] = p.Payload;
            else _payloads.Remove(p.Id);
            if (p.Document is not null) _documents[p.Id] = p.Document;
            else _documents.Remove(p.Id);
            IndexText(p.Id);
        }
        PromoteIfLarge();
        return admitted.Count;
    }

    /// <summary>
    /// Applies a journalled market batch to the market <paramref name="market"/> (this partition's key): the rows go
    /// through the regime tracker, each new regime vector is upserted with its payload, and forward outcomes that
    /// became known are set on the payloads of earlier vectors. Deterministic, so replay rebuilds the same index.
    /// </summary>
    /// <exception cref="InvalidOperationException">The collection is not a regime collection.</exception>
    public MarketApplied Apply(MarketDataIngested e, string market)
    {
        ArgumentNullException.ThrowIfNull(e);
        var regime = Spec.Regime ?? throw new InvalidOperationException($"Collection '{Spec.Name}' is not a regime collection.");
        Market ??= MarketState.Create(market, regime);
        var applied = Market.Apply(e.Batch);
        var featureSet = Market.Tracker.FeatureSet;
        foreach (var vector in applied.Updates.Vectors)
        {
            var id = vector.Id;
            if (_sortedIds is not null && !Index.Contains(id)) _sortedIds = null;
            Index.Upsert(id, vector.Values);
            _payloads[id] = RegimePoints.Payload(vector, featureSet);
            _parsed.Remove(id);
            _documents.Remove(id);
        }
        // Outcomes of one window (one per horizon) are merged into its payload in one rewrite.
        var outcomes = applied.Updates.Outcomes;
        for (int i = 0; i < outcomes.Count;)
        {
            int j = i + 1;
            while (j < outcomes.Count && outcomes[j].WindowEnd == outcomes[i].WindowEnd) j++;
            var id = RegimePoints.IdFor(market, outcomes[i].WindowEnd);
            if (_payloads.TryGetValue(id, out var current))
            {
                _payloads[id] = PayloadEdits.SetNumbers(current, outcomes, i, j);
                _parsed.Remove(id);
            }
            i = j;
        }
        PromoteIfLarge();
        return applied;
    }

    /// <summary>
    /// Applies a journalled delete; returns how many points existed. An id written later than the delete is kept;
    /// every other id becomes a tombstone of the delete's version, present or not (a replica may see the delete
    /// before the upsert it follows).
    /// </summary>
    public int Apply(PointsDeleted e)
    {
        int deleted = 0;
        foreach (var id in e.Ids)
        {
            if (!_versions.AdmitDelete(id, e.Version)) continue;
            if (Index.Delete(id))
            {
                deleted++;
                _sortedIds = null;
            }
            _parsed.Remove(id);
            _payloads.Remove(id);
            _documents.Remove(id);
            _text?.Remove(id);
        }
        return deleted;
    }

    /// <summary>
    /// Resolves a payload change to the event to persist: the existing points it selects (by ids, or by filter), or
    /// null when it selects none.
    /// </summary>
    /// <exception cref="ArgumentException">The filter is not a valid filter.</exception>
    public PayloadChanged? Resolve(ChangePayload change)
    {
        ArgumentNullException.ThrowIfNull(change);
        IReadOnlyList<PointId> ids = change.Filter is { } filter
            ? Matching(filter, int.MaxValue)
            : [.. (change.Ids ?? []).Distinct().Where(Index.Contains)];
        ids = [.. ids.Where(id => _versions.Admits(id, change.Version))];
        return ids.Count == 0 ? null : new PayloadChanged(change.Kind, change.Payload, change.Keys, ids, change.Version);
    }

    /// <summary>Applies a journalled payload change to the points that still exist; returns how many changed.</summary>
    public int Apply(PayloadChanged e)
    {
        ArgumentNullException.ThrowIfNull(e);
        int changed = 0;
        foreach (var id in e.Ids)
        {
            if (!Index.Contains(id) || !_versions.Admits(id, e.Version)) continue;
            byte[]? next = PayloadEdits.Apply(e.Kind, _payloads.GetValueOrDefault(id), e.Payload, e.Keys);
            if (next is { Length: > 0 }) _payloads[id] = next;
            else _payloads.Remove(id);
            _parsed.Remove(id);
            IndexText(id);
            changed++;
        }
        return changed;
    }

    /// <summary>The ids of the points matching a filter (Qdrant filter JSON), ascending, at most <paramref name="limit"/>.</summary>
    /// <exception cref="ArgumentException">The filter is not a valid filter.</exception>
    public IReadOnlyList<PointId> Matching(byte[] filter, int limit)
    {
        var predicate = FilterOf(filter)!;
        var found = new List<PointId>();
        foreach (var id in SortedIds())
        {
            if (found.Count >= limit) break;
            if (predicate.Matches(id)) found.Add(id);
        }
        return found;
    }

    /// <summary>
    /// One page in ascending id order: up to <paramref name="limit"/> points with id ≥ <paramref name="from"/> that match
    /// the filter, with payload (and document) and vector when asked for.
    /// </summary>
    /// <exception cref="ArgumentException">The filter is not a valid filter.</exception>
    public IReadOnlyList<PointRecord> Scroll(byte[]? filter, PointId? from, int limit, bool withPayload, bool withVector)
    {
        var predicate = FilterOf(filter);
        var ids = SortedIds();
        int start = 0;
        if (from is { } first)
        {
            start = Array.BinarySearch(ids, first);
            if (start < 0) start = ~start;
        }
        var page = new List<PointRecord>(Math.Min(limit, 1024));
        for (int i = start; i < ids.Length && page.Count < limit; i++)
        {
            var id = ids[i];
            if (predicate is not null && !predicate.Matches(id)) continue;
            page.Add(new PointRecord(
                id,
                withVector ? Index.GetVector(id) : null,
                withPayload ? Payload(id) : null,
                withPayload ? Document(id) : null,
                _versions.LiveOf(id)));
        }
        return page;
    }

    /// <summary>How many points match the filter (all points when it is null).</summary>
    /// <exception cref="ArgumentException">The filter is not a valid filter.</exception>
    public long CountMatching(byte[]? filter)
    {
        var predicate = FilterOf(filter);
        if (predicate is null) return Count;
        long count = 0;
        foreach (var id in Index.Ids())
            if (predicate.Matches(id)) count++;
        return count;
    }

    private PointId[] SortedIds()
    {
        if (_sortedIds is null)
        {
            var ids = Index.Ids().ToArray();
            Array.Sort(ids);
            _sortedIds = ids;
        }
        return _sortedIds;
    }

    private Core.Filtering.PayloadFilterAdapter? FilterOf(byte[]? json) => json is null
        ? null
        : new Core.Filtering.PayloadFilterAdapter(Core.Filtering.PayloadFilter.Parse(System.Text.Encoding.UTF8.GetString(json)), ParsedPayload);

    /// <summary>
    /// The base rate of a market partition: per horizon, the sums of the known forward outcomes of every window ending
    /// in [<paramref name="from"/>, <paramref name="to"/>] (Unix seconds; null ends are open), read from the windows' payloads.
    /// </summary>
    public List<OutcomeSums> BaseRate(double? from, double? to, IReadOnlyList<int> horizons)
    {
        ArgumentNullException.ThrowIfNull(horizons);
        var known = new long[horizons.Count];
        var positive = new long[horizons.Count];
        var returns = new double[horizons.Count];
        var volatilities = new double[horizons.Count];
        var returnKeys = horizons.Select(Core.Regimes.RegimeFeatureSet.ForwardReturnKey).ToArray();
        var volatilityKeys = horizons.Select(Core.Regimes.RegimeFeatureSet.ForwardVolatilityKey).ToArray();
        foreach (var (id, _) in _payloads)
        {
            if (ParsedPayload(id) is not { ValueKind: System.Text.Json.JsonValueKind.Object } payload) continue;
            if (!payload.TryGetProperty("window_end_unix", out var end) || end.ValueKind != System.Text.Json.JsonValueKind.Number) continue;
            double at = end.GetDouble();
            if ((from is { } f && at < f) || (to is { } t && at > t)) continue;
            for (int i = 0; i < horizons.Count; i++)
            {
                if (!payload.TryGetProperty(returnKeys[i], out var ret) || ret.ValueKind != System.Text.Json.JsonValueKind.Number) continue;
                double value = ret.GetDouble();
                known[i]++;
                if (value > 0) positive[i]++;
                returns[i] += value;
                if (payload.TryGetProperty(volatilityKeys[i], out var vol) && vol.ValueKind == System.Text.Json.JsonValueKind.Number)
                    volatilities[i] += vol.GetDouble();
            }
        }
        return [.. horizons.Select((h, i) => new OutcomeSums(h, known[i], positive[i], returns[i], volatilities[i]))];
    }

    private System.Text.Json.JsonElement? ParsedPayload(PointId id)
    {
        if (_parsed.TryGetValue(id, out var element)) return element;
        if (!_payloads.TryGetValue(id, out var bytes)) return null;
        element = System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(bytes);
        _parsed[id] = element;
        return element;
    }

    /// <summary>
    /// One page of this replica's entries of some buckets, for a sibling catching up (<see cref="GetReplicaEntries"/>):
    /// the ids and versions of its versioned live points (records without vector, payload or document: the sibling
    /// fetches the points it lacks with <see cref="GetPoints"/>) and its tombstones, bucket by bucket in the order asked,
    /// ids ascending within a bucket, resuming after <paramref name="after"/> in the first bucket. A page stops once it
    /// holds about <paramref name="budgetBytes"/> (always at least one entry), so it fits a remote frame.
    /// </summary>
    public ReplicaEntries EntriesPage(PartitionRef partition, IReadOnlyList<int> buckets, PointId? after, long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var byBucket = new Dictionary<int, List<(PointId Id, PointVersion Version, bool Tombstone)>>();
        foreach (int b in buckets) byBucket.TryAdd(b, []);
        foreach (var entry in _versions.EntriesOf(byBucket.Keys.ToHashSet()))
            byBucket[Replication.ReplicaDigests.BucketOf(entry.Id)].Add(entry);

        var points = new List<PointRecord>();
        var tombstones = new List<KeyValuePair<PointId, PointVersion>>();
        long bytes = 0;
        for (int i = 0; i < buckets.Count; i++)
        {
            var entries = byBucket[buckets[i]];
            entries.Sort(static (x, y) => x.Id.CompareTo(y.Id));
            for (int j = 0; j < entries.Count; j++)
            {
                var (id, version, tombstone) = entries[j];
                if (i == 0 && after is { } resume && id.CompareTo(resume) <= 0) continue;
                if (bytes >= budgetBytes && points.Count + tombstones.Count > 0)
                {
                    // Full: this bucket resumes after the previous entry, then the buckets after it.
                    return new ReplicaEntries(partition, points, tombstones, [.. buckets.Skip(i)], j > 0 ? entries[j - 1].Id : (i == 0 ? after : null));
                }
                if (tombstone) tombstones.Add(new(id, version));
                else points.Add(new PointRecord(id, null, null, null, version));
                bytes += 32 + (id.Text?.Length ?? 0);
            }
        }
        return new ReplicaEntries(partition, points, tombstones, [], null);
    }

    /// <summary>
    /// Of a sibling's entries, those newer than what this replica holds for their ids: the points to upsert (records
    /// with vectors, with their own versions), the ids of points to fetch (records without vectors, from
    /// <see cref="EntriesPage"/>; those written after <paramref name="youngerThan"/> milliseconds since the epoch are left
    /// out, as their own write is likely still on its way) and the tombstones to journal as deletes (one event per
    /// version). Applying them goes through the ordinary last-writer-wins rules, so applying twice changes nothing.
    /// </summary>
    public ReplicaRepair Newer(ReplicaEntries entries, long youngerThan = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return NewerThan(entries, _versions, Spec.Dimension, youngerThan);
    }

    /// <summary><see cref="Newer"/> for a replica that holds nothing yet (every entry of the right dimension is newer).</summary>
    public static ReplicaRepair NewerThanNothing(ReplicaEntries entries, int dimension, long youngerThan = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return NewerThan(entries, new PointVersions(), dimension, youngerThan);
    }

    private static ReplicaRepair NewerThan(ReplicaEntries entries, PointVersions held, int dimension, long youngerThan)
    {
        var upserts = new List<PointWrite>();
        var wanted = new List<PointId>();
        int young = 0;
        foreach (var p in entries.Points)
        {
            if (p.Version.IsNone || p.Version <= held.Of(p.Id)) continue;
            if (p.Vector is null)
            {
                if (p.Version.Milliseconds > youngerThan) young++;
                else wanted.Add(p.Id);
            }
            else if (p.Vector.Length == dimension)
            {
                upserts.Add(new PointWrite(p.Id, p.Vector, p.Payload, p.Document, p.Version));
            }
        }
        var deletes = entries.Tombstones
            .Where(t => !t.Value.IsNone && t.Value > held.Of(t.Key))
            .GroupBy(t => t.Value)
            .OrderBy(g => g.Key)
            .Select(g => new PointsDeleted([.. g.Select(t => t.Key)], g.Key))
            .ToList();
        return new ReplicaRepair(upserts, wanted, deletes, young);
    }

    /// <summary>The payload of a point, or null.</summary>
    public byte[]? Payload(PointId id) => _payloads.GetValueOrDefault(id);

    /// <summary>The document of a point, or null.</summary>
    public string? Document(PointId id) => _documents.GetValueOrDefault(id);

    /// <summary>Serialises the whole state (index in VLink's binary format, plus payloads) as a snapshot.</summary>
    public PartitionSnapshot ToSnapshot()
    {
        using var buffer = new MemoryStream();
        bool graph = Index is HnswIndex;
        if (Index is HnswIndex hnsw) hnsw.Save(buffer);
        else ((FlatIndex)Index).Save(buffer);
        return new PartitionSnapshot(Spec, buffer.ToArray(), graph, [.. _payloads], [.. _documents], Market?.ToBytes())
        {
            Versions = _versions.Live,
            Tombstones = _versions.Tombstones,
        };
    }

    /// <summary>Rebuilds a state from a snapshot.</summary>
    public static PartitionState FromSnapshot(PartitionSnapshot snapshot)
    {
        using var buffer = new MemoryStream(snapshot.Index, writable: false);
        return FromParts(snapshot, snapshot.IsGraph ? HnswIndex.Load(buffer) : FlatIndex.Load(buffer));
    }

    // A snapshot's state around an index already loaded.
    private static PartitionState FromParts(PartitionSnapshot snapshot, IVectorIndex index)
    {
        var state = new PartitionState(snapshot.Spec, index);
        foreach (var (id, payload) in snapshot.Payloads) state._payloads[id] = payload;
        foreach (var (id, document) in snapshot.Documents) state._documents[id] = document;
        if (snapshot.Market is { } market) state.Market = MarketState.FromBytes(market);
        state._versions.Load(snapshot.Versions, snapshot.Tombstones);
        if (state._text is not null)
            foreach (var id in state.Index.Ids()) state.IndexText(id);
        return state;
    }

    /// <summary>Searches the partition's index for the request's k' nearest points.</summary>
    /// <exception cref="ArgumentException">The request's filter is not a valid filter.</exception>
    public IReadOnlyList<SearchHit> Search(SearchRequest request, IPointFilter? filter = null)
    {
        filter ??= FilterOf(request.Filter);
        var options = new SearchOptions { Ef = request.Ef, Exact = request.Exact, Filter = filter };
        return Index.Search(request.Vector, Math.Max(request.K, request.FetchK), options);
    }

    /// <summary>
    /// A hybrid search of this partition: each method asked for (and possible: exact and keyword need text fields,
    /// semantic an embedding) ranks its best <see cref="HybridRequest.Depth"/> points that pass the filter.
    /// </summary>
    /// <exception cref="ArgumentException">The filter is not a valid filter.</exception>
    public IReadOnlyList<Core.Hybrid.MethodRanking> SearchHybrid(HybridRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var filter = FilterOf(request.Filter);
        Func<PointId, bool>? keep = filter is null ? null : filter.Matches;
        var rankings = new List<Core.Hybrid.MethodRanking>(3);
        if (_text is not null && request.Methods.HasFlag(Core.Hybrid.HybridMethods.Exact))
            rankings.Add(new(Core.Hybrid.HybridMethods.Exact, _text.Exact(request.Query, request.Depth, keep)));
        if (_text is not null && request.Methods.HasFlag(Core.Hybrid.HybridMethods.Keyword))
            rankings.Add(new(Core.Hybrid.HybridMethods.Keyword, _text.Bm25(request.Query, request.Depth, keep)));
        if (request.RunsSemantic && request.Vector!.Length == Spec.Dimension && Count > 0)
        {
            var hits = Index.Search(request.Vector, request.Depth, new SearchOptions { Ef = request.Ef, Filter = filter });
            rankings.Add(new(Core.Hybrid.HybridMethods.Semantic, [.. hits.Select(h => new Core.Hybrid.ScoredPoint(h.Id, -h.Distance))]));
        }
        return rankings;
    }

    /// <inheritdoc />
    public void Dispose() => Index.Dispose();

    private bool _deferLinking;

    /// <summary>
    /// While true, points written into a graph are held without links (a copy instead of an insert) and searches scan
    /// them beside the graph walk: a partition replaying its journal turns it on, so it answers as soon as the replay
    /// ends, and links the held points afterwards (<see cref="LinkPending"/>).
    /// </summary>
    public bool DeferLinking
    {
        get => _deferLinking;
        set
        {
            _deferLinking = value;
            if (Index is HnswIndex graph) graph.DeferLinking = value;
        }
    }

    /// <summary>
    /// When true, a large batch written into a graph is held without links like a replayed one (see
    /// <see cref="DeferLinking"/>) and linked by <see cref="LinkPending"/> behind the writes; small ones link at once.
    /// </summary>
    public bool LinkLater { get; set; }

    /// <summary>Points held but not yet linked into the graph.</summary>
    public int Unlinked => Index is HnswIndex graph ? graph.Unlinked : 0;

    /// <summary>Links up to <paramref name="maxPoints"/> held points on every core; returns how many stay unlinked. Safe beside reads and writes.</summary>
    public int LinkPending(int maxPoints) => Index is HnswIndex graph ? graph.LinkPending(maxPoints) : 0;

    // Past the threshold a graph pays for itself; the points move over once, in id order: up to the threshold one by one
    // (the graph of a partition that grew by small batches, the same on every replay), the rest of a large batch in parallel.
    private void PromoteIfLarge()
    {
        if (Index is not FlatIndex flat || flat.Count < Spec.FlatThreshold) return;
        var graph = new HnswIndex(Spec.Dimension, Spec.Metric, Spec.Hnsw) { DeferLinking = _deferLinking };
        var ids = flat.Ids().ToArray();
        Array.Sort(ids);
        int oneByOne = ids.Length - Spec.FlatThreshold >= ParallelInsertBatch ? Spec.FlatThreshold : ids.Length;
        for (int i = 0; i < oneByOne; i++) graph.Upsert(ids[i], flat.GetVector(ids[i])!);
        if (oneByOne < ids.Length)
            graph.UpsertMany(ids[oneByOne..], [.. ids[oneByOne..].Select(id => (ReadOnlyMemory<float>)flat.GetVector(id)!)], Environment.ProcessorCount);
        Index = graph;
        flat.Dispose();
    }
}

/// <summary>What a replica takes of a sibling's entries (<see cref="PartitionState.Newer"/>).</summary>
/// <param name="Upserts">Points to journal, with their own versions.</param>
/// <param name="Wanted">Ids of newer points to fetch from the sibling.</param>
/// <param name="Deletes">Tombstones to journal, one delete per version.</param>
/// <param name="Young">Newer points left for a later round because they were written very recently.</param>
public sealed record ReplicaRepair(List<PointWrite> Upserts, List<PointId> Wanted, List<PointsDeleted> Deletes, int Young);
