using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

/// <summary>
/// Deferred linking: points held at once, linked into the graph later. A partition replaying its journal after a
/// restart takes every point of the tail this way, answers complete searches at once (the graph for the linked nodes,
/// a scan for the rest) and links the tail in the background, in parallel, chunk by chunk, while it serves.
/// </summary>
public sealed unsafe partial class HnswIndex
{
    /// <summary>While true, writes hold new points without linking them (see <see cref="DeferLinking"/>).</summary>
    private bool _deferLinking;
    /// <summary>Live nodes flagged <see cref="HnswStorage.UnlinkedFlag"/>.</summary>
    private int _unlinked;
    /// <summary>Every node below this is linked (or deleted): a search scans the nodes from here to the count.</summary>
    private int _linkedBelow;

    /// <summary>
    /// While true, upserts hold each new point (vector, id, level) without linking it into the graph, which costs a
    /// copy instead of an insert; searches stay exact over them by scanning the unlinked points beside the graph walk.
    /// Set it back to false and call <see cref="LinkPending"/> until it returns 0 to link them.
    /// </summary>
    public bool DeferLinking
    {
        get
        {
            lock (_writeLock) return _deferLinking;
        }
        set
        {
            lock (_writeLock) _deferLinking = value;
        }
    }

    /// <summary>Points held but not yet linked into the graph (searches scan them).</summary>
    public int Unlinked => Volatile.Read(ref _unlinked);

    /// <summary>
    /// Links up to <paramref name="maxPoints"/> of the unlinked points into the graph, oldest first, with up to
    /// <paramref name="threads"/> threads inserting at once (0: one per core). Writers wait for the chunk; searches go
    /// on. Does nothing while <see cref="DeferLinking"/> is on.
    /// </summary>
    /// <returns>The points still unlinked.</returns>
    public int LinkPending(int maxPoints, int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPoints);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        if (threads == 0) threads = Environment.ProcessorCount;
        lock (_writeLock)
        {
            if (_deferLinking) return _unlinked;
            LinkChunk(maxPoints, threads);
            return _unlinked;
        }
    }

    /// <summary>Links the next unlinked nodes, at most <paramref name="maxPoints"/>. Caller holds the write lock.</summary>
    private void LinkChunk(int maxPoints, int threads)
    {
        if (_unlinked == 0)
        {
            Volatile.Write(ref _linkedBelow, _count);
            return;
        }
        var s = _storage;
        int count = _count;
        var nodes = new List<(int Node, int Level)>(Math.Min(maxPoints, _unlinked));
        int next = _linkedBelow;
        for (; next < count && nodes.Count < maxPoints; next++)
            if (s.IsUnlinked(next)) nodes.Add((next, s.Level(next)));

        LinkNodes(s, nodes, threads, node => s.SetUnlinked(node, false));
        _unlinked -= nodes.Count;
        Volatile.Write(ref _linkedBelow, _unlinked == 0 ? count : next);
        if (_unlinked == 0)
        {
            if (s.Quantized && s.Center is null && _live >= Options.Quantization!.TrainingPoints) LearnCenter();
            VacuumIfDue();
        }
    }

    /// <summary>Links every unlinked node (before a vacuum renumbers them). Caller holds the write lock.</summary>
    private void LinkAll()
    {
        while (_unlinked > 0) LinkChunk(int.MaxValue, Environment.ProcessorCount);
    }

    /// <summary>Flags a node just written as unlinked. Caller holds the write lock.</summary>
    private void HoldUnlinked(HnswStorage s, int node)
    {
        s.SetUnlinked(node, true);
        _unlinked++;
    }

    /// <summary>Takes a node being removed out of the unlinked ones. Caller holds the write lock.</summary>
    private void ForgetUnlinked(HnswStorage s, int node)
    {
        if (!s.IsUnlinked(node)) return;
        s.SetUnlinked(node, false);
        if (--_unlinked == 0) Volatile.Write(ref _linkedBelow, _count);
    }

    /// <summary>After a write appended nodes up to the count: with nothing unlinked, the scan range stays empty. Caller holds the write lock.</summary>
    private void AdvanceLinked()
    {
        if (_unlinked == 0) Volatile.Write(ref _linkedBelow, _count);
    }

    /// <summary>
    /// The graph's hits joined with a scan of the nodes from <paramref name="from"/> to <paramref name="count"/> (those
    /// not yet linked when the search began, and perhaps some linked since, which the graph may also have found).
    /// </summary>
    private SearchHit[] WithUnlinked<TK>(TK kernel, HnswStorage s, int from, int count, float* q, int k, IPointFilter? filter, SearchHit[] graph)
        where TK : struct, IDistanceKernel
    {
        var collector = new HitCollector(k);
        var found = new HashSet<PointId>(graph.Length);
        foreach (var hit in graph)
        {
            collector.Add(hit.Distance, hit.Id);
            found.Add(hit.Id);
        }
        for (int node = from; node < count; node++)
        {
            if (s.IsDeleted(node)) continue;
            var label = s.Label(node);
            if (filter is not null && !filter.Matches(label)) continue;
            float distance = kernel.Distance(q, s.Vector(node), Dimension);
            if (distance <= collector.Bound && !found.Contains(label)) collector.Add(distance, label);
        }
        return collector.ToSortedArray();
    }
}
