using System.Text;

namespace VLink.Core.Ingest;

/// <summary>
/// Reads ticks from a CSV or NDJSON file. Fields are found by name (case-insensitive):
/// time = <c>time|timestamp|datetime|date|xdate|t|ts</c>; price = <c>price|last|close|mid</c> (or
/// <see cref="MarketFileOptions.PriceColumn"/>), else the mid of <c>bid</c> and <c>ask</c>; size =
/// <c>size|volume|qty|quantity</c> (optional); market = <c>market|symbol|ticker|instrument</c> (optional, see
/// <see cref="MarketFileReader{T}.LastRowMarket"/>). Other fields are ignored. Ticks behind their market's latest
/// accepted time by more than the <see cref="OutOfOrderPolicy"/> allows are rejected as <see cref="RowErrorKind.TimeBackwards"/>.
/// </summary>
public sealed class TickReader : MarketFileReader<Tick>
{
    private readonly MarketRowParser _parser;

    /// <summary>Reads ticks from <paramref name="stream"/> (UTF-8).</summary>
    /// <param name="stream">The file or feed.</param>
    /// <param name="format">CSV or NDJSON.</param>
    /// <param name="source">The name errors carry (a file name).</param>
    /// <param name="options">Reading options; defaults when null.</param>
    /// <param name="leaveOpen">True to leave the stream open when the reader is disposed.</param>
    public TickReader(Stream stream, MarketFileFormat format = MarketFileFormat.Csv, string source = "", MarketFileOptions? options = null, bool leaveOpen = false)
        : base(stream, source, format, options, leaveOpen) =>
        _parser = new MarketRowParser(bars: false, format, Options, Source);

    /// <summary>Opens a file for reading (format from its extension, errors named by its file name).</summary>
    public static TickReader Open(string path, MarketFileOptions? options = null) =>
        new(MarketRowParser.OpenFile(path), MarketFileOptions.FormatOf(path), Path.GetFileName(path), options);

    private protected override bool ConsumeHeader(ReadOnlySpan<byte> line, long lineNumber) => _parser.ConsumeHeader(line);

    private protected override bool TryParseRow(ReadOnlySpan<byte> line, out Tick row, out string? market, out RowErrorKind kind, out string? detail)
    {
        row = default;
        market = null;
        Span<Range> fields = stackalloc Range[RowLayout.RoleCount];
        return _parser.TrySplit(line, fields, out kind, out detail)
            && _parser.Layout.TryMarket(line, fields, out market, out kind, out detail)
            && _parser.Layout.TryBuildTick(line, fields, out row, out kind, out detail);
    }

    private protected override long TimeOf(in Tick row) => row.Time;

    private protected override bool InOrder(long time, long watermark, out string? detail)
    {
        detail = null;
        if (Options.OutOfOrder.Accepts(time, watermark)) return true;
        detail = $"{Show(time)} is behind the latest accepted time {Show(watermark)} by more than the tolerance ({Options.OutOfOrder.Tolerance})";
        return false;
    }
}

/// <summary>
/// Reads bars from a CSV or NDJSON file: time = <c>time|timestamp|datetime|date|xdate|t|ts|start</c> (the bar's
/// start), <c>open</c>, <c>high</c>, <c>low</c>, <c>close</c>, <c>volume</c> (optional); <c>adjclose</c> is ignored.
/// A file without all four of open/high/low/close is a close-only series: the price column is
/// <see cref="MarketFileOptions.PriceColumn"/>, else <c>close|price|last</c>, else the only column besides the time
/// (<c>"time","USDCHF"</c>); with several (<c>"date","gold","silver"</c>) one must be chosen by name. A bar ends
/// <see cref="MarketFileOptions.BarInterval"/> after its start. Each bar must start after the previous one.
/// </summary>
public sealed class BarReader : MarketFileReader<Bar>
{
    private readonly MarketRowParser _parser;

