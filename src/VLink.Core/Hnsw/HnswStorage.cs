using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using VLink.Core.Indexing;

namespace VLink.Core.Hnsw;

/// <summary>
/// The memory of an HNSW graph, in blocks that never move once full. Each node owns one fixed-size record
/// — its vector, then its level-0 link count and links — so a neighbour's vector and links sit side by side
/// (hnswlib's layout). Records live in pinned arrays, so the search loop reads them through raw pointers
/// while the GC still owns their lifetime: a reader holding an old <see cref="HnswStorage"/> keeps its blocks alive.
/// </summary>
/// <remarks>
/// <para>With scalar quantization the record holds the node's int8 codes, its scale and squared norm instead of
/// the float vector (about a quarter of the bytes), and the float vectors live in a <see cref="VectorStore"/>;
/// <see cref="Vector"/> finds them there at the same cost.</para>
/// The writer never mutates a published storage's block tables; growth publishes a new storage object
/// whose tables share the old blocks. Block 0 starts small and doubles (it is copied then), so tiny
/// partitions stay tiny; every later block holds <see cref="BlockSize"/> nodes.
/// </remarks>
internal sealed unsafe class HnswStorage
{
    private const int FirstBlockCapacity = 16;
    private const int TargetBlockBytes = 1 << 18;

    /// <summary>Nodes per full block: a power of two near 256 KiB of records, so little memory is held in reserve.</summary>
    public readonly int BlockSize;
    public readonly int BlockShift;
    public readonly int BlockMask;

    public readonly int Dimension;
    public readonly int M;
    public readonly int M0;
    /// <summary>
    /// Bytes per node record: vector (4·d) — or codes (d rounded up to 4), scale and squared norm (8) when
    /// quantized — then link count (4) and links (4·M0); no padding (loads are unaligned anyway).
    /// </summary>
    public readonly int Stride;
    /// <summary>Bytes of int8 codes at the start of a quantized record (d rounded up to 4); 0 when records hold floats.</summary>
    public readonly int CodeBytes;
    /// <summary>The per-dimension mean the codes are taken around, once learnt; null before (codes around 0).</summary>
    public readonly float[]? Center;
    /// <summary>The full-precision vectors of a quantized index; null when they are in the records.</summary>
    public readonly VectorChunks? Originals;
    private readonly nint[] _vectorAddresses;
    private readonly int _vectorShift;
    private readonly int _vectorMask;
    private readonly int _vectorStride;
    /// <summary>Byte offset of the level-0 link count inside a record.</summary>
    public readonly int LinksOffset;

    /// <summary>Nodes the blocks can hold.</summary>
    public readonly int Capacity;
    public readonly byte[][] Blocks;
    public readonly nint[] BlockAddresses;
    /// <summary>Numeric ids; a node whose id is a string has <see cref="TextFlag"/> set and its id in <see cref="Texts"/>.</summary>
    public readonly ulong[][] Numbers;
    /// <summary>String ids by node (shared by every storage generation of one index).</summary>
    public readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> Texts;
    public readonly byte[][] Levels;
    /// <summary>Per node: <see cref="DeletedFlag"/> | <see cref="TextFlag"/> | <see cref="UnlinkedFlag"/>.</summary>
    public readonly byte[][] Flags;

    public const byte DeletedFlag = 1;
    public const byte TextFlag = 2;
    /// <summary>A node held (its vector, id and level) but not yet linked into the graph: searches scan it.</summary>
    public const byte UnlinkedFlag = 4;
    /// <summary>
    /// Per node with level ≥ 1 (about 1 in M): for each upper layer, [count, M links]. A map rather than a
    /// per-node reference saves 8 bytes on every level-0-only node; only the greedy descent reads it.
    /// </summary>
    public readonly System.Collections.Concurrent.ConcurrentDictionary<int, int[]> Upper;

    /// <summary>An empty storage; <paramref name="originals"/> makes it quantized (records hold codes).</summary>
    public HnswStorage(int dimension, int m, VectorStore? originals = null)
        : this(dimension, m, 0, [], [], [], new(), [], [], new(), null, originals is null ? null : VectorChunks.Empty(originals))
    {
    }

