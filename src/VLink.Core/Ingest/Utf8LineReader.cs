namespace VLink.Core.Ingest;

/// <summary>
/// Splits a UTF-8 stream into lines without decoding them: a buffer that refills from the stream and hands out
/// each line as a span of it. A UTF-8 byte-order mark at the start is skipped, CR before LF is trimmed, and a last
/// line without a newline is still returned. Memory is bounded by the longest line, never the file.
/// </summary>
internal sealed class Utf8LineReader
{
    internal const int MaxLineBytes = 1 << 20;

    private readonly Stream _stream;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;   // first byte not yet handed out
    private int _end;     // end of valid data
    private int _scanned; // bytes from _start already searched for a newline
    private bool _eof;
    private bool _bomChecked;

    public Utf8LineReader(Stream stream) => _stream = stream;

    /// <summary>1-based number of the line last handed out.</summary>
    public long LineNumber { get; private set; }

    /// <summary>Takes the next complete line from the buffer; false when the buffer needs filling (or the stream is done).</summary>
    public bool TryTakeLine(out ReadOnlySpan<byte> line)
    {
        if (!_bomChecked)
        {
            if (_end - _start < 3 && !_eof) { line = default; return false; }
            _bomChecked = true;
            if (_end - _start >= 3 && _buffer[_start] == 0xEF && _buffer[_start + 1] == 0xBB && _buffer[_start + 2] == 0xBF) _start += 3;
        }
        var pending = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned);
        int nl = pending.IndexOf((byte)'\n');
        int length;
        if (nl >= 0)
        {
            length = _scanned + nl;
            line = _buffer.AsSpan(_start, length);
            _start += length + 1;
        }
        else if (_eof && _end > _start)
        {
            length = _end - _start;
            line = _buffer.AsSpan(_start, length);
            _start = _end;
        }
        else
        {
            _scanned = _end - _start;
            line = default;
            return false;
        }
        _scanned = 0;
        if (!line.IsEmpty && line[^1] == '\r') line = line[..^1];
        LineNumber++;
        return true;
    }

    /// <summary>True once the stream is exhausted and every line has been handed out.</summary>
    public bool Done => _eof && _start >= _end;

    /// <summary>Reads more bytes from the stream; false at the end of the stream.</summary>
    public bool Fill()
    {
        if (_eof) return false;
        Prepare();
        int n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        return Received(n);
    }

    /// <summary>Reads more bytes from the stream asynchronously; false at the end of the stream.</summary>
    public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_eof) return false;
        Prepare();
        int n = await _stream.ReadAsync(_buffer.AsMemory(_end, _buffer.Length - _end), cancellationToken).ConfigureAwait(false);
        return Received(n);
    }

    private void Prepare()
    {
        int live = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, live);
            _start = 0;
            _end = live;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineBytes)
                throw new InvalidDataException($"Line {LineNumber + 1} is longer than {MaxLineBytes} bytes; this is not a line-oriented market file.");
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
    }

    private bool Received(int n)
    {
        if (n <= 0)
        {
            _eof = true;
            return false;
        }
        _end += n;
        return true;
    }
}
