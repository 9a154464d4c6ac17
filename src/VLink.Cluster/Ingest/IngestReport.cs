using System.Globalization;
using System.Text.Json;
using VLink.Cluster.Protocol;
using VLink.Core.Ingest;

namespace VLink.Cluster.Ingest;

/// <summary>What one market did during an ingest.</summary>
/// <param name="Accepted">Rows applied.</param>
/// <param name="Duplicates">Rows an earlier delivery had already applied.</param>
/// <param name="Rejected">Rows the market refused (beyond what the reader refused).</param>
/// <param name="Bars">Bars closed.</param>
/// <param name="Vectors">Regime vectors written.</param>
public sealed record MarketReport(long Accepted, long Duplicates, long Rejected, long Bars, long Vectors);

/// <summary>
/// Live counters of a running ingest, safe to read from another thread (a progress bar, a test): bytes and rows read
/// from the source, and rows acknowledged by the partitions.
/// </summary>
public sealed class IngestProgress
{
    private long _bytes;
    private long _rowsRead;
    private long _rowsDelivered;

    /// <summary>Bytes read from the source.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Accepted rows the reader has handed to the stream.</summary>
    public long RowsRead => Interlocked.Read(ref _rowsRead);

    /// <summary>Rows whose batch a partition acknowledged (applied, duplicate or refused).</summary>
    public long RowsDelivered => Interlocked.Read(ref _rowsDelivered);

    internal void AddBytes(long n) => Interlocked.Add(ref _bytes, n);

    internal void AddRead(long n) => Interlocked.Add(ref _rowsRead, n);

    internal void AddDelivered(long n) => Interlocked.Add(ref _rowsDelivered, n);
}

/// <summary>
/// The summary of an ingest: rows read, applied, duplicates and rejected (by the reader or by the market, counted by
/// reason, the first ones in detail with source and line), bars and vectors produced, per market and in total.
/// </summary>
public sealed class IngestReport
{
    private readonly Dictionary<RowErrorKind, long> _byKind = [];
    private readonly List<RowError> _errors = [];
    private readonly SortedDictionary<string, MarketReport> _markets = new(StringComparer.Ordinal);
    private readonly int _maxErrors;
    private bool _truncated;

    internal IngestReport(string source, string collection, int maxErrors)
    {
        Source = source;
        Collection = collection;
        _maxErrors = maxErrors;
    }

    /// <summary>The producer's name (the sequence numbers' namespace).</summary>
    public string Source { get; }

    /// <summary>The regime collection written.</summary>
    public string Collection { get; }

    /// <summary>Data rows read (accepted or rejected by the reader).</summary>
    public long Rows { get; private set; }

    /// <summary>Rows applied by their market.</summary>
    public long Accepted { get; private set; }

    /// <summary>Rows skipped because an earlier delivery applied them (a retried or repeated ingest).</summary>
    public long Duplicates { get; private set; }

    /// <summary>Rows rejected, by the reader or by their market.</summary>
    public long Rejected { get; private set; }

    /// <summary>Rejections per reason.</summary>
    public IReadOnlyDictionary<RowErrorKind, long> RejectedByKind => _byKind;

    /// <summary>The first rejected rows, in line order.</summary>
    public IReadOnlyList<RowError> Errors => _errors;

    /// <summary>True when more rows were rejected than <see cref="Errors"/> holds.</summary>
    public bool ErrorsTruncated => _truncated || Rejected > _errors.Count;

    /// <summary>Bars closed.</summary>
    public long Bars { get; private set; }

    /// <summary>Regime vectors written.</summary>
    public long Vectors { get; private set; }

    /// <summary>Batches delivered (each one journal event, unless all duplicates).</summary>
    public long Batches { get; private set; }

    /// <summary>Bytes read from the source.</summary>
    public long Bytes { get; internal set; }

    /// <summary>Wall time of the whole ingest.</summary>
    public TimeSpan Elapsed { get; internal set; }

    /// <summary>Per market.</summary>
    public IReadOnlyDictionary<string, MarketReport> Markets => _markets;

