using System.Runtime.InteropServices;
using VLink.Core.Indexing;
using VLink.Core.Serialization;
using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

public sealed unsafe partial class HnswIndex
{
    /// <summary>
    /// 3 adds scalar quantization (its options, the code centre, the originals after the graph); 4 may flag nodes held
    /// but not yet linked (<see cref="HnswStorage.UnlinkedFlag"/>). 2 and 3 still load.
    /// </summary>
    private const int FileVersion = 4;
    private const int OldestFileVersion = 2;
    private const string FileKind = "HNSW index";
    private static ReadOnlySpan<byte> Magic => "VLNKHNSW"u8;

    /// <summary>
    /// Writes the whole index — parameters, ids, vectors, graph — in VLink's versioned binary format with a
    /// CRC-32C footer. Node records are written as the raw blocks they live in, so saving and loading run at
    /// about the speed of the stream. Writers wait while the index is saved; readers do not.
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        lock (_writeLock)
        {
            var s = _storage;
            var (w, checksum) = IndexFile.BeginWrite(stream, Magic, FileVersion);
            w.Write(Dimension);
            w.Write((int)Metric);
            w.Write(Options.M);
            w.Write(Options.EfConstruction);
            w.Write(Options.EfSearch);
            w.Write(Options.Seed);
            w.Write(Options.FilteredScanSelectivity);
            WriteQuantization(w, Options.Quantization, s.Center);
            w.Write(_count);
            w.Write(_live);
            w.Write(_entry);
            w.Write(_rng);
            w.Flush();
            // Per-node tables go out as raw arrays, block by block, so loading is a handful of bulk reads.
            for (int start = 0, block = 0; start < _count; start += s.BlockSize, block++)
            {
                int nodes = Math.Min(s.BlockSize, _count - start);
                checksum.Write(MemoryMarshal.AsBytes(s.Numbers[block].AsSpan(0, nodes)));
                checksum.Write(s.Levels[block].AsSpan(0, nodes));
                checksum.Write(s.Flags[block].AsSpan(0, nodes));
            }
            var texts = s.Texts.Where(t => t.Key < _count).OrderBy(t => t.Key).ToList();
            w.Write(texts.Count);
            foreach (var (node, text) in texts)
            {
                w.Write(node);
                w.Write(text);
            }
            w.Flush();
            foreach (var records in s.RecordBytes(_count))
                checksum.Write(records.Span);
            for (int node = 0; node < _count; node++)
            {
                if (s.UpperLinks(node) is { } upper)
                    checksum.Write(MemoryMarshal.AsBytes(upper.AsSpan()));
            }
            if (s.Quantized)
            {
                // The originals, chunk by chunk in node order, as they sit in memory or in the mapped file.
                var store = s.Originals!.Store;
                for (int start = 0, chunk = 0; start < _count; start += store.ChunkNodes, chunk++)
                {
                    int nodes = Math.Min(store.ChunkNodes, _count - start);
                    checksum.Write(new ReadOnlySpan<byte>((byte*)s.Originals.Addresses[chunk], nodes * store.VectorBytes));
                }
            }
            IndexFile.EndWrite(w, checksum, stream);
        }
    }

    /// <summary>Writes the index to a file (replaced atomically: written aside, then moved into place).</summary>
    public void Save(string path)
    {
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            Save(file);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads an index written by <see cref="Save(Stream)"/>; either the whole index loads or nothing does.</summary>
    /// <param name="stream">The source.</param>
    /// <param name="custom">The distance function, required when the index was built with a custom distance.</param>
    /// <exception cref="InvalidDataException">The data is not an index, is truncated or damaged.</exception>
    public static HnswIndex Load(Stream stream, DistanceFunction? custom = null)
    {
        long available = stream.CanSeek ? stream.Length - stream.Position : long.MaxValue;
        var (r, checksum) = IndexFile.BeginRead(stream, Magic, OldestFileVersion, FileVersion, FileKind, out int version);
        var index = IndexFile.Guard(() => ReadBody(r, checksum, custom, available, version), FileKind);
        IndexFile.EndRead(checksum, stream, FileKind);
        return index;
    }

    /// <summary>Reads an index from a file.</summary>
    public static HnswIndex Load(string path, DistanceFunction? custom = null)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Load(file, custom);
    }

    private static void WriteQuantization(BinaryWriter w, ScalarQuantization? quantization, float[]? center)
    {
        w.Write(quantization is not null);
        if (quantization is null) return;
        w.Write(quantization.Quantile);
        w.Write(quantization.Oversampling);
        w.Write(quantization.OriginalsInRam);
        w.Write(quantization.TrainingPoints);
        w.Write(center is not null);
        if (center is not null)
            foreach (float c in center) w.Write(c);
    }

    private static HnswIndex ReadBody(BinaryReader r, ChecksumStream checksum, DistanceFunction? custom, long available, int version)
    {
        // Messages are only formatted on failure: these checks run once per node and per link.
        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        static void Fail(string problem) => throw new InvalidDataException($"The {FileKind} file is damaged: {problem}.");
        int dimension = r.ReadInt32();
        var metric = (DistanceMetric)r.ReadInt32();
        if (!(dimension is >= 1 and <= 65536)) Fail($"dimension {dimension} is out of range");
        if (!Enum.IsDefined(metric)) Fail($"unknown metric {(int)metric}");
        var options = new HnswOptions
        {
            M = r.ReadInt32(),
            EfConstruction = r.ReadInt32(),
            EfSearch = r.ReadInt32(),
            Seed = r.ReadInt32(),
            FilteredScanSelectivity = r.ReadDouble(),
        };
        float[]? center = null;
        if (version >= 3 && r.ReadBoolean())
        {
            options = options with
            {
                Quantization = new ScalarQuantization
                {
                    Quantile = r.ReadDouble(),
                    Oversampling = r.ReadDouble(),
                    OriginalsInRam = r.ReadBoolean(),
                    TrainingPoints = r.ReadInt32(),
                },
            };
            if (r.ReadBoolean())
            {
                center = new float[dimension];
                for (int i = 0; i < dimension; i++)
                {
                    center[i] = r.ReadSingle();
                    if (!float.IsFinite(center[i])) Fail("the code centre is not finite");
                }
            }
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The {FileKind} file is damaged: {e.Message}", e);
        }
        if (metric == DistanceMetric.Custom && custom is null)
            throw new InvalidDataException("The index was built with a custom distance; pass the same DistanceFunction to Load.");
        var index = metric == DistanceMetric.Custom ? new HnswIndex(dimension, custom!, options) : new HnswIndex(dimension, metric, options);
        int count = r.ReadInt32();
        int live = r.ReadInt32();
        long entry = r.ReadInt64();
        ulong rng = r.ReadUInt64();
        if (!(count >= 0 && live >= 0 && live <= count)) Fail($"node counts {count}/{live} are inconsistent");
        // A damaged count must fail as damage, not as an attempt to allocate terabytes.
        if ((long)count * index._storage.Stride > available) Fail($"it claims {count} nodes, more than its length can hold");
        if (!(entry == -1 || ((int)entry >= 0 && (int)entry < count))) Fail("the entry point is out of range");

        if (center is not null) index._storage = index._storage.WithCenter(center);
        var s = index._storage.Grow(Math.Max(count, 1));
        for (int start = 0, block = 0; start < count; start += s.BlockSize, block++)
        {
            int nodes = Math.Min(s.BlockSize, count - start);
            checksum.ReadExactly(MemoryMarshal.AsBytes(s.Numbers[block].AsSpan(0, nodes)));
            checksum.ReadExactly(s.Levels[block].AsSpan(0, nodes));
            checksum.ReadExactly(s.Flags[block].AsSpan(0, nodes));
        }
        int textCount = r.ReadInt32();
        if (!(textCount >= 0 && textCount <= count)) Fail($"it claims {textCount} string ids");
        for (int i = 0; i < textCount; i++)
        {
            int node = r.ReadInt32();
            string text = r.ReadString();
            if (!(node >= 0 && node < count && text.Length > 0 && s.Texts.TryAdd(node, text))) Fail($"string id entry {i} is invalid");
        }
        int deletedCount = 0, unlinked = 0, firstUnlinked = count;
        for (int node = 0; node < count; node++)
        {
            byte flags = s.Flags[node >> s.BlockShift][node & s.BlockMask];
            byte known = version >= 4 ? (byte)(HnswStorage.DeletedFlag | HnswStorage.TextFlag | HnswStorage.UnlinkedFlag) : (byte)(HnswStorage.DeletedFlag | HnswStorage.TextFlag);
            if (!((flags & ~known) == 0)) Fail($"node {node} has unknown flags {flags}");
            if (!(((flags & HnswStorage.TextFlag) != 0) == s.Texts.ContainsKey(node))) Fail($"node {node} has an inconsistent string id");
            if (s.Level(node) > 30) Fail($"node {node} has level {s.Level(node)}");
            if ((flags & HnswStorage.DeletedFlag) != 0)
            {
                if ((flags & HnswStorage.UnlinkedFlag) != 0) Fail($"deleted node {node} is flagged unlinked");
                deletedCount++;
                continue;
            }
            if ((flags & HnswStorage.UnlinkedFlag) != 0)
            {
                if (unlinked++ == 0) firstUnlinked = node;
            }
            var id = s.Label(node);
            if (index._ids.TryGet(id, s, out _)) Fail($"point id {id} appears twice");
            index._ids.Add(id, node, s);
        }
        if (count - deletedCount != live) Fail("the live count does not match the tombstones");
        foreach (var records in s.RecordBytes(count))
            checksum.ReadExactly(records.Span);
        for (int node = 0; node < count; node++)
        {
            int level = s.Level(node);
            if (level == 0) continue;
            var upper = new int[level * (options.M + 1)];
            checksum.ReadExactly(MemoryMarshal.AsBytes(upper.AsSpan()));
            s.SetUpperLinks(node, upper);
        }
        if (s.Quantized)
        {
            var store = s.Originals!.Store;
            for (int start = 0, chunk = 0; start < count; start += store.ChunkNodes, chunk++)
            {
                int nodes = Math.Min(store.ChunkNodes, count - start);
                checksum.ReadExactly(new Span<byte>((byte*)s.Originals.Addresses[chunk], nodes * store.VectorBytes));
            }
        }
        // The search loop trusts link ids with raw pointers: every one is checked before the index is handed out.
        for (int node = 0; node < count; node++)
        {
            for (int layer = 0; layer <= s.Level(node); layer++)
            {
                var list = s.LinkList(node, layer);
                int links = list[0];
                if (!(links >= 0 && links <= s.MaxLinks(layer))) Fail($"node {node} has {links} links on layer {layer}");
                for (int i = 1; i <= links; i++)
                {
                    int target = list[i];
                    if (!(target >= 0 && target < count && s.Level(target) >= layer)) Fail($"node {node} links to invalid node {target} on layer {layer}");
                }
            }
        }
        if (entry >= 0 && (s.Level((int)entry) != (int)(entry >> 32) || s.IsDeleted((int)entry)))
            Fail("the entry point does not match its node");
        if (entry < 0 && live != unlinked)
            Fail("a non-empty index has no entry point");
        index._storage = s;
        index._count = count;
        index._live = live;
        index._entry = entry;
        index._rng = rng;
        index._unlinked = unlinked;
        index._linkedBelow = firstUnlinked;
        return index;
    }
}
