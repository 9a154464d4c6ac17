namespace VLink.Core.Indexing;

/// <summary>
/// Keeps the k best hits seen so far by (distance, id) in a bounded max-heap; used by exact scans,
/// where ties must break by id exactly as <see cref="SearchHit"/> orders them.
/// </summary>
internal sealed class HitCollector
{
    private readonly SearchHit[] _heap;
    private int _count;

    public HitCollector(int k) => _heap = new SearchHit[k];

    /// <summary>Worst distance held when full; +∞ before.</summary>
    public float Bound => _count == _heap.Length ? _heap[0].Distance : float.PositiveInfinity;

    public void Add(float distance, PointId id)
    {
        if (_count == _heap.Length)
        {
            if (distance > _heap[0].Distance) return;
            var hit = new SearchHit(id, distance);
            if (hit.CompareTo(_heap[0]) >= 0) return;
            _heap[0] = hit;
            SiftDown(0);
            return;
        }
        _heap[_count] = new SearchHit(id, distance);
        SiftUp(_count++);
    }

    public SearchHit[] ToSortedArray()
    {
        var result = _heap.AsSpan(0, _count).ToArray();
        Array.Sort(result);
        return result;
    }

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (_heap[i].CompareTo(_heap[parent]) <= 0) break;
            (_heap[i], _heap[parent]) = (_heap[parent], _heap[i]);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            int largest = i, left = 2 * i + 1, right = left + 1;
            if (left < _count && _heap[left].CompareTo(_heap[largest]) > 0) largest = left;
            if (right < _count && _heap[right].CompareTo(_heap[largest]) > 0) largest = right;
            if (largest == i) return;
            (_heap[i], _heap[largest]) = (_heap[largest], _heap[i]);
            i = largest;
        }
    }
}
