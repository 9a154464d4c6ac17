using VLink.Core.Serialization;
using VLink.Core.Vectors;

namespace VLink.Core.Indexing;

/// <summary>
/// An exact index: every search scans every point. The right choice for small partitions (no graph to build
/// or keep) and the ground truth for measuring approximate indices. Points are kept dense (a delete moves
/// the last point into the hole, an update overwrites in place), so a scan touches only live vectors and memory
/// follows the live count.
/// </summary>
/// <remarks>Readers share a reader lock and never wait for each other; a write holds the lock for one point's work.</remarks>
public sealed unsafe class FlatIndex : IVectorIndex
{
    private const int FileVersion = 1;
    private const string FileKind = "flat index";
    private static ReadOnlySpan<byte> Magic => "VLNKFLAT"u8;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly DistanceFunction? _custom;
    private readonly bool _normalises;
    private readonly Dictionary<PointId, int> _positions = [];
    private float[] _vectors;
    private PointId[] _ids;
    private int _count;

    /// <summary>Creates an empty exact index for a built-in metric.</summary>
    public FlatIndex(int dimension, DistanceMetric metric) : this(dimension, metric, null)
    {
    }

    /// <summary>Creates an empty exact index ranked by a caller-supplied distance.</summary>
    public FlatIndex(int dimension, DistanceFunction distance)
        : this(dimension, DistanceMetric.Custom, distance ?? throw new ArgumentNullException(nameof(distance)))
    {
    }

