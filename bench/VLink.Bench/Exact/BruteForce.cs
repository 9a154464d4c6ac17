using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VLink.Bench.Io;

namespace VLink.Bench.Exact;

/// <summary>The metrics the bench understands, as spelled on the command line.</summary>
public enum BenchMetric
{
    /// <summary>Squared Euclidean distance.</summary>
    L2,

    /// <summary>1 − cos(a, b).</summary>
    Cosine,

    /// <summary>Inner product (larger is closer).</summary>
    Dot,
}

/// <summary>
/// Exact k-nearest-neighbour ground truth by a blocked, parallel scan. Deliberately independent of
/// VLink.Core (own kernels, own top-k), so a bug in the index under test cannot leak into the truth.
/// Ties are broken by the smaller row number.
/// </summary>
public static class BruteForce
{
    private const int QueryBlock = 16;
    private const int CacheBytes = 256 * 1024;

    /// <summary>Parses <c>l2|cosine|dot</c>.</summary>
    public static BenchMetric ParseMetric(string text) => text.ToLowerInvariant() switch
    {
        "l2" => BenchMetric.L2,
        "cosine" => BenchMetric.Cosine,
        "dot" => BenchMetric.Dot,
        _ => throw new ArgumentOutOfRangeException(nameof(text), text, "expected l2|cosine|dot"),
    };

    /// <summary>The command-line spelling of a metric.</summary>
    public static string Name(BenchMetric metric) => metric switch
    {
        BenchMetric.L2 => "l2",
        BenchMetric.Cosine => "cosine",
        _ => "dot",
    };

    /// <summary>
    /// Row numbers of the <paramref name="k"/> nearest base rows of every query, nearest first
    /// (<c>min(k, base.Count)</c> columns).
    /// </summary>
    public static RowMatrix<int> TopK(RowMatrix<float> baseRows, RowMatrix<float> queries, BenchMetric metric, int k, Action<string>? log = null)
    {
        if (baseRows.Dimension != queries.Dimension)
            throw new ArgumentException($"base dimension {baseRows.Dimension} differs from query dimension {queries.Dimension}");
        k = Math.Min(k, baseRows.Count);
        if (metric == BenchMetric.Cosine)
        {
            baseRows = Normalized(baseRows);
            queries = Normalized(queries);
        }

        int dim = baseRows.Dimension;
        int chunk = Math.Max(16, CacheBytes / (dim * sizeof(float)));
        int blocks = (queries.Count + QueryBlock - 1) / QueryBlock;
        var result = new int[queries.Count * k];
        bool l2 = metric == BenchMetric.L2;
        int done = 0;
        var clock = Stopwatch.StartNew();
        long lastLog = 0;
        var gate = new object();

        Parallel.For(0, blocks, block =>
        {
            int q0 = block * QueryBlock;
            int qn = Math.Min(QueryBlock, queries.Count - q0);
            var heaps = new TopKHeap[qn];
            for (int j = 0; j < qn; j++)
                heaps[j] = new TopKHeap(k);

            for (int b0 = 0; b0 < baseRows.Count; b0 += chunk)
            {
                int bn = Math.Min(chunk, baseRows.Count - b0);
                for (int j = 0; j < qn; j++)
                {
                    ReadOnlySpan<float> q = queries.Row(q0 + j);
                    TopKHeap heap = heaps[j];
                    for (int b = b0; b < b0 + bn; b++)
                    {
                        ReadOnlySpan<float> v = baseRows.Row(b);
                        float d = l2 ? SquaredL2(q, v) : -Dot(q, v);
                        heap.Offer(d, b);
                    }
                }
            }

            for (int j = 0; j < qn; j++)
                heaps[j].DrainSorted(result.AsSpan((q0 + j) * k, k));

            int finished = Interlocked.Add(ref done, qn);
            if (log is not null && clock.ElapsedMilliseconds - Interlocked.Read(ref lastLog) > 10_000)
            {
                lock (gate)
                {
                    if (clock.ElapsedMilliseconds - lastLog > 10_000)
                    {
                        lastLog = clock.ElapsedMilliseconds;
                        log($"ground truth: {finished}/{queries.Count} queries, {clock.Elapsed.TotalSeconds:F0} s");
                    }
                }
            }
        });

        return new RowMatrix<int>(result, queries.Count, k);
    }

