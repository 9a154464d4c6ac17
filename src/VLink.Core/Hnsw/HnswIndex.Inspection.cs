using VLink.Core.Indexing;

namespace VLink.Core.Hnsw;

/// <summary>The shape of an HNSW graph, for operators and tests.</summary>
/// <param name="LayerCount">Layers holding at least one live node (the top layer is <c>LayerCount - 1</c>).</param>
/// <param name="NodesPerLayer">Live nodes on each layer; [0] counts every live node.</param>
/// <param name="EntryPoint">Where every search starts, or null when the index is empty.</param>
/// <param name="EdgeCount">Directed links between live nodes over all layers (links into tombstones are not counted).</param>
/// <param name="Tombstones">Deleted nodes still held in the graph as waypoints.</param>
public sealed record HnswGraphInfo(int LayerCount, IReadOnlyList<int> NodesPerLayer, PointId? EntryPoint, long EdgeCount, int Tombstones);

public sealed partial class HnswIndex
{
    /// <summary>Describes the graph: layers, nodes per layer, entry point, edges.</summary>
    public HnswGraphInfo Inspect()
    {
        lock (_writeLock)
        {
            var s = _storage;
            var perLayer = new List<int>();
            long edges = 0;
            int tombstones = 0;
            for (int node = 0; node < _count; node++)
            {
                if (s.IsDeleted(node))
                {
                    tombstones++;
                    continue;
                }
                int level = s.Level(node);
                while (perLayer.Count <= level) perLayer.Add(0);
                for (int layer = 0; layer <= level; layer++)
                {
                    perLayer[layer]++;
                    var list = s.LinkList(node, layer);
                    for (int i = 1; i <= list[0]; i++)
                        if (!s.IsDeleted(list[i])) edges++;
                }
            }
            PointId? entry = _entry < 0 ? null : (PointId?)s.Label((int)_entry);
            return new HnswGraphInfo(perLayer.Count, perLayer, entry, edges, tombstones);
        }
    }

    /// <summary>
    /// The current live neighbours of a live point on a layer; empty for layers above the point's level.
    /// Links into tombstones (kept as waypoints until repaired away) are not listed.
    /// </summary>
    /// <exception cref="ArgumentException">The id is unknown.</exception>
    public IReadOnlyList<PointId> Neighbours(PointId id, int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        lock (_writeLock)
        {
            if (!_ids.TryGet(id, _storage, out int node))
                throw new ArgumentException($"Point {id} is not in the index.", nameof(id));
            var s = _storage;
            if (layer > s.Level(node)) return [];
            var list = s.LinkList(node, layer);
            var result = new List<PointId>(list[0]);
            for (int i = 1; i <= list[0]; i++)
                if (!s.IsDeleted(list[i])) result.Add(s.Label(list[i]));
            return result;
        }
    }
}
