using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace VLink.Core.Serialization;

/// <summary>
/// A pass-through stream that keeps a CRC-32C of every byte read or written (hardware CRC where the CPU
/// has it, 8 bytes a step), so checking a file costs about what reading it does.
/// </summary>
internal sealed class ChecksumStream(Stream inner, bool reading) : Stream
{
    private uint _crc = uint.MaxValue;

    public uint Checksum => ~_crc;

    public override bool CanRead => reading;
    public override bool CanSeek => false;
    public override bool CanWrite => !reading;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        Update(buffer[..n]);
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Update(buffer);
        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private void Update(ReadOnlySpan<byte> bytes)
    {
        uint crc = _crc;
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (ulong w in words) crc = BitOperations.Crc32C(crc, w);
        for (int i = words.Length * 8; i < bytes.Length; i++) crc = BitOperations.Crc32C(crc, bytes[i]);
        _crc = crc;
    }
}

/// <summary>
/// The common frame of VLink's binary index files: magic, version, body, then a CRC-32C of everything
/// before it and an end marker. A damaged or truncated file fails with <see cref="InvalidDataException"/>.
/// </summary>
internal static class IndexFile
{
    private static ReadOnlySpan<byte> EndMarker => "VLNKEND1"u8;

    public static (BinaryWriter Writer, ChecksumStream Checksum) BeginWrite(Stream stream, ReadOnlySpan<byte> magic, int version)
    {
        var checksum = new ChecksumStream(stream, reading: false);
        var writer = new BinaryWriter(checksum, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(magic);
        writer.Write(version);
        return (writer, checksum);
    }

    public static void EndWrite(BinaryWriter writer, ChecksumStream checksum, Stream stream)
    {
        writer.Flush();
        Span<byte> footer = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, checksum.Checksum);
        EndMarker.CopyTo(footer[4..]);
        stream.Write(footer);
        stream.Flush();
        writer.Dispose();
    }

    public static (BinaryReader Reader, ChecksumStream Checksum) BeginRead(Stream stream, ReadOnlySpan<byte> magic, int version, string kind) =>
        BeginRead(stream, magic, version, version, kind, out _);

    /// <summary>Opens a file of any version in [<paramref name="oldest"/>, <paramref name="newest"/>]; the one found is returned.</summary>
    public static (BinaryReader Reader, ChecksumStream Checksum) BeginRead(Stream stream, ReadOnlySpan<byte> magic, int oldest, int newest,
        string kind, out int version)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var checksum = new ChecksumStream(stream, reading: true);
        var reader = new BinaryReader(checksum, System.Text.Encoding.UTF8, leaveOpen: true);
        var found = new byte[magic.Length];
        Guard(() => checksum.ReadExactly(found), kind);
        if (!found.AsSpan().SequenceEqual(magic))
            throw new InvalidDataException($"Not a VLink {kind} file: the magic bytes are wrong.");
        int foundVersion = Guard(reader.ReadInt32, kind);
        if (foundVersion < oldest || foundVersion > newest)
            throw new InvalidDataException(oldest == newest
                ? $"Unsupported {kind} file version {foundVersion}; this build reads version {newest}."
                : $"Unsupported {kind} file version {foundVersion}; this build reads versions {oldest} to {newest}.");
        version = foundVersion;
        return (reader, checksum);
    }

    public static void EndRead(ChecksumStream checksum, Stream stream, string kind)
    {
        uint computed = checksum.Checksum;
        Span<byte> footer = stackalloc byte[12];
        try
        {
            stream.ReadExactly(footer);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"The {kind} file is truncated: its checksum footer is missing.");
        }
        if (!footer[4..].SequenceEqual(EndMarker))
            throw new InvalidDataException($"The {kind} file is damaged: its end marker is wrong.");
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(footer);
        if (stored != computed)
            throw new InvalidDataException($"The {kind} file is damaged: checksum {computed:x8} does not match the stored {stored:x8}.");
    }

    /// <summary>Runs a read and turns an early end of stream into a clear "truncated" error.</summary>
    public static T Guard<T>(Func<T> read, string kind)
    {
        try
        {
            return read();
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"The {kind} file is truncated.");
        }
    }

    public static void Guard(Action read, string kind) => Guard(() => { read(); return 0; }, kind);

    public static void Require(bool condition, string kind, string problem)
    {
        if (!condition) throw new InvalidDataException($"The {kind} file is damaged: {problem}.");
    }

    public static void WriteId(BinaryWriter writer, Indexing.PointId id)
    {
        if (id.Text is { } text)
        {
            writer.Write((byte)1);
            writer.Write(text);
        }
        else
        {
            writer.Write((byte)0);
            writer.Write(id.Number);
        }
    }

    public static Indexing.PointId ReadId(BinaryReader reader, string kind)
    {
        byte tag = reader.ReadByte();
        return tag switch
        {
            0 => new Indexing.PointId(reader.ReadUInt64()),
            1 => ReadText(reader, kind),
            _ => throw new InvalidDataException($"The {kind} file is damaged: unknown point id tag {tag}."),
        };
    }

    private static Indexing.PointId ReadText(BinaryReader reader, string kind)
    {
        string text = reader.ReadString();
        Require(text.Length > 0, kind, "an empty string point id");
        return new Indexing.PointId(text);
    }
}