    private HnswStorage(int dimension, int m, int capacity, byte[][] blocks, nint[] addresses,
        ulong[][] numbers, System.Collections.Concurrent.ConcurrentDictionary<int, string> texts, byte[][] levels, byte[][] flags,
        System.Collections.Concurrent.ConcurrentDictionary<int, int[]> upper, float[]? center, VectorChunks? originals)
    {
        Dimension = dimension;
        M = m;
        M0 = 2 * m;
        CodeBytes = originals is null ? 0 : (dimension + 3) & ~3;
        Center = center;
        Originals = originals;
        LinksOffset = originals is null ? dimension * sizeof(float) : CodeBytes + 2 * sizeof(float);
        Stride = LinksOffset + (M0 + 1) * sizeof(int);
        BlockShift = Math.Clamp(31 - System.Numerics.BitOperations.LeadingZeroCount((uint)Math.Max(1, TargetBlockBytes / Stride)), 4, 12);
        BlockSize = 1 << BlockShift;
        BlockMask = BlockSize - 1;
        Capacity = capacity;
        Blocks = blocks;
        BlockAddresses = addresses;
        Numbers = numbers;
        Texts = texts;
        Levels = levels;
        Flags = flags;
        Upper = upper;
        if (originals is null)
        {
            _vectorAddresses = addresses;
            _vectorShift = BlockShift;
            _vectorMask = BlockMask;
            _vectorStride = Stride;
        }
        else
        {
            _vectorAddresses = originals.Addresses;
            _vectorShift = originals.Store.ChunkShift;
            _vectorMask = originals.Store.ChunkNodes - 1;
            _vectorStride = originals.Store.VectorBytes;
        }
    }

    /// <summary>True when records hold int8 codes and the float vectors live in <see cref="Originals"/>.</summary>
    public bool Quantized => Originals is not null;

