using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

public sealed unsafe partial class HnswIndex
{
    /// <summary>
    /// The share of node slots tombstones may hold before a write vacuums the index: a sixth, so an index holds at
    /// most 1.2 slots per live point however often its points are replaced (1.25 with the last block's spare room).
    /// </summary>
    private const double MaxTombstoneShare = 1.0 / 6;

    /// <summary>
    /// Tombstoned hops a vacuum follows to find replacements for a link into a deleted node. Two hops weigh about
    /// M0 times the candidates of one: a 300K × 128 vacuum took 15.6 s with two, 0.4–5.4 s with one (busy machine).
    /// </summary>
    private const int RepairHops = 1;

    /// <summary>Deleted (or replaced) points whose node slots are still held; a vacuum reclaims them.</summary>
    public int Tombstones => Math.Max(0, Volatile.Read(ref _count) - Volatile.Read(ref _live));

    /// <summary>Node slots the index has memory for (live points, tombstones and free slots).</summary>
    public int Capacity => Volatile.Read(ref _storage).Capacity;

    /// <summary>
    /// Reclaims the slots of deleted and replaced points now: live points are renumbered densely into fresh
    /// storage, links into tombstones are replaced by the live nodes behind them (admitted by the heuristic),
    /// and the new storage is published at once. Writes vacuum automatically once tombstones pass a sixth of the
    /// slots; call this to reclaim sooner (for instance before a snapshot). Writers wait meanwhile; searches go on
    /// and finish on the storage they started with.
    /// </summary>
    /// <returns>The slots reclaimed (0 when there were no tombstones).</returns>
    public int Vacuum()
    {
        lock (_writeLock)
        {
            int tombstones = _count - _live;
            if (tombstones == 0) return 0;
            // Renumbering keeps no unlinked nodes: they are linked first (and nothing is held unlinked meanwhile).
            bool deferring = _deferLinking;
            _deferLinking = false;
            LinkAll();
            _deferLinking = deferring;
            if (_count - _live > 0) Compact();
            return tombstones;
        }
    }

    /// <summary>Vacuums when tombstones hold more than <see cref="MaxTombstoneShare"/> of the slots. Caller holds the write lock.</summary>
    private void VacuumIfDue()
    {
        // Unlinked nodes wait for their links before any renumbering (LinkChunk vacuums once they have them).
        if (_unlinked == 0 && !_deferLinking && _count - _live > _count * MaxTombstoneShare) Compact();
    }

    /// <summary>
    /// Builds a storage holding only the live nodes, renumbered in order, and publishes it with the node count and
    /// entry point as one layout change (see <see cref="ReadLayout"/>). Nothing of the old storage is written, so a
    /// search still walking it sees a frozen, consistent graph. Caller holds the write lock, with no insert running.
    /// </summary>
    private void Compact()
    {
        var old = _storage;
        int count = _count;
        var renumbered = new int[count];
        var kept = new int[_live];
        int live = 0;
        for (int node = 0; node < count; node++)
        {
            if (old.IsDeleted(node))
            {
                renumbered[node] = -1;
                continue;
            }
            renumbered[node] = live;
            kept[live++] = node;
        }

        var fresh = new HnswStorage(Dimension, Options.M, old.Originals is { } originals ? new VectorStore(Dimension, originals.Store.Mapped) : null);
        if (old.Center is not null) fresh = fresh.WithCenter(old.Center);
        fresh = fresh.Grow(live);
        // Each node's new lists depend only on the old (frozen) graph, so nodes are copied in parallel.
        switch (Metric)
        {
            case DistanceMetric.Euclidean: CopyNodes(new SquaredEuclideanKernel(), old, fresh, kept, renumbered); break;
            case DistanceMetric.Custom: CopyNodes(new CustomKernel(_custom!), old, fresh, kept, renumbered); break;
            default: CopyNodes(new InnerProductKernel(), old, fresh, kept, renumbered); break;
        }
        var ids = new NodeIdTable();
        for (int node = 0; node < live; node++) ids.Add(fresh.Label(node), node, fresh);
        // The entry is live (a delete of the entry elects another), so it keeps its level under its new number.
        long entry = _entry < 0 || renumbered[(int)_entry] < 0 ? FindEntry(fresh, live) : (_entry & ~0xFFFFFFFFL) | (uint)renumbered[(int)_entry];

        // Readers take storage, count and entry together: an odd layout tells them a change is half published.
        Interlocked.Increment(ref _layout);
        Volatile.Write(ref _storage, fresh);
        Volatile.Write(ref _count, live);
        Volatile.Write(ref _entry, entry);
        Volatile.Write(ref _linkedBelow, live);
        Interlocked.Increment(ref _layout);
        _ids = ids;
    }

