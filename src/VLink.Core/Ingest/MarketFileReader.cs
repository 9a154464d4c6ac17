using System.Runtime.CompilerServices;

namespace VLink.Core.Ingest;

/// <summary>
/// Streams the rows of one market file (CSV or NDJSON) as <typeparamref name="T"/>, a line at a time: the file is
/// never held in memory. Every non-blank line after the header is a row; a row that cannot be used is rejected
/// with its line number and reason (<see cref="Errors"/>, <see cref="Summary"/>), never silently dropped.
/// Blank lines are not rows. Rows come out in file order; one reader is for one consumer.
/// </summary>
/// <typeparam name="T"><see cref="Tick"/> or <see cref="Bar"/>.</typeparam>
public abstract class MarketFileReader<T> : IDisposable where T : struct
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly Utf8LineReader _lines;
    private readonly List<RowError> _errors = [];
    private readonly Dictionary<RowErrorKind, long> _byKind = [];
    private long _rowsRead;
    private long _accepted;
    private long _rejected;
    private long _unnamedWatermark = long.MinValue;
    private readonly Dictionary<string, long> _marketWatermarks = new(StringComparer.Ordinal);

    /// <summary>Starts reading <paramref name="stream"/>.</summary>
    private protected MarketFileReader(Stream stream, string source, MarketFileFormat format, MarketFileOptions? options, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Options = options ?? new MarketFileOptions();
        Options.Validate();
        _stream = stream;
        _leaveOpen = leaveOpen;
        _lines = new Utf8LineReader(stream);
        Source = source ?? "";
        Format = format;
    }

    /// <summary>The file or feed name used in errors.</summary>
    public string Source { get; }

    /// <summary>The line format.</summary>
    public MarketFileFormat Format { get; }

    /// <summary>The reading options.</summary>
    public MarketFileOptions Options { get; }

    /// <summary>The latest row time accepted so far in any market (UTC ticks), or <see cref="long.MinValue"/> before the first.</summary>
    public long Watermark { get; private set; } = long.MinValue;

    /// <summary>
    /// The market of the row last returned, when the source names one per row (a <c>market</c>, <c>symbol</c>,
    /// <c>ticker</c> or <c>instrument</c> field); null for single-market sources. The same name is the same string
    /// instance. Time order is checked per market.
    /// </summary>
    public string? LastRowMarket { get; private set; }

    /// <summary>The latest row time accepted for <paramref name="market"/> (null: rows without a market).</summary>
    public long WatermarkOf(string? market) =>
        market is null ? _unnamedWatermark : _marketWatermarks.TryGetValue(market, out long w) ? w : long.MinValue;

    /// <summary>
    /// The 1-based line number of the row last returned: with <see cref="Source"/>, a sequence number for
    /// <see cref="IngestWatermarks"/> (rows of one file come out in increasing line order).
    /// </summary>
    public long LastRowLine { get; private set; }

    /// <summary>The first rejected rows (up to <see cref="MarketFileOptions.MaxErrorsKept"/>), in file order.</summary>
    public IReadOnlyList<RowError> Errors => _errors;

    /// <summary>Counts so far: rows read, accepted, rejected by reason.</summary>
    public IngestSummary Summary =>
        new(Source, _rowsRead, _accepted, _rejected, new Dictionary<RowErrorKind, long>(_byKind), _errors.ToArray(), _rejected > _errors.Count);

    /// <summary>Reads the next accepted row; false at the end of the file. Rejected rows are recorded and skipped.</summary>
    public bool TryRead(out T row)
    {
        while (true)
        {
            if (_lines.TryTakeLine(out var line))
            {
                if (Take(line, out row)) return true;
                continue;
            }
            if (!_lines.Fill() && _lines.Done)
            {
                row = default;
                return false;
            }
        }
    }

    /// <summary>Reads the next accepted row asynchronously; null at the end of the file.</summary>
    public async ValueTask<T?> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryTakeBuffered(out T row)) return row;
            if (!await _lines.FillAsync(cancellationToken).ConfigureAwait(false) && _lines.Done) return null;
        }
    }

    /// <summary>All remaining accepted rows, read as they are enumerated.</summary>
    public IEnumerable<T> ReadAll()
    {
        while (TryRead(out T row)) yield return row;
    }

    /// <summary>All remaining accepted rows, read asynchronously as they are enumerated.</summary>
    public async IAsyncEnumerable<T> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is T row) yield return row;
    }

    /// <summary>Reads up to <paramref name="rows"/>.Length accepted rows into the span; returns how many (0 at the end).</summary>
    public int Read(Span<T> rows)
    {
        int n = 0;
        while (n < rows.Length && TryRead(out rows[n])) n++;
        return n;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
        GC.SuppressFinalize(this);
    }

    private bool TryTakeBuffered(out T row)
    {
        while (_lines.TryTakeLine(out var line))
            if (Take(line, out row)) return true;
        row = default;
        return false;
    }

    private bool Take(ReadOnlySpan<byte> line, out T row)
    {
        row = default;
        if (IsBlank(line)) return false;
        long lineNumber = _lines.LineNumber;
        if (ConsumeHeader(line, lineNumber)) return false;
        _rowsRead++;
        if (!TryParseRow(line, out row, out string? market, out RowErrorKind kind, out string? detail))
        {
            Reject(lineNumber, kind, detail ?? kind.ToString());
            return false;
        }
        long time = TimeOf(row);
        long watermark = WatermarkOf(market);
        if (!InOrder(time, watermark, out detail))
        {
            Reject(lineNumber, RowErrorKind.TimeBackwards, market is null ? detail! : $"{market}: {detail}");
            return false;
        }
        if (time > watermark)
        {
            if (market is null) _unnamedWatermark = time;
            else _marketWatermarks[market] = time;
        }
        if (time > Watermark) Watermark = time;
        LastRowMarket = market;
        _accepted++;
        LastRowLine = lineNumber;
        return true;
    }

    private void Reject(long line, RowErrorKind kind, string detail)
    {
        _rejected++;
        _byKind[kind] = _byKind.TryGetValue(kind, out long n) ? n + 1 : 1;
        if (_errors.Count < Options.MaxErrorsKept) _errors.Add(new RowError(Source, line, kind, detail));
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
        return true;
    }

    /// <summary>Formats a UTC tick count for error messages.</summary>
    private protected static string Show(long ticks) => new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF").TrimEnd('.');

    /// <summary>Handles a header line (CSV: the first non-blank line); true when the line was the header.</summary>
    private protected abstract bool ConsumeHeader(ReadOnlySpan<byte> line, long lineNumber);

    /// <summary>Parses one data row and its market (null when none); false with a reason and a detail naming the field when it cannot be used.</summary>
    private protected abstract bool TryParseRow(ReadOnlySpan<byte> line, out T row, out string? market, out RowErrorKind kind, out string? detail);

    /// <summary>The row's time (a tick's time, a bar's start).</summary>
    private protected abstract long TimeOf(in T row);

    /// <summary>Checks a parsed row's time against its market's watermark and the policy.</summary>
    private protected abstract bool InOrder(long time, long watermark, out string? detail);
}