    /// <summary>A copy whose records are fresh blocks (the caller re-codes them around <paramref name="center"/>); tables are shared.</summary>
    public HnswStorage WithCenter(float[] center)
    {
        var blocks = new byte[Blocks.Length][];
        var addresses = new nint[Blocks.Length];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = GC.AllocateArray<byte>(Blocks[i].Length, pinned: true);
            Blocks[i].AsSpan().CopyTo(blocks[i]);
            addresses[i] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(blocks[i]));
        }
        return new HnswStorage(Dimension, M, Capacity, blocks, addresses, Numbers, Texts, Levels, Flags, Upper, center, Originals);
    }

    /// <summary>A storage able to hold at least <paramref name="needed"/> nodes, sharing every full block with this one.</summary>
    public HnswStorage Grow(int needed)
    {
        if (needed <= Capacity) return this;
        var blocks = Blocks.ToList();
        var labels = Numbers.ToList();
        var levels = Levels.ToList();
        var deleted = Flags.ToList();
        int capacity = Capacity;
        while (capacity < needed)
        {
            if (capacity < BlockSize)
            {
                // Block 0 doubles in place of itself until it is full size.
                int next = capacity == 0 ? FirstBlockCapacity : Math.Min(capacity * 2, BlockSize);
                while (next < needed && next < BlockSize) next = Math.Min(next * 2, BlockSize);
                if (blocks.Count == 0)
                {
                    blocks.Add(NewBlock(next)); labels.Add(new ulong[next]); levels.Add(new byte[next]);
                    deleted.Add(new byte[next]);
                }
                else
                {
                    var b = NewBlock(next);
                    Blocks[0].AsSpan().CopyTo(b);
                    blocks[0] = b;
                    labels[0] = Extend(labels[0], next);
                    levels[0] = Extend(levels[0], next);
                    deleted[0] = Extend(deleted[0], next);
                }
                capacity = next;
            }
            else
            {
                blocks.Add(NewBlock(BlockSize)); labels.Add(new ulong[BlockSize]); levels.Add(new byte[BlockSize]);
                deleted.Add(new byte[BlockSize]);
                capacity += BlockSize;
            }
        }
        var addresses = new nint[blocks.Count];
        for (int i = 0; i < blocks.Count; i++)
            addresses[i] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(blocks[i]));
        var originals = Originals is null ? null : Originals.Store.Grow(Originals, capacity);
        return new HnswStorage(Dimension, M, capacity, [.. blocks], addresses, [.. labels], Texts, [.. levels], [.. deleted], Upper, Center, originals);
    }

    private byte[] NewBlock(int nodes) => GC.AllocateArray<byte>(checked(nodes * Stride), pinned: true);

    private static T[] Extend<T>(T[] array, int length)
    {
        var copy = new T[length];
        array.AsSpan().CopyTo(copy);
        return copy;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Record(int node) =>
        (byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(BlockAddresses), node >> BlockShift) + (long)(node & BlockMask) * Stride;

    /// <summary>The node's full-precision vector: in its record, or in <see cref="Originals"/> when quantized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* Vector(int node) =>
        (float*)((byte*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_vectorAddresses), node >> _vectorShift) + (long)(node & _vectorMask) * _vectorStride);

    /// <summary>Level-0 links: [count, id₁ … id_M0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int* Links0(int node) => (int*)(Record(node) + LinksOffset);

    public PointId Label(int node)
    {
        int block = node >> BlockShift, slot = node & BlockMask;
        return (Flags[block][slot] & TextFlag) != 0 ? new PointId(Texts[node]) : new PointId(Numbers[block][slot]);
    }

    /// <summary>Sets the id of a node that no reader can reach yet.</summary>
    public void SetLabel(int node, PointId id)
    {
        int block = node >> BlockShift, slot = node & BlockMask;
        if (id.Text is { } text)
        {
            Texts[node] = text;
            Numbers[block][slot] = 0;
            Flags[block][slot] |= TextFlag;
        }
        else
        {
            Texts.TryRemove(node, out _);
            Numbers[block][slot] = id.Number;
            Flags[block][slot] &= unchecked((byte)~TextFlag);
        }
    }

    public ref byte Level(int node) => ref Levels[node >> BlockShift][node & BlockMask];

    public void SetDeleted(int node, bool deleted)
    {
        ref byte flags = ref Flags[node >> BlockShift][node & BlockMask];
        Volatile.Write(ref flags, deleted ? (byte)(flags | DeletedFlag) : (byte)(flags & ~DeletedFlag));
    }

    public void SetUnlinked(int node, bool unlinked)
    {
        ref byte flags = ref Flags[node >> BlockShift][node & BlockMask];
        Volatile.Write(ref flags, unlinked ? (byte)(flags | UnlinkedFlag) : (byte)(flags & ~UnlinkedFlag));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsUnlinked(int node) => (Volatile.Read(ref Flags[node >> BlockShift][node & BlockMask]) & UnlinkedFlag) != 0;

    /// <summary>The bytes of the records of nodes [0, count), block by block, in node order.</summary>
    public IEnumerable<Memory<byte>> RecordBytes(int count)
    {
        for (int start = 0, block = 0; start < count; start += BlockSize, block++)
            yield return Blocks[block].AsMemory(0, Math.Min(BlockSize, count - start) * Stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsDeleted(int node) => (Volatile.Read(ref Flags[node >> BlockShift][node & BlockMask]) & DeletedFlag) != 0;

    public int[]? UpperLinks(int node) => Upper.GetValueOrDefault(node);

    /// <summary>Gives a node that no reader can reach yet its upper-layer lists (or none).</summary>
    public void SetUpperLinks(int node, int[]? links)
    {
        if (links is null) Upper.TryRemove(node, out _);
        else Upper[node] = links;
    }

    /// <summary>The link list of a node at a layer as a span over [count, ids…].</summary>
    public Span<int> LinkList(int node, int layer)
    {
        if (layer == 0) return new Span<int>(Links0(node), M0 + 1);
        var upper = UpperLinks(node) ?? throw new InvalidOperationException($"Node {node} has no layer {layer}.");
        return upper.AsSpan((layer - 1) * (M + 1), M + 1);
    }

    public int MaxLinks(int layer) => layer == 0 ? M0 : M;

    /// <summary>Memory held by the blocks and per-node tables (and the originals kept in memory; not mapped ones).</summary>
    public long Bytes()
    {
        long bytes = Originals?.RamBytes ?? 0;
        if (Center is not null) bytes += Center.LongLength * sizeof(float);
        foreach (var b in Blocks) bytes += b.LongLength;
        foreach (var l in Numbers) bytes += l.LongLength * sizeof(ulong);
        foreach (var l in Levels) bytes += l.LongLength * 2; // levels + flags
        foreach (var text in Texts.Values) bytes += 64 + 2 * text.Length; // entry + string
        // A concurrent-dictionary node (key, reference, hash, next) plus the array itself.
        foreach (var links in Upper.Values) bytes += 48 + 24 + links.LongLength * sizeof(int);
        return bytes;
    }
}