    internal void Add(string market, MarketIngestAck ack, long sequenceOffset = 0)
    {
        Accepted += ack.Accepted;
        Duplicates += ack.Duplicates;
        Rejected += ack.Rejected;
        Bars += ack.Bars;
        Vectors += ack.Vectors;
        Batches++;
        foreach (var (kind, n) in ack.RejectedByKind) _byKind[kind] = _byKind.GetValueOrDefault(kind) + n;
        // The market names rows by sequence number; the report by line, like the reader.
        AddErrors(sequenceOffset == 0 ? ack.Errors : [.. ack.Errors.Select(e => e with { Line = e.Line - sequenceOffset })], ack.Rejected > ack.Errors.Count);
        var m = _markets.GetValueOrDefault(market) ?? new MarketReport(0, 0, 0, 0, 0);
        _markets[market] = new MarketReport(m.Accepted + ack.Accepted, m.Duplicates + ack.Duplicates, m.Rejected + ack.Rejected, m.Bars + ack.Bars, m.Vectors + ack.Vectors);
    }

    internal void AddReader(IngestSummary summary)
    {
        Rows += summary.RowsRead;
        Rejected += summary.Rejected;
        foreach (var (kind, n) in summary.RejectedByKind) _byKind[kind] = _byKind.GetValueOrDefault(kind) + n;
        AddErrors(summary.Errors, summary.ErrorsTruncated);
    }

    private void AddErrors(IReadOnlyList<RowError> errors, bool truncated)
    {
        _truncated |= truncated;
        if (errors.Count == 0) return;
        _errors.AddRange(errors);
        _errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        if (_errors.Count > _maxErrors)
        {
            _errors.RemoveRange(_maxErrors, _errors.Count - _maxErrors);
            _truncated = true;
        }
    }

    /// <summary>The snake_case name of a rejection reason (<c>time_backwards</c>).</summary>
    public static string ReasonName(RowErrorKind kind)
    {
        string name = kind.ToString();
        var chars = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) chars.Append('_');
            chars.Append(char.ToLowerInvariant(name[i]));
        }
        return chars.ToString();
    }

    /// <summary>Writes the report as one JSON object (the shape the REST API and the TCP feed answer with).</summary>
    public void WriteJson(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteString("source", Source);
        json.WriteString("collection", Collection);
        json.WriteNumber("rows", Rows);
        json.WriteNumber("accepted", Accepted);
        json.WriteNumber("duplicates", Duplicates);
        json.WriteNumber("rejected", Rejected);
        json.WriteStartObject("rejected_by_reason");
        foreach (var (kind, n) in _byKind.OrderBy(p => p.Key)) json.WriteNumber(ReasonName(kind), n);
        json.WriteEndObject();
        json.WriteStartArray("errors");
        foreach (var e in _errors)
        {
            json.WriteStartObject();
            json.WriteString("source", e.Source);
            json.WriteNumber("line", e.Line);
            json.WriteString("reason", ReasonName(e.Kind));
            json.WriteString("detail", e.Detail);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteBoolean("errors_truncated", ErrorsTruncated);
        json.WriteNumber("bars", Bars);
        json.WriteNumber("vectors", Vectors);
        json.WriteNumber("batches", Batches);
        json.WriteNumber("bytes", Bytes);
        json.WriteNumber("elapsed_s", Math.Round(Elapsed.TotalSeconds, 6));
        json.WriteNumber("rows_per_s", Elapsed > TimeSpan.Zero ? Math.Round(Rows / Elapsed.TotalSeconds) : 0);
        json.WriteStartObject("markets");
        foreach (var (market, m) in _markets)
        {
            json.WriteStartObject(market);
            json.WriteNumber("accepted", m.Accepted);
            json.WriteNumber("duplicates", m.Duplicates);
            json.WriteNumber("rejected", m.Rejected);
            json.WriteNumber("bars", m.Bars);
            json.WriteNumber("vectors", m.Vectors);
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The report as a JSON string.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer)) WriteJson(json);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Source}: {Rows} rows, {Accepted} accepted, {Duplicates} duplicates, {Rejected} rejected; {Bars} bars, {Vectors} vectors in {_markets.Count} markets");
}
