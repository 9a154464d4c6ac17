using VLink.Core.Indexing;

namespace VLink.Core.Hnsw;

/// <summary>
/// External id → node, as an open-addressing table of node numbers only: the ids themselves already live in
/// the storage's label arrays, so each entry costs 4 bytes (about 4.6–9 with the free slots) instead of a
/// dictionary entry's 30+. Linear probing; deleted slots are tombstones until the next rebuild. Writer-only.
/// </summary>
internal sealed class NodeIdTable
{
    private const int Empty = 0;
    private const int Removed = -1;
    private int[] _slots = new int[16];
    private int _count;
    private int _used;

    public int Count => _count;

    public long Bytes => _slots.LongLength * sizeof(int);

    public bool TryGet(PointId id, HnswStorage storage, out int node)
    {
        int mask = _slots.Length - 1;
        for (int i = Home(id, mask); ; i = (i + 1) & mask)
        {
            int slot = _slots[i];
            if (slot == Empty) break;
            if (slot != Removed && storage.Label(slot - 1) == id)
            {
                node = slot - 1;
                return true;
            }
        }
        node = -1;
        return false;
    }

    /// <summary>Adds an id known to be absent.</summary>
    public void Add(PointId id, int node, HnswStorage storage)
    {
        // Up to 7/8 full: probes stay short for writes, and the table costs 4.6–9 bytes an id.
        if ((_used + 1) * 8L > _slots.Length * 7L) Rebuild(storage, (_count + 1) * 8L > _slots.Length * 5L ? _slots.Length * 2 : _slots.Length);
        int mask = _slots.Length - 1;
        int i = Home(id, mask);
        while (_slots[i] != Empty && _slots[i] != Removed) i = (i + 1) & mask;
        if (_slots[i] == Empty) _used++;
        _slots[i] = node + 1;
        _count++;
    }

    public bool Remove(PointId id, HnswStorage storage)
    {
        int mask = _slots.Length - 1;
        for (int i = Home(id, mask); ; i = (i + 1) & mask)
        {
            int slot = _slots[i];
            if (slot == Empty) return false;
            if (slot != Removed && storage.Label(slot - 1) == id)
            {
                _slots[i] = Removed;
                _count--;
                return true;
            }
        }
    }

    /// <summary>The nodes of every live id, in table order.</summary>
    public IEnumerable<int> Nodes()
    {
        foreach (int slot in _slots)
            if (slot > 0) yield return slot - 1;
    }

    private void Rebuild(HnswStorage storage, int capacity)
    {
        var old = _slots;
        _slots = new int[capacity];
        _count = 0;
        _used = 0;
        int mask = capacity - 1;
        foreach (int slot in old)
        {
            if (slot <= 0) continue;
            int i = Home(storage.Label(slot - 1), mask);
            while (_slots[i] != Empty) i = (i + 1) & mask;
            _slots[i] = slot;
            _count++;
            _used++;
        }
    }

    private static int Home(PointId id, int mask) => (int)(((uint)id.GetHashCode() * 0x9E3779B1u) >> 7) & mask;
}
