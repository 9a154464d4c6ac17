using System.Collections;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

/// <summary>
/// A point id → value map that keeps a running total of the memory its entries hold (value plus a fixed cost per
/// entry), so a partition reports its memory in O(1) and a metrics collector may read the total from any thread.
/// </summary>
internal sealed class AccountedMap<TValue>(Func<TValue, long> size) : IEnumerable<KeyValuePair<PointId, TValue>>
    where TValue : class
{
    /// <summary>A dictionary entry (hash, next, key, reference) and its bucket, on 64-bit.</summary>
    private const long EntryBytes = 48;
    private readonly Dictionary<PointId, TValue> _entries = [];
    private long _bytes;

    /// <summary>Bytes held by the entries and their values.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    public int Count => _entries.Count;

    public TValue this[PointId id]
    {
        set
        {
            long delta = EntryBytes + size(value);
            if (_entries.TryGetValue(id, out var old)) delta -= EntryBytes + size(old);
            _entries[id] = value;
            Volatile.Write(ref _bytes, _bytes + delta);
        }
    }

    public bool Remove(PointId id)
    {
        if (!_entries.Remove(id, out var old)) return false;
        Volatile.Write(ref _bytes, _bytes - EntryBytes - size(old));
        return true;
    }

    public bool TryGetValue(PointId id, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TValue value) => _entries.TryGetValue(id, out value);

    public TValue? GetValueOrDefault(PointId id) => _entries.GetValueOrDefault(id);

    public IEnumerator<KeyValuePair<PointId, TValue>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
