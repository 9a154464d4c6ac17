using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VLink.Core.Hnsw;

/// <summary>
/// Where a quantized index keeps its full-precision vectors, outside the node records: in chunks of a
/// memory-mapped temporary file (pages the operating system may evict and read back) or in pinned arrays.
/// Chunks never move once handed out, so readers address them through raw pointers; a grown store is a new
/// <see cref="VectorChunks"/> snapshot sharing the old chunks.
/// </summary>
/// <remarks>
/// Mappings are released when the store is garbage (its finalizer), never while a reader could still hold a
/// storage that points into them: disposing an index cannot pull pages from under a running search.
/// </remarks>
internal sealed unsafe class VectorStore
{
    private const long MappedChunkBytes = 16L << 20;
    private const long RamChunkBytes = 1L << 20;
    private const int FirstRamChunkNodes = 16;

    private readonly object _gate = new();
    private readonly List<(MemoryMappedFile Map, MemoryMappedViewAccessor View)> _mappings = [];
    private FileStream? _file;

    public VectorStore(int dimension, bool mapped)
    {
        Dimension = dimension;
        Mapped = mapped;
        VectorBytes = dimension * sizeof(float);
        long chunkBytes = mapped ? MappedChunkBytes : RamChunkBytes;
        ChunkShift = Math.Clamp(63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(1, chunkBytes / VectorBytes)), 4, 20);
        ChunkNodes = 1 << ChunkShift;
    }

    public int Dimension { get; }
    public bool Mapped { get; }
    public int VectorBytes { get; }
    public int ChunkShift { get; }
    public int ChunkNodes { get; }

    /// <summary>A snapshot holding at least <paramref name="needed"/> vectors, sharing every full chunk of <paramref name="current"/>.</summary>
    public VectorChunks Grow(VectorChunks current, int needed)
    {
        if (needed <= current.Capacity) return current;
        lock (_gate)
        {
            var addresses = current.Addresses.ToList();
            var owners = current.Owners.ToList();
            int capacity = current.Capacity;
            while (capacity < needed)
            {
                if (Mapped)
                {
                    addresses.Add(MapChunk(addresses.Count));
                    owners.Add(null);
                    capacity += ChunkNodes;
                }
                else if (capacity < ChunkNodes)
                {
                    // The first chunk doubles (copied) until full size, so a small index holds little.
                    int next = capacity == 0 ? FirstRamChunkNodes : capacity * 2;
                    while (next < needed && next < ChunkNodes) next *= 2;
                    next = Math.Min(next, ChunkNodes);
                    var array = GC.AllocateArray<byte>(checked(next * VectorBytes), pinned: true);
                    if (owners.Count > 0) ((byte[])owners[0]!).AsSpan().CopyTo(array);
                    var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
                    if (owners.Count == 0) { owners.Add(array); addresses.Add(address); }
                    else { owners[0] = array; addresses[0] = address; }
                    capacity = next;
                }
                else
                {
                    var array = GC.AllocateArray<byte>(checked(ChunkNodes * VectorBytes), pinned: true);
                    owners.Add(array);
                    addresses.Add((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)));
                    capacity += ChunkNodes;
                }
            }
            return new VectorChunks(this, capacity, [.. addresses], [.. owners]);
        }
    }

    private nint MapChunk(int chunk)
    {
        long bytes = (long)ChunkNodes * VectorBytes;
        _file ??= new FileStream(Path.Combine(Path.GetTempPath(), $"vlink-vectors-{Guid.NewGuid():N}.f32"),
            FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.DeleteOnClose);
        long end = (chunk + 1) * bytes;
        // The file grows sparse: a chunk costs disk and memory only as its vectors are written.
        if (_file.Length < end) _file.SetLength(end);
        var map = MemoryMappedFile.CreateFromFile(_file, null, end, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        var view = map.CreateViewAccessor(chunk * bytes, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _mappings.Add((map, view));
        return (nint)(pointer + view.PointerOffset);
    }

    ~VectorStore()
    {
        foreach (var (map, view) in _mappings)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            map.Dispose();
        }
        _file?.Dispose();
    }
}

/// <summary>One immutable view of a <see cref="VectorStore"/>: chunk addresses and the arrays that own them.</summary>
internal sealed unsafe class VectorChunks(VectorStore store, int capacity, nint[] addresses, object?[] owners)
{
    public static VectorChunks Empty(VectorStore store) => new(store, 0, [], []);

    /// <summary>Keeps the store (and so its mappings) alive while any storage refers to this snapshot.</summary>
    public readonly VectorStore Store = store;
    public readonly int Capacity = capacity;
    public readonly nint[] Addresses = addresses;
    public readonly object?[] Owners = owners;

    /// <summary>Bytes held in process memory (pinned arrays); a mapped store's pages are the file's.</summary>
    public long RamBytes => Store.Mapped ? 0 : Owners.Sum(o => (long)((byte[])o!).Length);

    /// <summary>Bytes of vectors that live in the mapped file.</summary>
    public long MappedBytes => Store.Mapped ? (long)Capacity * Store.VectorBytes : 0;
}