    private void CopyNodes<TK>(TK kernel, HnswStorage old, HnswStorage fresh, int[] kept, int[] renumbered)
        where TK : struct, IDistanceKernel
    {
        int vectorBytes = Dimension * sizeof(float);
        Parallel.For(0, kept.Length, () => new RepairScratch(), (node, _, scratch) =>
        {
            int source = kept[node];
            Buffer.MemoryCopy(old.Record(source), fresh.Record(node), old.Stride, old.Stride);
            if (old.Quantized) Buffer.MemoryCopy(old.Vector(source), fresh.Vector(node), vectorBytes, vectorBytes);
            fresh.SetLabel(node, old.Label(source));
            int level = old.Level(source);
            fresh.Level(node) = (byte)level;
            fresh.SetUpperLinks(node, level > 0 ? new int[level * (Options.M + 1)] : null);
            for (int layer = 0; layer <= level; layer++)
                CopyList(kernel, old, source, layer, fresh.LinkList(node, layer), renumbered, scratch);
            return scratch;
        }, static _ => { });
    }

    /// <summary>
    /// Writes a node's list at a layer in the new numbering. A list that links into tombstones (a delete repairs
    /// only the neighbours it links back to) keeps its live links and takes in, by the heuristic, live nodes reachable
    /// through those tombstones, so the graph stays navigable where the deleted nodes were waypoints.
    /// </summary>
    private void CopyList<TK>(TK kernel, HnswStorage old, int node, int layer, Span<int> destination, int[] renumbered, RepairScratch scratch)
        where TK : struct, IDistanceKernel
    {
        var list = old.LinkList(node, layer);
        int count = list[0];
        bool intact = true;
        for (int i = 1; i <= count && intact; i++) intact = renumbered[list[i]] >= 0;
        if (!intact)
        {
            var found = scratch.Found;
            var frontier = scratch.Frontier;
            var next = scratch.Next;
            found.Clear();
            frontier.Clear();
            found.Add(node);
            frontier.Add(node);
            for (int hop = 0; hop <= RepairHops && frontier.Count > 0; hop++)
            {
                next.Clear();
                foreach (int from in frontier)
                {
                    var links = old.LinkList(from, layer);
                    for (int i = 1; i <= links[0]; i++)
                    {
                        int other = links[i];
                        if (!found.Add(other)) continue;
                        if (renumbered[other] < 0) next.Add(other);
                    }
                }
                (frontier, next) = (next, frontier);
            }
            var kept = scratch.Kept;
            kept.Clear();
            for (int i = 1; i <= count; i++)
                if (renumbered[list[i]] >= 0) kept.Add(new Candidate(0f, list[i]));
            var candidates = scratch.Candidates;
            candidates.Clear();
            float* v = old.Vector(node);
            foreach (int other in found)
            {
                if (other == node || renumbered[other] < 0 || list[1..(count + 1)].Contains(other)) continue;
                candidates.Add(new Candidate(kernel.Distance(v, old.Vector(other), Dimension), other));
            }
            candidates.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Node.CompareTo(b.Node));
            // The nearest few are all a list can take; the heuristic over the rest would cost a distance per link kept.
            int max = old.MaxLinks(layer);
            if (candidates.Count > max) candidates.RemoveRange(max, candidates.Count - max);
            var selected = ExtendNeighbours(kernel, old, kept, candidates, max, count);
            for (int i = 0; i < selected.Count; i++) destination[i + 1] = renumbered[selected[i].Node];
            destination[0] = selected.Count;
            return;
        }
        for (int i = 1; i <= count; i++) destination[i] = renumbered[list[i]];
        destination[0] = count;
    }

    /// <summary>
    /// The storage, node count and entry point of one layout: a search must not pair a vacuumed storage with the
    /// count or entry of the one before (node numbers differ between them).
    /// </summary>
    private (HnswStorage Storage, int Count, long Entry) ReadLayout()
    {
        var spin = new SpinWait();
        while (true)
        {
            int layout = Volatile.Read(ref _layout);
            var s = Volatile.Read(ref _storage);
            int count = Volatile.Read(ref _count);
            long entry = Volatile.Read(ref _entry);
            if ((layout & 1) == 0 && Volatile.Read(ref _layout) == layout) return (s, Math.Min(count, s.Capacity), entry);
            spin.SpinOnce();
        }
    }

    /// <summary>Per-thread sets and lists of a vacuum's list repair.</summary>
    private sealed class RepairScratch
    {
        public readonly HashSet<int> Found = [];
        public readonly List<Candidate> Kept = [];
        public List<int> Frontier = [];
        public List<int> Next = [];
        public readonly List<Candidate> Candidates = [];
    }
}
