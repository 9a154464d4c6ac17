using System.Text;
using VLink.Cluster.Protocol;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Cluster.Partitions;

/// <summary>What applying one batch to a market did.</summary>
/// <param name="Accepted">Rows the tracker took.</param>
/// <param name="Rejected">Rows it refused.</param>
/// <param name="RejectedByKind">Refusals per reason.</param>
/// <param name="Errors">The first refused rows (line = sequence number).</param>
/// <param name="Updates">Bars closed, vectors made and outcomes completed.</param>
public sealed record MarketApplied(int Accepted, int Rejected, IReadOnlyList<KeyValuePair<RowErrorKind, int>> RejectedByKind, IReadOnlyList<RowError> Errors, RegimeUpdates Updates);

/// <summary>
/// The market half of a market partition's state: the pure regime tracker, the producers' watermarks (exactly-once),
/// the ends of the windows that have a vector (to find the vector at a time), and counters. Deterministic: the same
/// batches in the same order give the same state, so replaying the journal rebuilds it.
/// </summary>
public sealed class MarketState
{
    /// <summary>Refused rows a batch reports in detail (all are counted).</summary>
    public const int MaxErrorsPerBatch = 100;

    private static ReadOnlySpan<byte> Magic => "VLNKMKT1"u8;
    private const int FormatVersion = 1;
    private readonly List<long> _windowEnds = [];

    private MarketState(RegimeTracker tracker, IngestWatermarks watermarks)
    {
        Tracker = tracker;
        Watermarks = watermarks;
    }

    /// <summary>A market with nothing ingested.</summary>
    public static MarketState Create(string market, RegimeSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new MarketState(new RegimeTracker(market, spec.Features(), spec.BarInterval, spec.Policy), new IngestWatermarks());
    }

    /// <summary>The market's tracker (bars, vectors, outcomes).</summary>
    public RegimeTracker Tracker { get; }

    /// <summary>The highest applied sequence per producer.</summary>
    public IngestWatermarks Watermarks { get; }

    /// <summary>Ticks applied.</summary>
    public long Ticks { get; private set; }

    /// <summary>Rows refused.</summary>
    public long Rejected { get; private set; }

    /// <summary>Start of the first bar, or <see cref="long.MinValue"/>.</summary>
    public long FirstBarStart { get; private set; } = long.MinValue;

    /// <summary>Ends of the windows with a vector, ascending.</summary>
    public IReadOnlyList<long> WindowEnds => _windowEnds;

    /// <summary>
    /// Runs a batch's rows through the tracker and advances the producer's watermark past them. The caller applies
    /// the updates (vectors, outcomes) to the index.
    /// </summary>
    public MarketApplied Apply(MarketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var updates = new RegimeUpdates();
        int accepted = 0;
        Dictionary<RowErrorKind, int>? byKind = null;
        List<RowError>? errors = null;
        for (int i = 0; i < batch.Count; i++)
        {
            var outcome = batch.Ticks.Length > 0 ? Tracker.AddTick(batch.Ticks[i], updates) : Tracker.AddBar(batch.Bars[i], updates);
            if (outcome == InputOutcome.Accepted)
            {
                accepted++;
                continue;
            }
            var kind = outcome == InputOutcome.TimeBackwards ? RowErrorKind.TimeBackwards : RowErrorKind.InvalidValue;
            byKind ??= [];
            byKind[kind] = byKind.GetValueOrDefault(kind) + 1;
            errors ??= [];
            if (errors.Count < MaxErrorsPerBatch) errors.Add(new RowError(batch.Source, batch.Sequences[i], kind, Describe(batch, i, outcome)));
        }
        if (batch.Ticks.Length > 0) Ticks += accepted;
        Rejected += batch.Count - accepted;
        if (FirstBarStart == long.MinValue && updates.Bars.Count > 0) FirstBarStart = updates.Bars[0].Start;
        foreach (var v in updates.Vectors) _windowEnds.Add(v.WindowEnd);
        if (batch.Sequences.Length > 0) Watermarks.Advance(batch.Source, batch.Sequences[^1]);
        return new MarketApplied(accepted, batch.Count - accepted, byKind is null ? [] : [.. byKind.OrderBy(p => p.Key)], errors ?? [], updates);
    }

