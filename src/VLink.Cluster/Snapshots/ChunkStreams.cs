namespace VLink.Cluster.Snapshots;

/// <summary>
/// A write-only stream that keeps what is written as a list of fixed-size chunks: a snapshot of any size is written
/// without one large array (and without the copies of a growing <see cref="MemoryStream"/>). Writing may be cancelled.
/// </summary>
public sealed class ChunkWriter(int chunkBytes = SnapshotChunkStore.ChunkBytes, CancellationToken cancellation = default) : Stream
{
    private readonly List<byte[]> _chunks = [];
    private readonly int _chunkBytes = chunkBytes;
    private int _used = chunkBytes;
    private long _length;

    /// <summary>The chunks written, the last one cut to its length.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Chunks =>
        [.. _chunks.Select((c, i) => i < _chunks.Count - 1 ? c.AsMemory() : c.AsMemory(0, _used))];

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        cancellation.ThrowIfCancellationRequested();
        while (buffer.Length > 0)
        {
            if (_used == _chunkBytes)
            {
                _chunks.Add(GC.AllocateUninitializedArray<byte>(_chunkBytes));
                _used = 0;
            }
            int n = Math.Min(buffer.Length, _chunkBytes - _used);
            buffer[..n].CopyTo(_chunks[^1].AsSpan(_used));
            _used += n;
            _length += n;
            buffer = buffer[n..];
        }
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => _length;

    /// <inheritdoc />
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// A read-only stream over the chunks of one stored snapshot, fetched one at a time as reading reaches them, so
/// recovery holds one chunk beside what it builds. It checks the chunks add up to the length the manifest gives.
/// </summary>
public sealed class ChunkReader(Func<int, byte[]> chunk, int count, long length) : Stream
{
    private byte[] _current = [];
    private int _next;
    private int _offset;
    private long _position;

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            if (_offset == _current.Length)
            {
                if (_next == count) break;
                _current = chunk(_next++);
                _offset = 0;
                if (_position + read + _current.Length > length)
                    throw new InvalidDataException($"The snapshot's chunks hold more than the {length} bytes its manifest gives.");
                continue;
            }
            int n = Math.Min(buffer.Length - read, _current.Length - _offset);
            _current.AsSpan(_offset, n).CopyTo(buffer[read..]);
            _offset += n;
            read += n;
        }
        _position += read;
        if (read == 0 && buffer.Length > 0 && _position != length)
            throw new InvalidDataException($"The snapshot's {count} chunks hold {_position} bytes; its manifest gives {length}.");
        return read;
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => length;

    /// <inheritdoc />
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