    /// <summary>A copy with every row scaled to unit length (zero rows stay zero).</summary>
    public static RowMatrix<float> Normalized(RowMatrix<float> rows)
    {
        var copy = (float[])rows.Data.Clone();
        var m = new RowMatrix<float>(copy, rows.Count, rows.Dimension);
        Parallel.For(0, rows.Count, i =>
        {
            Span<float> r = m.MutableRow(i);
            float norm = MathF.Sqrt(Dot(r, r));
            if (norm > 0)
            {
                for (int j = 0; j < r.Length; j++)
                    r[j] /= norm;
            }
        });
        return m;
    }

    /// <summary>Σ aᵢbᵢ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length;
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a);
            ReadOnlySpan<Vector<float>> vb = MemoryMarshal.Cast<float, Vector<float>>(b[..n]);
            Vector<float> acc0 = Vector<float>.Zero, acc1 = Vector<float>.Zero;
            int v = 0;
            for (; v + 1 < va.Length; v += 2)
            {
                acc0 += va[v] * vb[v];
                acc1 += va[v + 1] * vb[v + 1];
            }

            if (v < va.Length)
                acc0 += va[v] * vb[v];
            sum = Vector.Sum(acc0 + acc1);
            i = va.Length * Vector<float>.Count;
        }

        for (; i < n; i++)
            sum += a[i] * b[i];
        return sum;
    }

    /// <summary>Σ (aᵢ − bᵢ)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length;
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a);
            ReadOnlySpan<Vector<float>> vb = MemoryMarshal.Cast<float, Vector<float>>(b[..n]);
            Vector<float> acc0 = Vector<float>.Zero, acc1 = Vector<float>.Zero;
            int v = 0;
            for (; v + 1 < va.Length; v += 2)
            {
                Vector<float> d0 = va[v] - vb[v];
                Vector<float> d1 = va[v + 1] - vb[v + 1];
                acc0 += d0 * d0;
                acc1 += d1 * d1;
            }

            if (v < va.Length)
            {
                Vector<float> d0 = va[v] - vb[v];
                acc0 += d0 * d0;
            }

            sum = Vector.Sum(acc0 + acc1);
            i = va.Length * Vector<float>.Count;
        }

        for (; i < n; i++)
        {
            float d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    /// <summary>Keeps the k smallest (distance, row) pairs in a max-heap.</summary>
    private sealed class TopKHeap(int capacity)
    {
        private readonly float[] _dist = new float[capacity];
        private readonly int[] _row = new int[capacity];
        private int _size;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Offer(float distance, int row)
        {
            if (_size < capacity)
            {
                int i = _size++;
                _dist[i] = distance;
                _row[i] = row;
                SiftUp(i);
                return;
            }

            // Rows arrive in increasing order, so an equal distance never displaces an earlier row.
            if (distance >= _dist[0])
                return;
            _dist[0] = distance;
            _row[0] = row;
            SiftDown(0, _size);
        }

        /// <summary>Writes the rows nearest first and empties the heap.</summary>
        public void DrainSorted(Span<int> destination)
        {
            while (_size > 0)
            {
                int last = --_size;
                destination[last] = _row[0];
                _dist[0] = _dist[last];
                _row[0] = _row[last];
                SiftDown(0, _size);
            }
        }

        // Max-heap on (distance, row): the root is the worst kept pair.
        private bool Worse(int a, int b) => _dist[a] > _dist[b] || (_dist[a] == _dist[b] && _row[a] > _row[b]);

        private void SiftUp(int i)
        {
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (!Worse(i, parent))
                    break;
                Swap(i, parent);
                i = parent;
            }
        }

        private void SiftDown(int i, int size)
        {
            while (true)
            {
                int l = (2 * i) + 1;
                if (l >= size)
                    break;
                int r = l + 1;
                int worst = r < size && Worse(r, l) ? r : l;
                if (!Worse(worst, i))
                    break;
                Swap(i, worst);
                i = worst;
            }
        }

        private void Swap(int a, int b)
        {
            (_dist[a], _dist[b]) = (_dist[b], _dist[a]);
            (_row[a], _row[b]) = (_row[b], _row[a]);
        }
    }
}
