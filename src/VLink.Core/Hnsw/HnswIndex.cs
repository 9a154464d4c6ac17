using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

/// <summary>
/// A Hierarchical Navigable Small World graph (Malkov &amp; Yashunin, 2018) over float vectors.
/// </summary>
/// <remarks>
/// <para>Single writer, many readers: writes are serialised by a lock; searches take no lock. A reader works on
/// the storage snapshot it read at its start and only follows links to fully written nodes, so it never sees
/// a half-built node; link lists are published entry-first, count-last.</para>
/// <para>Deletes are tombstones that stay traversable, and every live neighbour that linked to the deleted node
/// has its list rebuilt from the union of both lists with the selection heuristic, so recall holds under churn.
/// An update is a delete followed by an insert of the new vector under the same id (the same vector again is a no-op).</para>
/// <para>Once tombstones hold a sixth of the node slots, the write that crossed the line vacuums the index: live
/// nodes are copied, renumbered densely, into a new storage that is published at once (see <see cref="Vacuum"/>).</para>
/// </remarks>
public sealed unsafe partial class HnswIndex : IVectorIndex
{
    private const int LinkLockStripes = 4096;
    private readonly object _writeLock = new();
    /// <summary>Held for the whole insert of a node that rises above the top layer (hnswlib's global lock).</summary>
    private readonly object _topLock = new();
    /// <summary>Spin locks over link lists, striped by node: parallel inserts change a node's lists under its stripe.</summary>
    private readonly int[] _linkLocks = new int[LinkLockStripes];
    private readonly DistanceFunction? _custom;
    private readonly bool _normalises;
    private readonly double _levelMultiplier;
    private NodeIdTable _ids = new();
    private HnswStorage _storage;
    private int _count;
    private int _live;
    private long _entry = -1;
    /// <summary>Odd while a vacuum publishes a renumbered storage, count and entry (see <see cref="ReadLayout"/>).</summary>
    private int _layout;
    private ulong _rng;

    /// <summary>Creates an empty index for a built-in metric.</summary>
    public HnswIndex(int dimension, DistanceMetric metric, HnswOptions? options = null)
        : this(dimension, metric, null, options)
    {
    }

    /// <summary>Creates an empty index ranked by a caller-supplied distance (in-process only).</summary>
    public HnswIndex(int dimension, DistanceFunction distance, HnswOptions? options = null)
        : this(dimension, DistanceMetric.Custom, distance ?? throw new ArgumentNullException(nameof(distance)), options)
    {
    }

