using System.Runtime.InteropServices;
using VLink.Core.Indexing;
using VLink.Core.Serialization;
using VLink.Core.Vectors;

namespace VLink.Core.Hnsw;

public sealed unsafe partial class HnswIndex
{
    private const int FileVersion = 1;
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
            w.Write(_count);
            w.Write(_live);
            w.Write(_entry);
            w.Write(_rng);
            for (int node = 0; node < _count; node++)
            {
                IndexFile.WriteId(w, s.Label(node));
                w.Write(s.Level(node));
                w.Write(s.IsDeleted(node));
            }
            w.Flush();
            foreach (var records in s.RecordBytes(_count))
                checksum.Write(records.Span);
            for (int node = 0; node < _count; node++)
            {
                if (s.UpperLinks(node) is { } upper)
                    checksum.Write(MemoryMarshal.AsBytes(upper.AsSpan()));
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
        var (r, checksum) = IndexFile.BeginRead(stream, Magic, FileVersion, FileKind);
        var index = IndexFile.Guard(() => ReadBody(r, checksum, custom, available), FileKind);
        IndexFile.EndRead(checksum, stream, FileKind);
        return index;
    }

    /// <summary>Reads an index from a file.</summary>
    public static HnswIndex Load(string path, DistanceFunction? custom = null)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Load(file, custom);
    }

    private static HnswIndex ReadBody(BinaryReader r, ChecksumStream checksum, DistanceFunction? custom, long available)
    {
        static void Require(bool ok, string problem) => IndexFile.Require(ok, FileKind, problem);
        int dimension = r.ReadInt32();
        var metric = (DistanceMetric)r.ReadInt32();
        Require(dimension is >= 1 and <= 65536, $"dimension {dimension} is out of range");
        Require(Enum.IsDefined(metric), $"unknown metric {(int)metric}");
        var options = new HnswOptions
        {
            M = r.ReadInt32(),
            EfConstruction = r.ReadInt32(),
            EfSearch = r.ReadInt32(),
            Seed = r.ReadInt32(),
            FilteredScanSelectivity = r.ReadDouble(),
        };
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
        Require(count >= 0 && live >= 0 && live <= count, $"node counts {count}/{live} are inconsistent");
        // A damaged count must fail as damage, not as an attempt to allocate terabytes.
        Require((long)count * index._storage.Stride <= available, $"it claims {count} nodes, more than its length can hold");
        Require(entry == -1 || ((int)entry >= 0 && (int)entry < count), "the entry point is out of range");

        var s = index._storage.Grow(Math.Max(count, 1));
        int deletedCount = 0;
        for (int node = 0; node < count; node++)
        {
            var id = IndexFile.ReadId(r, FileKind);
            byte level = r.ReadByte();
            bool deleted = r.ReadBoolean();
            Require(level <= 30, $"node {node} has level {level}");
            s.SetLabel(node, id);
            s.Level(node) = level;
            s.SetDeleted(node, deleted);
            if (deleted)
            {
                deletedCount++;
                continue;
            }
            Require(!index._ids.TryGet(id, s, out _), $"point id {id} appears twice");
            index._ids.Add(id, node, s);
        }
        Require(count - deletedCount == live, "the live count does not match the tombstones");
        foreach (var records in s.RecordBytes(count))
            checksum.ReadExactly(records.Span);
        for (int node = 0; node < count; node++)
        {
            int level = s.Level(node);
            if (level == 0) continue;
            var upper = new int[level * (options.M + 1)];
            checksum.ReadExactly(MemoryMarshal.AsBytes(upper.AsSpan()));
            s.UpperLinks(node) = upper;
        }
        // The search loop trusts link ids with raw pointers: every one is checked before the index is handed out.
        for (int node = 0; node < count; node++)
        {
            for (int layer = 0; layer <= s.Level(node); layer++)
            {
                var list = s.LinkList(node, layer);
                int links = list[0];
                Require(links >= 0 && links <= s.MaxLinks(layer), $"node {node} has {links} links on layer {layer}");
                for (int i = 1; i <= links; i++)
                {
                    int target = list[i];
                    Require(target >= 0 && target < count && s.Level(target) >= layer, $"node {node} links to invalid node {target} on layer {layer}");
                }
            }
        }
        if (entry >= 0)
            Require(s.Level((int)entry) == (int)(entry >> 32) && !s.IsDeleted((int)entry), "the entry point does not match its node");
        else
            Require(live == 0, "a non-empty index has no entry point");
        index._storage = s;
        index._count = count;
        index._live = live;
        index._entry = entry;
        index._rng = rng;
        return index;
    }
}