    /// <summary>
    /// The end of the window of the latest bar that started at or before <paramref name="at"/> (UTC ticks), or null
    /// when the market has no vector that early.
    /// </summary>
    public long? WindowEndAt(long at)
    {
        long interval = Tracker.Aggregator.Interval.Ticks;
        // A window ending at e covers a last bar starting at e − interval: the wanted end is the largest e ≤ at + interval.
        long bound = at > long.MaxValue - interval ? long.MaxValue : at + interval;
        int lo = 0, hi = _windowEnds.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_windowEnds[mid] <= bound)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found < 0 ? null : _windowEnds[found];
    }

    /// <summary>The market's state as bytes (for the partition's snapshot).</summary>
    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Flush();
            Tracker.WriteTo(buffer);
            w.Write(Ticks);
            w.Write(Rejected);
            w.Write(FirstBarStart);
            w.Write(Watermarks.Entries.Count);
            foreach (var (source, sequence) in Watermarks.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                w.Write(source);
                w.Write(sequence);
            }
            w.Write(_windowEnds.Count);
            foreach (long end in _windowEnds) w.Write(end);
        }
        return buffer.ToArray();
    }

    /// <summary>Restores a market written by <see cref="ToBytes"/>; <see cref="InvalidDataException"/> when damaged.</summary>
    public static MarketState FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var buffer = new MemoryStream(bytes, writable: false);
        using var r = new BinaryReader(buffer, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("Not a market state.");
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"Market state version {version} is not supported.");
            var tracker = RegimeTracker.ReadFrom(buffer);
            long ticks = r.ReadInt64();
            long rejected = r.ReadInt64();
            long firstBar = r.ReadInt64();
            int sources = r.ReadInt32();
            if (sources < 0 || sources > bytes.Length) throw new InvalidDataException($"Market state has {sources} sources.");
            var marks = new List<KeyValuePair<string, long>>(sources);
            for (int i = 0; i < sources; i++) marks.Add(new(r.ReadString(), r.ReadInt64()));
            int ends = r.ReadInt32();
            if (ends < 0 || (long)ends * 8 > bytes.Length) throw new InvalidDataException($"Market state has {ends} windows.");
            var state = new MarketState(tracker, new IngestWatermarks(marks)) { Ticks = ticks, Rejected = rejected, FirstBarStart = firstBar };
            for (int i = 0; i < ends; i++) state._windowEnds.Add(r.ReadInt64());
            if (buffer.Position != bytes.Length) throw new InvalidDataException("Market state has trailing bytes.");
            return state;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Market state is truncated.", e);
        }
    }

    private string Describe(MarketBatch batch, int i, InputOutcome outcome)
    {
        static string Show(long t) => t < 0 || t >= DateTime.MaxValue.Ticks ? "none" : new DateTime(t, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture).TrimEnd('.');
        long time = batch.Ticks.Length > 0 ? batch.Ticks[i].Time : batch.Bars[i].Start;
        if (outcome == InputOutcome.Invalid)
            return batch.Ticks.Length > 0 ? "invalid tick: price, size or time out of range" : "invalid bar: high and low do not hold open and close, or a negative volume";
        if (time < 0 || time >= DateTime.MaxValue.Ticks) return "time out of range";
        return batch.Ticks.Length > 0
            ? $"{Tracker.Market}: {Show(time)} is behind the market's latest tick {Show(Tracker.Aggregator.Watermark)} by more than the tolerance ({Tracker.Aggregator.Policy.Tolerance})"
            : $"{Tracker.Market}: the bar at {Show(time)} does not start after the market's previous bar ({Show(Tracker.Aggregator.LastBarStart)})";
    }
}