    /// <summary>Reads bars from <paramref name="stream"/> (UTF-8).</summary>
    /// <param name="stream">The file or feed.</param>
    /// <param name="format">CSV or NDJSON.</param>
    /// <param name="source">The name errors carry (a file name).</param>
    /// <param name="options">Reading options; defaults when null.</param>
    /// <param name="leaveOpen">True to leave the stream open when the reader is disposed.</param>
    public BarReader(Stream stream, MarketFileFormat format = MarketFileFormat.Csv, string source = "", MarketFileOptions? options = null, bool leaveOpen = false)
        : base(stream, source, format, options, leaveOpen) =>
        _parser = new MarketRowParser(bars: true, format, Options, Source);

    /// <summary>Opens a file for reading (format from its extension, errors named by its file name).</summary>
    public static BarReader Open(string path, MarketFileOptions? options = null) =>
        new(MarketRowParser.OpenFile(path), MarketFileOptions.FormatOf(path), Path.GetFileName(path), options);

    /// <summary>True once the header showed a close-only series (bars with open = high = low = close).</summary>
    public bool CloseOnly => _parser.Layout.CloseOnly;

    private protected override bool ConsumeHeader(ReadOnlySpan<byte> line, long lineNumber) => _parser.ConsumeHeader(line);

    private protected override bool TryParseRow(ReadOnlySpan<byte> line, out Bar row, out string? market, out RowErrorKind kind, out string? detail)
    {
        row = default;
        market = null;
        Span<Range> fields = stackalloc Range[RowLayout.RoleCount];
        return _parser.TrySplit(line, fields, out kind, out detail)
            && _parser.Layout.TryMarket(line, fields, out market, out kind, out detail)
            && _parser.Layout.TryBuildBar(line, fields, Options.BarInterval.Ticks, out row, out kind, out detail);
    }

    private protected override long TimeOf(in Bar row) => row.Start;

    private protected override bool InOrder(long time, long watermark, out string? detail)
    {
        detail = null;
        if (watermark == long.MinValue || time > watermark) return true;
        detail = $"the bar at {Show(time)} does not start after the previous bar ({Show(watermark)})";
        return false;
    }
}

/// <summary>The format-specific half of the readers: the CSV header and field splitting, or NDJSON objects.</summary>
internal sealed class MarketRowParser
{
    private readonly bool _bars;
    private readonly MarketFileFormat _format;
    private readonly MarketFileOptions _options;
    private readonly string _source;
    private Range[] _columns = [];
    private byte _delimiter = (byte)',';

    public MarketRowParser(bool bars, MarketFileFormat format, MarketFileOptions options, string source)
    {
        _bars = bars;
        _format = format;
        _options = options;
        _source = source;
        if (format == MarketFileFormat.Ndjson) Layout = RowLayout.ForJson(bars, options.PriceColumn);
    }

    public RowLayout Layout { get; private set; } = null!;

    public static Stream OpenFile(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    public bool ConsumeHeader(ReadOnlySpan<byte> line)
    {
        if (Layout is not null) return false;
        _delimiter = CsvFields.DetectDelimiter(line);
        Span<Range> ranges = stackalloc Range[256];
        int n = CsvFields.Split(line, _delimiter, ranges);
        if (n < 0) throw new InvalidDataException($"{_source}: the header line has an unclosed quote.");
        var names = new string[n];
        for (int i = 0; i < n; i++) names[i] = Encoding.UTF8.GetString(line[ranges[i]]).Replace("\"\"", "\"");
        Layout = RowLayout.ForCsvHeader(names, _bars, _options.PriceColumn, _source);
        _columns = new Range[n + 1];
        return true;
    }

    public bool TrySplit(ReadOnlySpan<byte> line, Span<Range> fields, out RowErrorKind kind, out string? detail)
    {
        kind = RowErrorKind.Malformed;
        if (_format == MarketFileFormat.Ndjson) return Layout.TrySplitJson(line, fields, out detail);
        int n = CsvFields.Split(line, _delimiter, _columns);
        if (n < 0)
        {
            detail = "unclosed quote";
            return false;
        }
        for (int r = 0; r < RowLayout.RoleCount; r++)
        {
            int c = Layout.Columns[r];
            if (c >= n)
            {
                kind = RowErrorKind.MissingField;
                detail = $"the row has {n} of {Layout.ColumnCount} columns: no '{Layout.Names[r]}'";
                return false;
            }
        }
        Layout.MapCsv(_columns, n, fields);
        detail = null;
        return true;
    }
}
