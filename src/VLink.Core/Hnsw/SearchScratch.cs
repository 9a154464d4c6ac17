using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VLink.Core.Hnsw;

/// <summary>A (distance, node) pair inside the index.</summary>
internal struct Candidate(float distance, int node)
{
    public float Distance = distance;
    public int Node = node;
}

/// <summary>Which of two distances a heap keeps nearer its top.</summary>
internal interface IHeapOrder
{
    static abstract bool Before(float a, float b);
}

/// <summary>Nearest on top: the search frontier.</summary>
internal readonly struct NearestFirst : IHeapOrder
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Before(float a, float b) => a < b;
}

/// <summary>Farthest on top: the bounded result set, whose top is the bound to beat.</summary>
internal readonly struct FarthestFirst : IHeapOrder
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Before(float a, float b) => a > b;
}

/// <summary>A binary heap of candidates on a reusable array, specialised per order by the JIT.</summary>
internal sealed class CandidateHeap<TOrder> where TOrder : struct, IHeapOrder
{
    private Candidate[] _items = new Candidate[64];
    private int _count;

    public int Count => _count;

    public ref readonly Candidate Top => ref MemoryMarshal.GetArrayDataReference(_items);

    public void Clear() => _count = 0;

    public void Push(float distance, int node)
    {
        if (_count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        ref Candidate first = ref MemoryMarshal.GetArrayDataReference(_items);
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            ref Candidate p = ref Unsafe.Add(ref first, parent);
            if (!TOrder.Before(distance, p.Distance)) break;
            Unsafe.Add(ref first, i) = p;
            i = parent;
        }
        Unsafe.Add(ref first, i) = new Candidate(distance, node);
    }

    public Candidate Pop()
    {
        ref Candidate first = ref MemoryMarshal.GetArrayDataReference(_items);
        Candidate top = first;
        int n = --_count;
        if (n > 0)
        {
            Candidate last = Unsafe.Add(ref first, n);
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= n) break;
                int right = child + 1;
                if (right < n && TOrder.Before(Unsafe.Add(ref first, right).Distance, Unsafe.Add(ref first, child).Distance)) child = right;
                if (!TOrder.Before(Unsafe.Add(ref first, child).Distance, last.Distance)) break;
                Unsafe.Add(ref first, i) = Unsafe.Add(ref first, child);
                i = child;
            }
            Unsafe.Add(ref first, i) = last;
        }
        return top;
    }

    /// <summary>Moves the contents out, ordered nearest first, into <paramref name="destination"/> (cleared first).</summary>
    public void DrainSorted(List<Candidate> destination)
    {
        destination.Clear();
        while (_count > 0) destination.Add(Pop());
        if (typeof(TOrder) == typeof(FarthestFirst)) destination.Reverse();
    }
}

/// <summary>
/// Per-thread search state reused across queries and across indices: a visited table stamped with a
/// generation tag (never cleared per query) and the two heaps. The hot loop allocates nothing.
/// </summary>
internal sealed class SearchScratch
{
    [ThreadStatic] private static SearchScratch? t_current;

    private ushort[] _visited = new ushort[1024];
    private ushort _tag;

    public readonly CandidateHeap<NearestFirst> Frontier = new();
    public readonly CandidateHeap<FarthestFirst> Results = new();
    public readonly List<Candidate> Sorted = new(256);
    public float[] Query = new float[64];
    private int[] _pending = new int[64];

    /// <summary>A buffer for one node's unvisited neighbours.</summary>
    public int[] Pending(int maxLinks)
    {
        if (_pending.Length < maxLinks) _pending = new int[maxLinks];
        return _pending;
    }

    public static SearchScratch ForCurrentThread() => t_current ??= new SearchScratch();

    /// <summary>Starts a new traversal over node ids below <paramref name="capacity"/>; returns the visited table.</summary>
    public ushort[] BeginVisit(int capacity, out ushort tag)
    {
        if (_visited.Length < capacity)
        {
            _visited = new ushort[Math.Max(capacity, _visited.Length * 2)];
            _tag = 0;
        }
        if (++_tag == 0)
        {
            Array.Clear(_visited);
            _tag = 1;
        }
        tag = _tag;
        return _visited;
    }

    private byte[] _coded = GC.AllocateArray<byte>(256, pinned: true);
    private float[] _codeScratch = new float[128];

    /// <summary>A pinned buffer for a coded query, and float scratch space for coding it.</summary>
    public unsafe byte* CodedQuery(int bytes, int scratchFloats, out Span<float> scratch)
    {
        if (_coded.Length < bytes) _coded = GC.AllocateArray<byte>(bytes, pinned: true);
        if (_codeScratch.Length < scratchFloats) _codeScratch = new float[scratchFloats];
        scratch = _codeScratch;
        return (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_coded));
    }

    public Span<float> QueryBuffer(int dimension)
    {
        if (Query.Length < dimension) Query = new float[dimension];
        return Query.AsSpan(0, dimension);
    }
}