    private FlatIndex(int dimension, DistanceMetric metric, DistanceFunction? custom)
    {
        if (dimension is < 1 or > 65536)
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be between 1 and 65536.");
        if (custom is null) MetricRules.CheckBuiltIn(metric);
        Dimension = dimension;
        Metric = metric;
        _custom = custom;
        _normalises = MetricRules.Normalises(metric);
        _vectors = new float[dimension * 16];
        _ids = new PointId[16];
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public DistanceMetric Metric { get; }

    /// <inheritdoc />
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc />
    public long MemoryBytes
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _vectors.LongLength * sizeof(float) + _ids.LongLength * 16 + _positions.Count * 32L;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <inheritdoc />
    public void Upsert(PointId id, ReadOnlySpan<float> vector)
    {
        VectorValidation.Validate(vector, Dimension, nameof(vector));
        float[] prepared = vector.ToArray();
        if (_normalises) VectorKernels.Normalize(prepared);
        _lock.EnterWriteLock();
        try
        {
            if (!_positions.TryGetValue(id, out int position))
            {
                position = _count;
                if (position == _ids.Length)
                {
                    Array.Resize(ref _ids, _ids.Length * 2);
                    Array.Resize(ref _vectors, _ids.Length * Dimension);
                }
                _ids[position] = id;
                _positions[id] = position;
                _count++;
            }
            prepared.CopyTo(_vectors.AsSpan(position * Dimension, Dimension));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <inheritdoc />
    public bool Delete(PointId id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_positions.Remove(id, out int position)) return false;
            int last = --_count;
            if (position != last)
            {
                _vectors.AsSpan(last * Dimension, Dimension).CopyTo(_vectors.AsSpan(position * Dimension, Dimension));
                _ids[position] = _ids[last];
                _positions[_ids[position]] = position;
            }
            _ids[last] = default;
            // Upserts of known ids overwrite in place, so only deletes leave room: give it back below a quarter full.
            if (_count < _ids.Length / 4 && _ids.Length > 16)
            {
                int capacity = Math.Max(16, _ids.Length / 2);
                Array.Resize(ref _ids, capacity);
                Array.Resize(ref _vectors, capacity * Dimension);
                _positions.TrimExcess();
            }
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <inheritdoc />
    public bool Contains(PointId id) => Read(() => _positions.ContainsKey(id));

    /// <inheritdoc />
    public float[]? GetVector(PointId id) =>
        Read(() => _positions.TryGetValue(id, out int p) ? _vectors.AsSpan(p * Dimension, Dimension).ToArray() : null);

    /// <inheritdoc />
    public IReadOnlyList<PointId> Ids() => Read(() => (IReadOnlyList<PointId>)_ids.AsSpan(0, _count).ToArray());

    /// <inheritdoc />
    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int k, SearchOptions? options = null)
    {
        VectorValidation.ValidateK(k);
        VectorValidation.Validate(query, Dimension, nameof(query));
        Span<float> prepared = query.Length <= 1024 ? stackalloc float[query.Length] : new float[query.Length];
        query.CopyTo(prepared);
        if (_normalises) VectorKernels.Normalize(prepared);
        var filter = options?.Filter;
        _lock.EnterReadLock();
        try
        {
            fixed (float* q = prepared)
            {
                return Metric switch
                {
                    DistanceMetric.Euclidean => Scan(new SquaredEuclideanKernel(), q, k, filter),
                    DistanceMetric.Custom => Scan(new CustomKernel(_custom!), q, k, filter),
                    _ => Scan(new InnerProductKernel(), q, k, filter),
                };
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<SearchHit>[] SearchBatch(IReadOnlyList<float[]> queries, int k, SearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var answers = new IReadOnlyList<SearchHit>[queries.Count];
        for (int i = 0; i < queries.Count; i++)
        {
            if (queries[i] is null) throw new ArgumentException($"Query {i} is null.", nameof(queries));
            answers[i] = Search(queries[i], k, options);
        }
        return answers;
    }

    private SearchHit[] Scan<TK>(TK kernel, float* q, int k, IPointFilter? filter) where TK : struct, IDistanceKernel
    {
        var collector = new HitCollector(k);
        fixed (float* vectors = _vectors)
        {
            for (int i = 0; i < _count; i++)
            {
                if (filter is not null && !filter.Matches(_ids[i])) continue;
                collector.Add(kernel.Distance(q, vectors + (long)i * Dimension, Dimension), _ids[i]);
            }
        }
        return collector.ToSortedArray();
    }

    /// <summary>Writes the index in VLink's versioned binary format with a CRC-32C footer.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _lock.EnterReadLock();
        try
        {
            var (w, checksum) = IndexFile.BeginWrite(stream, Magic, FileVersion);
            w.Write(Dimension);
            w.Write((int)Metric);
            w.Write(_count);
            for (int i = 0; i < _count; i++) IndexFile.WriteId(w, _ids[i]);
            w.Flush();
            checksum.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_vectors.AsSpan(0, _count * Dimension)));
            IndexFile.EndWrite(w, checksum, stream);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Reads an index written by <see cref="Save"/>; either the whole index loads or nothing does.</summary>
    /// <exception cref="InvalidDataException">The data is not a flat index, is truncated or damaged.</exception>
    public static FlatIndex Load(Stream stream, DistanceFunction? custom = null)
    {
        var (r, checksum) = IndexFile.BeginRead(stream, Magic, FileVersion, FileKind);
        var index = IndexFile.Guard(() =>
        {
            int dimension = r.ReadInt32();
            var metric = (DistanceMetric)r.ReadInt32();
            int count = r.ReadInt32();
            IndexFile.Require(dimension is >= 1 and <= 65536, FileKind, $"dimension {dimension} is out of range");
            IndexFile.Require(Enum.IsDefined(metric), FileKind, $"unknown metric {(int)metric}");
            IndexFile.Require(count >= 0, FileKind, $"negative point count {count}");
            if (metric == DistanceMetric.Custom && custom is null)
                throw new InvalidDataException("The index was built with a custom distance; pass the same DistanceFunction to Load.");
            var flat = metric == DistanceMetric.Custom ? new FlatIndex(dimension, custom!) : new FlatIndex(dimension, metric);
            int capacity = Math.Max(16, count);
            flat._ids = new PointId[capacity];
            flat._vectors = new float[(long)capacity * dimension];
            for (int i = 0; i < count; i++)
            {
                var id = IndexFile.ReadId(r, FileKind);
                IndexFile.Require(flat._positions.TryAdd(id, i), FileKind, $"point id {id} appears twice");
                flat._ids[i] = id;
            }
            checksum.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(flat._vectors.AsSpan(0, count * dimension)));
            flat._count = count;
            return flat;
        }, FileKind);
        IndexFile.EndRead(checksum, stream, FileKind);
        return index;
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();

    private T Read<T>(Func<T> read)
    {
        _lock.EnterReadLock();
        try
        {
            return read();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }
}