    private HnswIndex(int dimension, DistanceMetric metric, DistanceFunction? custom, HnswOptions? options)
    {
        if (dimension is < 1 or > 65536)
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be between 1 and 65536.");
        if (custom is null) MetricRules.CheckBuiltIn(metric);
        Options = options ?? HnswOptions.Default;
        Options.Validate();
        if (custom is not null && Options.Quantization is not null)
            throw new ArgumentException("Quantization needs a built-in metric: codes are compared by dot products.", nameof(options));
        Dimension = dimension;
        Metric = metric;
        _custom = custom;
        _normalises = MetricRules.Normalises(metric);
        _levelMultiplier = 1.0 / Math.Log(Options.M);
        _rng = (ulong)Options.Seed;
        _storage = new HnswStorage(dimension, Options.M,
            Options.Quantization is { } quantization ? new VectorStore(dimension, mapped: !quantization.OriginalsInRam) : null);
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public DistanceMetric Metric { get; }

    /// <summary>The graph parameters.</summary>
    public HnswOptions Options { get; }

    /// <inheritdoc />
    public int Count => Volatile.Read(ref _live);

    /// <inheritdoc />
    public long MemoryBytes
    {
        get
        {
            lock (_writeLock)
                // A dictionary entry costs its key, value, hash and chain link, plus a bucket.
                return _storage.Bytes() + _ids.Bytes;
        }
    }

    /// <summary>
    /// Bytes of full-precision vectors held in a memory-mapped file rather than in process memory (quantized
    /// indices with originals on disk); not part of <see cref="MemoryBytes"/>. The operating system keeps in memory
    /// the pages searches re-score on and may evict the rest.
    /// </summary>
    public long MappedBytes
    {
        get
        {
            lock (_writeLock) return _storage.Originals?.MappedBytes ?? 0;
        }
    }

    /// <summary>True once a quantized index has learnt its code centre and walks its graph on int8 codes.</summary>
    public bool WalksCodes => Volatile.Read(ref _storage).Center is not null;

    /// <inheritdoc />
    public void Upsert(PointId id, ReadOnlySpan<float> vector)
    {
        VectorValidation.Validate(vector, Dimension, nameof(vector));
        float[] prepared = vector.ToArray();
        if (_normalises) VectorKernels.Normalize(prepared);
        lock (_writeLock)
        {
            if (_ids.TryGet(id, _storage, out int previous))
            {
                // The same vector again changes nothing: keeping the node keeps its links (and its slot).
                if (Holds(_storage, previous, prepared)) return;
                RemoveNode(previous);
            }
            int node = _count;
            var storage = _storage.Grow(node + 1);
            if (!ReferenceEquals(storage, _storage)) Volatile.Write(ref _storage, storage);
            int level = NextLevel();
            prepared.AsSpan().CopyTo(new Span<float>(storage.Vector(node), Dimension));
            if (storage.Quantized) EncodeNode(storage, node);
            storage.Links0(node)[0] = 0;
            storage.SetLabel(node, id);
            storage.Level(node) = (byte)level;
            storage.SetDeleted(node, false);
            storage.SetUpperLinks(node, level > 0 ? new int[level * (Options.M + 1)] : null);
            storage.SetUnlinked(node, false);
            _ids.Add(id, node, storage);
            if (_deferLinking) HoldUnlinked(storage, node);
            else InsertNode(storage, node, level);
            Volatile.Write(ref _count, node + 1);
            Volatile.Write(ref _live, _live + 1);
            AdvanceLinked();
            if (_unlinked == 0 && storage.Quantized && storage.Center is null && _live >= Options.Quantization!.TrainingPoints) LearnCenter();
            VacuumIfDue();
        }
    }

    /// <summary>True when the node's full-precision vector equals <paramref name="prepared"/> (already normalised where the metric does).</summary>
    private bool Holds(HnswStorage s, int node, ReadOnlySpan<float> prepared) =>
        new ReadOnlySpan<float>(s.Vector(node), Dimension).SequenceEqual(prepared);

    /// <summary>Writes a node's codes into its record from its float vector (quantized storage only).</summary>
    private void EncodeNode(HnswStorage s, int node)
    {
        Span<float> scratch = Dimension <= 2048 ? stackalloc float[2 * Dimension] : new float[2 * Dimension];
        ScalarCodec.Encode(s.Vector(node), s.Center, Dimension, Options.Quantization!.Quantile, s.Record(node), scratch);
    }

    /// <summary>
    /// Learns the per-dimension mean of the live vectors and publishes a storage whose records are re-coded around
    /// it. Readers keep the storage (codes and centre together) they started with. Caller holds the write lock.
    /// </summary>
    private void LearnCenter()
    {
        var s = _storage;
        var sum = new double[Dimension];
        int live = 0;
        for (int node = 0; node < _count; node++)
        {
            if (s.IsDeleted(node)) continue;
            live++;
            float* v = s.Vector(node);
            for (int i = 0; i < Dimension; i++) sum[i] += v[i];
        }
        var center = new float[Dimension];
        for (int i = 0; i < Dimension; i++) center[i] = (float)(sum[i] / Math.Max(1, live));
        var coded = s.WithCenter(center);
        for (int node = 0; node < _count; node++) EncodeNode(coded, node);
        Volatile.Write(ref _storage, coded);
    }

    /// <summary>
    /// Inserts (or replaces) many points with up to <paramref name="threads"/> threads inserting at once, as
    /// hnswlib's parallel add does: ids, vectors and levels are assigned in order first, then each thread links
    /// whole points, changing a node's link lists only under that node's lock. Readers keep searching meanwhile.
    /// With one thread the graph is the one <see cref="Upsert"/> in the same order builds, unless the batch replaces
    /// enough points to vacuum the index (it then removes them all before inserting).
    /// </summary>
    /// <param name="ids">The points' ids; when one repeats, its last vector wins.</param>
    /// <param name="vectors">One vector per id.</param>
    /// <param name="threads">Threads inserting at once; 0 means one per core.</param>
    /// <param name="link">
    /// False to hold the points without linking them, as while <see cref="DeferLinking"/> is on: searches scan them until
    /// <see cref="LinkPending"/> links them.
    /// </param>
    /// <exception cref="ArgumentException">Counts differ, or a vector is invalid (nothing is inserted).</exception>
    public void UpsertMany(IReadOnlyList<PointId> ids, IReadOnlyList<ReadOnlyMemory<float>> vectors, int threads = 0, bool link = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(vectors);
        if (ids.Count != vectors.Count)
            throw new ArgumentException($"{ids.Count} ids but {vectors.Count} vectors.", nameof(vectors));
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        for (int i = 0; i < vectors.Count; i++) VectorValidation.Validate(vectors[i].Span, Dimension, $"{nameof(vectors)}[{i}]");
        if (threads == 0) threads = Environment.ProcessorCount;
        var last = new Dictionary<PointId, int>(ids.Count);
        for (int i = 0; i < ids.Count; i++) last[ids[i]] = i;

        lock (_writeLock)
        {
            // The points to write: each id's last vector, unless the index already holds that very vector.
            var prepared = new float[Dimension];
            var writes = new List<int>(last.Count);
            int replaced = 0;
            for (int i = 0; i < ids.Count; i++)
            {
                if (last[ids[i]] != i) continue;
                if (_ids.TryGet(ids[i], _storage, out int previous))
                {
                    vectors[i].Span.CopyTo(prepared);
                    if (_normalises) VectorKernels.Normalize(prepared);
                    if (Holds(_storage, previous, prepared)) continue;
                    replaced++;
                }
                writes.Add(i);
            }
            // A batch that would leave tombstones past their share removes the points it replaces and vacuums
            // first, so it never holds the old and the new copies of most of its points at once.
            bool hold = _deferLinking || !link;
            if (replaced > 0 && !hold && _unlinked == 0 && _count - _live + replaced > (_count + writes.Count) * MaxTombstoneShare)
            {
                foreach (int i in writes)
                    if (_ids.TryGet(ids[i], _storage, out int previous)) RemoveNode(previous);
                Compact();
            }
            var storage = _storage;
            int first = _count;
            var nodes = new List<(int Node, int Level)>(writes.Count);
            foreach (int i in writes)
            {
                if (_ids.TryGet(ids[i], storage, out int previous)) RemoveNode(previous);
                storage = _storage;
                int node = first + nodes.Count;
                var grown = storage.Grow(node + 1);
                if (!ReferenceEquals(grown, storage)) Volatile.Write(ref _storage, storage = grown);
                int level = NextLevel();
                var vector = new Span<float>(storage.Vector(node), Dimension);
                vectors[i].Span.CopyTo(vector);
                if (_normalises) VectorKernels.Normalize(vector);
                if (storage.Quantized) EncodeNode(storage, node);
                storage.Links0(node)[0] = 0;
                storage.SetLabel(node, ids[i]);
                storage.Level(node) = (byte)level;
                storage.SetDeleted(node, false);
                storage.SetUpperLinks(node, level > 0 ? new int[level * (Options.M + 1)] : null);
                storage.SetUnlinked(node, false);
                _ids.Add(ids[i], node, storage);
                nodes.Add((node, level));
            }
            if (hold)
            {
                // Held, not linked: searches scan them until LinkPending links them.
                foreach (var (node, _) in nodes) HoldUnlinked(storage, node);
                Volatile.Write(ref _count, first + nodes.Count);
                Volatile.Write(ref _live, _live + nodes.Count);
                return;
            }
            // Until linked, the new nodes are reachable only by a scan, which sees complete records.
            Volatile.Write(ref _count, first + nodes.Count);
            LinkNodes(storage, nodes, threads);
            Volatile.Write(ref _live, _live + nodes.Count);
            AdvanceLinked();
            if (_unlinked == 0 && storage.Quantized && storage.Center is null && _live >= Options.Quantization!.TrainingPoints) LearnCenter();
            VacuumIfDue();
        }
    }

    /// <inheritdoc />
    public bool Delete(PointId id)
    {
        lock (_writeLock)
        {
            if (!_ids.TryGet(id, _storage, out int node)) return false;
            RemoveNode(node);
            VacuumIfDue();
            return true;
        }
    }

    /// <inheritdoc />
    public bool Contains(PointId id)
    {
        lock (_writeLock) return _ids.TryGet(id, _storage, out _);
    }

    /// <inheritdoc />
    public float[]? GetVector(PointId id)
    {
        lock (_writeLock)
        {
            if (!_ids.TryGet(id, _storage, out int node)) return null;
            return new ReadOnlySpan<float>(_storage.Vector(node), Dimension).ToArray();
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<PointId> Ids()
    {
        lock (_writeLock) return [.. _ids.Nodes().Select(_storage.Label)];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Blocks are pinned managed arrays: the GC reclaims them once no reader holds the storage.
    }

    /// <summary>Draws a level from the exponentially decaying distribution of the paper (mL = 1/ln M).</summary>
    private int NextLevel()
    {
        // SplitMix64: tiny, fast, and its state is one number that the saved index carries.
        ulong z = _rng += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        double uniform = ((z >> 11) + 1) * (1.0 / 9007199254740993.0); // (0, 1]
        int level = (int)(-Math.Log(uniform) * _levelMultiplier);
        return Math.Min(level, 30);
    }

    /// <summary>Links one written node into the graph with the index's metric.</summary>
    private void InsertNode(HnswStorage s, int node, int level)
    {
        switch (Metric)
        {
            case DistanceMetric.Euclidean: Insert(new SquaredEuclideanKernel(), s, node, level); break;
            case DistanceMetric.Custom: Insert(new CustomKernel(_custom!), s, node, level); break;
            default: Insert(new InnerProductKernel(), s, node, level); break;
        }
    }

    /// <summary>
    /// Links written nodes with up to <paramref name="threads"/> threads at once (one for a custom distance): the first
    /// alone when the graph has no entry yet; <paramref name="afterEach"/> runs for each node once it is linked.
    /// </summary>
    private void LinkNodes(HnswStorage s, List<(int Node, int Level)> nodes, int threads, Action<int>? afterEach = null)
    {
        void Link(int i)
        {
            InsertNode(s, nodes[i].Node, nodes[i].Level);
            afterEach?.Invoke(nodes[i].Node);
        }
        int start = 0;
        if (_entry < 0 && nodes.Count > 0) Link(start++);
        if (threads == 1 || Metric == DistanceMetric.Custom)
            for (int i = start; i < nodes.Count; i++) Link(i);
        else
            Parallel.For(start, nodes.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, Link);
    }

    private void Insert<TK>(TK kernel, HnswStorage s, int node, int level) where TK : struct, IDistanceKernel
    {
        long entry = Volatile.Read(ref _entry);
        if (entry >= 0 && level > (int)(entry >> 32))
        {
            // A node rising above the top layer inserts alone among parallel inserters, then becomes the entry.
            lock (_topLock) InsertBelow(kernel, s, node, level, Volatile.Read(ref _entry));
            return;
        }
        InsertBelow(kernel, s, node, level, entry);
    }

    private void InsertBelow<TK>(TK kernel, HnswStorage s, int node, int level, long entry) where TK : struct, IDistanceKernel
    {
        if (entry < 0)
        {
            Volatile.Write(ref _entry, ((long)level << 32) | (uint)node);
            return;
        }
        int top = (int)(entry >> 32);
        int current = (int)entry;
        float* q = s.Vector(node);
        float currentDistance = kernel.Distance(q, s.Vector(current), Dimension);
        for (int layer = top; layer > level; layer--)
            GreedyClosest(kernel, s, q, ref current, ref currentDistance, layer);

        var scratch = SearchScratch.ForCurrentThread();
        int lowest = Math.Min(level, top);
        var chosen = new int[lowest + 1][];
        var chosenDistances = new float[lowest + 1][];
        for (int layer = lowest; layer >= 0; layer--)
        {
            SearchLayer(kernel, s, q, current, currentDistance, Options.EfConstruction, layer, null, scratch, lockLists: true);
            scratch.Results.DrainSorted(scratch.Sorted);
            if (scratch.Sorted.Count > 0)
            {
                current = scratch.Sorted[0].Node;
                currentDistance = scratch.Sorted[0].Distance;
            }
            var selected = SelectNeighbours(kernel, s, scratch.Sorted, Options.M);
            chosen[layer] = new int[selected.Count];
            chosenDistances[layer] = new float[selected.Count];
            for (int i = 0; i < selected.Count; i++)
            {
                chosen[layer][i] = selected[i].Node;
                chosenDistances[layer][i] = selected[i].Distance;
            }
        }

        // The new node's own lists are complete before any other node links to it.
        LockLinks(node);
        for (int layer = lowest; layer >= 0; layer--)
        {
            var list = s.LinkList(node, layer);
            chosen[layer].CopyTo(list[1..]);
            Volatile.Write(ref list[0], chosen[layer].Length);
        }
        UnlockLinks(node);
        for (int layer = lowest; layer >= 0; layer--)
        {
            for (int i = 0; i < chosen[layer].Length; i++)
                AddLink(kernel, s, chosen[layer][i], layer, node, chosenDistances[layer][i]);
        }
        if (level > top) Volatile.Write(ref _entry, ((long)level << 32) | (uint)node);
    }

    /// <summary>
    /// The neighbour-selection heuristic (the paper's algorithm 4, without extension or kept pruned links):
    /// walking candidates nearest first, keep one only if it is closer to the base than to every one kept,
    /// which spreads links across directions and keeps clusters connected.
    /// </summary>
    private List<Candidate> SelectNeighbours<TK>(TK kernel, HnswStorage s, List<Candidate> sortedCandidates, int m)
        where TK : struct, IDistanceKernel
    {
        var kept = new List<Candidate>(Math.Min(m, sortedCandidates.Count));
        if (sortedCandidates.Count <= m)
        {
            kept.AddRange(sortedCandidates);
            return kept;
        }
        Admit(kernel, s, kept, sortedCandidates, m);
        return kept;
    }

    /// <summary>The heuristic's walk: adds to <paramref name="kept"/>, nearest first, each candidate closer to the base than to every node kept, up to <paramref name="m"/>.</summary>
    private void Admit<TK>(TK kernel, HnswStorage s, List<Candidate> kept, List<Candidate> sortedCandidates, int m)
        where TK : struct, IDistanceKernel
    {
        foreach (var candidate in sortedCandidates)
        {
            if (kept.Count >= m) break;
            float* cv = s.Vector(candidate.Node);
            bool good = true;
            foreach (var k in kept)
            {
                if (kernel.Distance(cv, s.Vector(k.Node), Dimension) < candidate.Distance)
                {
                    good = false;
                    break;
                }
            }
            if (good) kept.Add(candidate);
        }
    }

    /// <summary>Adds <paramref name="newcomer"/> to <paramref name="node"/>'s list at a layer, re-selecting when the list is full.</summary>
    private void AddLink<TK>(TK kernel, HnswStorage s, int node, int layer, int newcomer, float distance)
        where TK : struct, IDistanceKernel
    {
        LockLinks(node);
        try
        {
            AddLinkLocked(kernel, s, node, layer, newcomer, distance);
        }
        finally
        {
            UnlockLinks(node);
        }
    }

    private void LockLinks(int node)
    {
        ref int stripe = ref _linkLocks[node & (LinkLockStripes - 1)];
        if (Interlocked.CompareExchange(ref stripe, 1, 0) == 0) return;
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref stripe, 1, 0) != 0) spin.SpinOnce();
    }

    private void UnlockLinks(int node) => Volatile.Write(ref _linkLocks[node & (LinkLockStripes - 1)], 0);

    private void AddLinkLocked<TK>(TK kernel, HnswStorage s, int node, int layer, int newcomer, float distance)
        where TK : struct, IDistanceKernel
    {
        var list = s.LinkList(node, layer);
        int count = list[0];
        int max = s.MaxLinks(layer);
        for (int i = 1; i <= count; i++)
            if (list[i] == newcomer) return;
        if (count < max)
        {
            list[count + 1] = newcomer;
            Volatile.Write(ref list[0], count + 1);
            return;
        }
        float* nv = s.Vector(node);
        var candidates = new List<Candidate>(count + 1) { new(distance, newcomer) };
        for (int i = 1; i <= count; i++)
        {
            int other = list[i];
            if (s.IsDeleted(other)) continue;
            candidates.Add(new Candidate(kernel.Distance(nv, s.Vector(other), Dimension), other));
        }
        candidates.Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
        WriteList(list, SelectNeighbours(kernel, s, candidates, max));
    }

    private static void WriteList(Span<int> list, List<Candidate> selected)
    {
        for (int i = 0; i < selected.Count; i++) list[i + 1] = selected[i].Node;
        Volatile.Write(ref list[0], selected.Count);
    }

    /// <summary>Tombstones a node and repairs the lists of its live neighbours. Caller holds the write lock.</summary>
    private void RemoveNode(int node)
    {
        var s = _storage;
        _ids.Remove(s.Label(node), s);
        s.SetDeleted(node, true);
        ForgetUnlinked(s, node);
        Volatile.Write(ref _live, _live - 1);
        switch (Metric)
        {
            case DistanceMetric.Euclidean: Repair(new SquaredEuclideanKernel(), s, node); break;
            case DistanceMetric.Custom: Repair(new CustomKernel(_custom!), s, node); break;
            default: Repair(new InnerProductKernel(), s, node); break;
        }
        if ((int)_entry == node) Volatile.Write(ref _entry, FindEntry(s, _count));
    }

    private void Repair<TK>(TK kernel, HnswStorage s, int node) where TK : struct, IDistanceKernel
    {
        int level = s.Level(node);
        var kept = new List<Candidate>();
        var candidates = new List<Candidate>();
        for (int layer = 0; layer <= level; layer++)
        {
            int[] own = s.LinkList(node, layer)[1..(s.LinkList(node, layer)[0] + 1)].ToArray();
            foreach (int neighbour in own)
            {
                if (s.IsDeleted(neighbour)) continue;
                var list = s.LinkList(neighbour, layer);
                int count = list[0];
                if (!list[1..(count + 1)].Contains(node)) continue;
                kept.Clear();
                for (int i = 1; i <= count; i++)
                    if (list[i] != node && !s.IsDeleted(list[i])) kept.Add(new Candidate(0f, list[i]));
                float* nv = s.Vector(neighbour);
                candidates.Clear();
                foreach (int other in own)
                {
                    if (other == neighbour || s.IsDeleted(other) || list[1..(count + 1)].Contains(other)) continue;
                    candidates.Add(new Candidate(kernel.Distance(nv, s.Vector(other), Dimension), other));
                }
                candidates.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
                WriteList(list, ExtendNeighbours(kernel, s, kept, candidates, s.MaxLinks(layer), count));
            }
        }
    }

    /// <summary>
    /// A repair's selection: the links a list keeps stay as they are; candidates join them nearest first when the
    /// heuristic admits them beside every link already there, then the nearest of the rest, until the list is back
    /// to <paramref name="target"/> links (at most <paramref name="m"/>). Re-selecting the whole list instead shrinks it
    /// to the heuristic's few, and every delete would thin the graph (recall fell by several points under churn).
    /// </summary>
    private List<Candidate> ExtendNeighbours<TK>(TK kernel, HnswStorage s, List<Candidate> kept, List<Candidate> sortedCandidates, int m, int target)
        where TK : struct, IDistanceKernel
    {
        int before = kept.Count;
        target = Math.Min(target, m);
        Admit(kernel, s, kept, sortedCandidates, target);
        if (kept.Count >= target) return kept;
        int admitted = kept.Count;
        foreach (var candidate in sortedCandidates)
        {
            if (kept.Count >= target) break;
            bool taken = false;
            for (int i = before; i < admitted && !taken; i++) taken = kept[i].Node == candidate.Node;
            if (!taken) kept.Add(candidate);
        }
        return kept;
    }

    /// <summary>The live node on the highest layer (lowest id on ties), or -1 when none is left.</summary>
    private static long FindEntry(HnswStorage s, int count)
    {
        int best = -1, bestLevel = -1;
        for (int i = 0; i < count; i++)
        {
            if (s.IsDeleted(i)) continue;
            int level = s.Level(i);
            if (level > bestLevel)
            {
                best = i;
                bestLevel = level;
            }
        }
        return best < 0 ? -1 : ((long)bestLevel << 32) | (uint)best;
    }
}
