using System.Buffers.Binary;
using VLink.Cluster.Protocol;
using VLink.Cluster.Serialization;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

public sealed partial class PartitionState
{
    private static ReadOnlySpan<byte> SnapshotMagic => "VLNKPART"u8;
    private const int SnapshotStreamVersion = 1;

    /// <summary>
    /// Writes the whole state as one stream: a header (magic, version, then the spec, payloads, documents, market state,
    /// versions and tombstones as a <see cref="PartitionSnapshot"/> without index bytes) and the index in VLink's binary
    /// format. Reads the state without changing it, so it may run on another thread while the partition answers reads;
    /// nothing may write to the state meanwhile.
    /// </summary>
    public void WriteSnapshot(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = VLinkSerializer.Encode(new PartitionSnapshot(Spec, [], Index is HnswIndex, [.. _payloads], [.. _documents], Market?.ToBytes())
        {
            Versions = _versions.Live,
            Tombstones = _versions.Tombstones,
        });
        Span<byte> prefix = stackalloc byte[16];
        SnapshotMagic.CopyTo(prefix);
        BinaryPrimitives.WriteInt32LittleEndian(prefix[8..], SnapshotStreamVersion);
        BinaryPrimitives.WriteInt32LittleEndian(prefix[12..], header.Length);
        stream.Write(prefix);
        stream.Write(header);
        if (Index is HnswIndex hnsw) hnsw.Save(stream);
        else ((FlatIndex)Index).Save(stream);
    }

    /// <summary>Rebuilds a state from a stream written by <see cref="WriteSnapshot"/>.</summary>
    /// <exception cref="InvalidDataException">The stream is not a partition snapshot, or is truncated or damaged.</exception>
    public static PartitionState ReadSnapshot(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> prefix = stackalloc byte[16];
        stream.ReadExactly(prefix);
        if (!prefix[..8].SequenceEqual(SnapshotMagic))
            throw new InvalidDataException("The data is not a VLink partition snapshot.");
        int version = BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]);
        if (version != SnapshotStreamVersion)
            throw new InvalidDataException($"Partition snapshot version {version} is not supported (this node reads {SnapshotStreamVersion}).");
        int length = BinaryPrimitives.ReadInt32LittleEndian(prefix[12..]);
        if (length <= 0) throw new InvalidDataException($"The partition snapshot's header length {length} is not valid.");
        var header = new byte[length];
        stream.ReadExactly(header);
        PartitionSnapshot head;
        try
        {
            head = (PartitionSnapshot)VLinkSerializer.Decode(header, VLinkSerializer.ManifestOf<PartitionSnapshot>());
        }
        catch (System.Runtime.Serialization.SerializationException e)
        {
            throw new InvalidDataException($"The partition snapshot's header is damaged: {e.Message}", e);
        }
        IVectorIndex index = head.IsGraph ? HnswIndex.Load(stream) : FlatIndex.Load(stream);
        return FromParts(head, index);
    }
}
