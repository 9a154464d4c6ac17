using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

public sealed unsafe partial class HnswIndex
{
    private const int FilterSamples = 512;

    /// <inheritdoc />
    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int k, SearchOptions? options = null)
    {
        VectorValidation.ValidateK(k);
        VectorValidation.Validate(query, Dimension, nameof(query));
        options ??= SearchOptions.Default;
        if (options.Ef is <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.Ef, $"ef must be positive, got {options.Ef}.");
        var scratch = SearchScratch.ForCurrentThread();
        Span<float> prepared = scratch.QueryBuffer(Dimension);
        query.CopyTo(prepared);
        if (_normalises) VectorKernels.Normalize(prepared);
        fixed (float* q = prepared)
        {
            return Metric switch
            {
                DistanceMetric.Euclidean => SearchCore(new SquaredEuclideanKernel(), q, k, options, scratch),
                DistanceMetric.Custom => SearchCore(new CustomKernel(_custom!), q, k, options, scratch),
                _ => SearchCore(new InnerProductKernel(), q, k, options, scratch),
            };
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<SearchHit>[] SearchBatch(IReadOnlyList<float[]> queries, int k, SearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        VectorValidation.ValidateK(k);
        for (int i = 0; i < queries.Count; i++)
        {
            if (queries[i] is null) throw new ArgumentException($"Query {i} is null.", nameof(queries));
            VectorValidation.Validate(queries[i], Dimension, $"{nameof(queries)}[{i}]");
        }
        var answers = new IReadOnlyList<SearchHit>[queries.Count];
        // Readers share nothing but the graph, so a batch spreads over every core.
        if (queries.Count >= 8)
            Parallel.For(0, queries.Count, i => answers[i] = Search(queries[i], k, options));
        else
            for (int i = 0; i < queries.Count; i++) answers[i] = Search(queries[i], k, options);
        return answers;
    }

    private IReadOnlyList<SearchHit> SearchCore<TK>(TK kernel, float* q, int k, SearchOptions options, SearchScratch scratch)
        where TK : struct, IDistanceKernel
    {
        // Nodes from here on may not be linked yet: read first, so a node linked since is scanned all the same.
        int linkedBelow = Volatile.Read(ref _linkedBelow);
        var (s, count, entry) = ReadLayout();
        if (count == 0) return [];
        var filter = options.Filter;
        if (entry < 0 || options.Exact || (filter is not null && PlanScan(s, count, filter)))
            return Scan(kernel, s, count, q, k, filter);

        int ef = Math.Max(options.Ef ?? Options.EfSearch, k);
        if (s.Center is not null && !TK.OnCodes)
        {
            var coded = SearchCoded(kernel, s, q, k, ef, entry, filter, count, scratch);
            return linkedBelow < count ? WithUnlinked(kernel, s, linkedBelow, count, q, k, filter, coded) : coded;
        }
        int current = (int)entry;
        float currentDistance = kernel.Distance(q, s.Vector(current), Dimension);
        for (int layer = (int)(entry >> 32); layer > 0; layer--)
            GreedyClosest(kernel, s, q, ref current, ref currentDistance, layer);
        SearchLayer(kernel, s, q, current, currentDistance, ef, 0, filter, scratch);

        // Ties at the k-th place break by id, as everywhere.
        var results = scratch.Results;
        var hits = new SearchHit[results.Count];
        for (int i = hits.Length - 1; i >= 0; i--)
        {
            var c = results.Pop();
            hits[i] = new SearchHit(s.Label(c.Node), c.Distance);
        }
        Array.Sort(hits);
        if (hits.Length < k && hits.Length < Count)
        {
            // The graph walk ran dry before k (a filter admitting few of the reachable nodes): the exact
            // scan guarantees k answers whenever k points qualify.
            return Scan(kernel, s, count, q, k, filter);
        }
        if (linkedBelow < count) return WithUnlinked(kernel, s, linkedBelow, count, q, k, filter, hits);
        return hits.Length <= k ? hits : hits[..k];
    }

    /// <summary>
    /// A quantized search: the graph is walked on int8 codes, then the ⌈k·oversampling⌉ best candidates are
    /// re-scored on their full-precision vectors with <paramref name="exact"/>, which ranks the answer.
    /// </summary>
    private SearchHit[] SearchCoded<TK>(TK exact, HnswStorage s, float* q, int k, int ef, long entry,
        IPointFilter? filter, int count, SearchScratch scratch)
        where TK : struct, IDistanceKernel
    {
        int rescored = Math.Max(k, (int)Math.Ceiling(k * Options.Quantization!.Oversampling));
        ef = Math.Max(ef, rescored);
        bool euclidean = Metric == DistanceMetric.Euclidean;
        byte* coded = scratch.CodedQuery(ScalarCodec.QueryBytes(Dimension), 2 * Dimension, out Span<float> codeScratch);
        ScalarCodec.EncodeQuery(q, s.Center, Dimension, Options.Quantization.Quantile, euclidean, coded, codeScratch);
        var qc = (float*)coded;
        int current = (int)entry;
        if (euclidean)
            WalkCodes(new CodeEuclideanKernel(), s, qc, ref current, ef, entry, filter, scratch);
        else
            WalkCodes(new CodeInnerProductKernel(), s, qc, ref current, ef, entry, filter, scratch);

        var results = scratch.Results;
        while (results.Count > rescored) results.Pop();
        var hits = new SearchHit[results.Count];
        for (int i = hits.Length - 1; i >= 0; i--)
        {
            int node = results.Pop().Node;
            hits[i] = new SearchHit(s.Label(node), exact.Distance(q, s.Vector(node), Dimension));
        }
        Array.Sort(hits);
        if (hits.Length < k && hits.Length < Count) return Scan(exact, s, count, q, k, filter);
        return hits.Length <= k ? hits : hits[..k];
    }

    private void WalkCodes<TK>(TK kernel, HnswStorage s, float* q, ref int current, int ef, long entry, IPointFilter? filter, SearchScratch scratch)
        where TK : struct, IDistanceKernel
    {
        float currentDistance = kernel.Distance(q, (float*)s.Record(current), Dimension);
        for (int layer = (int)(entry >> 32); layer > 0; layer--)
            GreedyClosest(kernel, s, q, ref current, ref currentDistance, layer);
        SearchLayer(kernel, s, q, current, currentDistance, ef, 0, filter, scratch);
    }

    /// <summary>Where a kernel finds a node: its int8-coded record, or its float vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Point<TK>(HnswStorage s, int node) where TK : struct, IDistanceKernel =>
        TK.OnCodes ? (float*)s.Record(node) : s.Vector(node);

    /// <summary>
    /// The filtered-search planner: estimates the filter's selectivity on an even sample of nodes and
    /// prefers a plain scan of the matching points when so few match that a graph walk would mostly
    /// visit rejected nodes.
    /// </summary>
    private bool PlanScan(HnswStorage s, int count, IPointFilter filter)
    {
        if (count <= 2 * FilterSamples) return true;
        int live = 0, matching = 0;
        long step = Math.Max(1, count / FilterSamples);
        for (long i = 0; i < count; i += step)
        {
            int node = (int)i;
            if (s.IsDeleted(node)) continue;
            live++;
            if (filter.Matches(s.Label(node))) matching++;
        }
        return live == 0 || (double)matching / live < Options.FilteredScanSelectivity;
    }

    private SearchHit[] Scan<TK>(TK kernel, HnswStorage s, int count, float* q, int k, IPointFilter? filter)
        where TK : struct, IDistanceKernel
    {
        var collector = new HitCollector(k);
        for (int node = 0; node < count; node++)
        {
            if (s.IsDeleted(node)) continue;
            var label = s.Label(node);
            if (filter is not null && !filter.Matches(label)) continue;
            collector.Add(kernel.Distance(q, s.Vector(node), Dimension), label);
        }
        return collector.ToSortedArray();
    }

    /// <summary>Greedy descent on an upper layer: move to a closer neighbour while there is one.</summary>
    private void GreedyClosest<TK>(TK kernel, HnswStorage s, float* q, ref int current, ref float currentDistance, int layer)
        where TK : struct, IDistanceKernel
    {
        int stride = Options.M + 1;
        int capacity = s.Capacity;
        bool changed = true;
        while (changed)
        {
            changed = false;
            int[]? upper = s.UpperLinks(current);
            if (upper is null) return;
            var list = upper.AsSpan((layer - 1) * stride, stride);
            int count = Math.Min(Volatile.Read(ref list[0]), stride - 1);
            for (int i = 1; i <= count; i++)
            {
                int candidate = list[i];
                if ((uint)candidate >= (uint)capacity) continue;
                float d = kernel.Distance(q, Point<TK>(s, candidate), Dimension);
                if (d < currentDistance)
                {
                    currentDistance = d;
                    current = candidate;
                    changed = true;
                }
            }
        }
    }

    /// <summary>
    /// The beam search of one layer (the paper's algorithm 2). Tombstoned and filtered-out nodes are walked
    /// through but never enter the results. Leaves the best <paramref name="ef"/> admitted nodes in
    /// <c>scratch.Results</c>. This is the hot loop: no allocation, no bounds checks on the visited table.
    /// </summary>
    /// <remarks>
    /// Inserts pass <paramref name="lockLists"/>: with parallel inserters re-selecting lists, a list read while it
    /// is rewritten could lose candidates, so an insert reads each list under its node's lock (as hnswlib does);
    /// searches read without locks (a torn list still holds valid nodes).
    /// </remarks>
    private void SearchLayer<TK>(TK kernel, HnswStorage s, float* q, int entry, float entryDistance, int ef, int layer,
        IPointFilter? filter, SearchScratch scratch, bool lockLists = false)
        where TK : struct, IDistanceKernel
    {
        int dimension = Dimension;
        int capacity = s.Capacity;
        int maxLinks = s.MaxLinks(layer);
        int upperStride = Options.M + 1;
        ushort[] visitedTable = scratch.BeginVisit(capacity, out ushort tag);
        ref ushort visited = ref MemoryMarshal.GetArrayDataReference(visitedTable);
        ref int pending = ref MemoryMarshal.GetArrayDataReference(scratch.Pending(maxLinks));
        var frontier = scratch.Frontier;
        var results = scratch.Results;
        // Without tombstones or a filter every visited node is admissible: skip the per-node checks. A storage
        // a vacuum has replaced may still hold tombstones the current counts no longer show.
        bool screen = filter is not null || Volatile.Read(ref _live) != Volatile.Read(ref _count) || !ReferenceEquals(s, Volatile.Read(ref _storage));
        frontier.Clear();
        results.Clear();

        Unsafe.Add(ref visited, entry) = tag;
        frontier.Push(entryDistance, entry);
        float bound = float.MaxValue;
        if (!screen || Admits(s, entry, filter))
        {
            results.Push(entryDistance, entry);
            bound = entryDistance;
        }

        while (frontier.Count > 0)
        {
            var nearest = frontier.Top;
            if (nearest.Distance > bound && results.Count >= ef) break;
            frontier.Pop();

            // A GC-tracked reference: upper-layer lists are ordinary (movable) arrays.
            ref int links = ref layer == 0
                ? ref Unsafe.AsRef<int>(s.Links0(nearest.Node))
                : ref s.UpperLinks(nearest.Node)![(layer - 1) * upperStride];
            if (lockLists) LockLinks(nearest.Node);
            int linkCount = Math.Min(Volatile.Read(ref links), maxLinks);

            // Two passes: first gather the unvisited neighbours and prefetch their vectors, so the memory
            // system fetches them in parallel; then compute the distances on (mostly) cached data.
            int fresh = 0;
            for (int i = 1; i <= linkCount; i++)
            {
                int neighbour = Unsafe.Add(ref links, i);
                if ((uint)neighbour >= (uint)capacity) continue;
                ref ushort mark = ref Unsafe.Add(ref visited, neighbour);
                if (mark == tag) continue;
                mark = tag;
                Unsafe.Add(ref pending, fresh++) = neighbour;
                if (Sse.IsSupported) Sse.Prefetch0(Point<TK>(s, neighbour));
            }
            if (lockLists) UnlockLinks(nearest.Node);
            for (int i = 0; i < fresh; i++)
            {
                int neighbour = Unsafe.Add(ref pending, i);
                float d = kernel.Distance(q, Point<TK>(s, neighbour), dimension);
                if (results.Count < ef || d < bound)
                {
                    frontier.Push(d, neighbour);
                    if (!screen || Admits(s, neighbour, filter))
                    {
                        results.Push(d, neighbour);
                        if (results.Count > ef) results.Pop();
                        bound = results.Top.Distance;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Admits(HnswStorage s, int node, IPointFilter? filter) =>
        !s.IsDeleted(node) && (filter is null || filter.Matches(s.Label(node)));
}
