using System.Text;
using VLink.Core.Ingest;

namespace VLink.Core.Regimes;

/// <summary>What one input did to a market: the bars it closed, the vectors they produced, the outcomes they completed.</summary>
public sealed class RegimeUpdates
{
    /// <summary>Bars closed, oldest first.</summary>
    public List<Bar> Bars { get; } = [];

    /// <summary>New regime vectors, one per closed bar with a full window, oldest first.</summary>
    public List<RegimeVector> Vectors { get; } = [];

    /// <summary>Forward outcomes that became known, for earlier vectors.</summary>
    public List<OutcomeUpdate> Outcomes { get; } = [];

    /// <summary>True when nothing happened.</summary>
    public bool IsEmpty => Bars.Count == 0 && Vectors.Count == 0 && Outcomes.Count == 0;

    /// <summary>Empties the lists for reuse.</summary>
    public void Clear()
    {
        Bars.Clear();
        Vectors.Clear();
        Outcomes.Clear();
    }
}

/// <summary>
/// The whole pure pipeline of one market: ticks (or bars) → closed bars → a regime vector at every closed bar with a
/// full window → forward outcomes of earlier vectors as later bars close. Deterministic: the same inputs in the same
/// order give the same bars, vectors and outcomes, so a partition may rebuild it by replaying its journal or restore
/// it from <see cref="WriteTo"/>. Not thread-safe: one market, one owner.
/// </summary>
public sealed class RegimeTracker
{
    private static ReadOnlySpan<byte> Magic => "VLNKRGM1"u8;
    private const int FormatVersion = 1;

    private readonly BarAggregator _aggregator;
    private readonly BarHistory _history;
    private readonly RegimeVectorizer _vectorizer;
    private readonly Bar[] _window;
    private readonly List<Bar> _closed = [];

    /// <summary>A tracker for <paramref name="market"/>.</summary>
    /// <param name="market">The market name (partition key).</param>
    /// <param name="featureSet">The collection's feature set.</param>
    /// <param name="barInterval">The bar length ticks are aggregated into (bars from bar files keep their own).</param>
    /// <param name="policy">The out-of-order policy for ticks; strict when null.</param>
    public RegimeTracker(string market, RegimeFeatureSet featureSet, TimeSpan barInterval, OutOfOrderPolicy? policy = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(market);
        ArgumentNullException.ThrowIfNull(featureSet);
        Market = market;
        _vectorizer = new RegimeVectorizer(featureSet);
        _aggregator = new BarAggregator(barInterval, policy);
        int longestOutcome = featureSet.OutcomeHorizons.Count == 0 ? 0 : featureSet.OutcomeHorizons.Max();
        _history = new BarHistory(Math.Max(featureSet.Window, longestOutcome) + 1);
        _window = new Bar[featureSet.Window + 1];
    }

    /// <summary>The market.</summary>
    public string Market { get; }

    /// <summary>The feature set.</summary>
    public RegimeFeatureSet FeatureSet => _vectorizer.FeatureSet;

    /// <summary>The tick-to-bar aggregation (interval, policy, watermark, open bars).</summary>
    public BarAggregator Aggregator => _aggregator;

    /// <summary>The latest closed bars.</summary>
    public BarHistory History => _history;

    /// <summary>Bars closed so far.</summary>
    public long BarCount => _history.Count;

    /// <summary>Adds a tick; whatever it closes is appended to <paramref name="updates"/>.</summary>
    public InputOutcome AddTick(in Tick tick, RegimeUpdates updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _closed.Clear();
        var outcome = _aggregator.Add(tick, _closed);
        Process(updates);
        return outcome;
    }

    /// <summary>Adds a bar from a bar file; it closes at once.</summary>
    public InputOutcome AddBar(in Bar bar, RegimeUpdates updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _closed.Clear();
        var outcome = _aggregator.AddBar(bar, _closed);
        Process(updates);
        return outcome;
    }

    /// <summary>Moves the watermark without a tick and closes the bars that are due (<see cref="long.MaxValue"/> closes all).</summary>
    public void AdvanceTo(long time, RegimeUpdates updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _closed.Clear();
        _aggregator.AdvanceTo(time, _closed);
        Process(updates);
    }

    private void Process(RegimeUpdates updates)
    {
        int w = FeatureSet.Window;
        foreach (var bar in _closed)
        {
            _history.Add(bar);
            updates.Bars.Add(bar);
            long newest = _history.Count - 1;
            if (newest >= w)
            {
                _history.CopyTo(newest - w, _window);
                var values = new float[_vectorizer.Dimension];
                double sigma = _vectorizer.Compute(_window, values);
                updates.Vectors.Add(new RegimeVector(Market, newest, _window[1].Start, bar.End, bar.Close, sigma, values));
            }
            ForwardOutcomes.Completed(_history, FeatureSet.OutcomeHorizons, w, updates.Outcomes);
        }
    }

    /// <summary>Writes the tracker's state (settings, watermark, open bars, kept bars) in a versioned binary form.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(Market);
        w.Write(FeatureSet.Id);
        w.Write(_aggregator.Interval.Ticks);
        w.Write(_aggregator.Policy.ToleranceTicks);
        w.Write(_aggregator.Watermark);
        w.Write(_aggregator.LastBarStart);
        w.Write(_aggregator.OpenBars.Count);
        foreach (var b in _aggregator.OpenBars)
        {
            w.Write(b.Start); w.Write(b.Open); w.Write(b.OpenTime); w.Write(b.High); w.Write(b.Low);
            w.Write(b.Close); w.Write(b.CloseTime); WriteNullable(w, b.Volume); w.Write(b.TickCount);
        }
        var kept = _history.ToArray();
        w.Write(_history.Count);
        w.Write(kept.Length);
        foreach (var b in kept)
        {
            w.Write(b.Start); w.Write(b.End); w.Write(b.Open); w.Write(b.High); w.Write(b.Low); w.Write(b.Close);
            WriteNullable(w, b.Volume);
        }
    }

    /// <summary>Reads a tracker written by <see cref="WriteTo"/>; <see cref="InvalidDataException"/> when the data is not one.</summary>
    public static RegimeTracker ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("Not a regime tracker state.");
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"Regime tracker state version {version} is not supported.");
            string market = r.ReadString();
            var featureSet = RegimeFeatureSet.Parse(r.ReadString());
            var interval = new TimeSpan(r.ReadInt64());
            var policy = new OutOfOrderPolicy(new TimeSpan(r.ReadInt64()));
            var tracker = new RegimeTracker(market, featureSet, interval, policy);
            long watermark = r.ReadInt64();
            long lastBarStart = r.ReadInt64();
            int open = r.ReadInt32();
            if (open < 0 || open > 1_000_000) throw new InvalidDataException($"Regime tracker state has {open} open bars.");
            var openBars = new OpenBar[open];
            for (int i = 0; i < open; i++)
                openBars[i] = new OpenBar(r.ReadInt64(), r.ReadDouble(), r.ReadInt64(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadInt64(), ReadNullable(r), r.ReadInt64());
            tracker._aggregator.Restore(watermark, lastBarStart, openBars);
            long count = r.ReadInt64();
            int keptCount = r.ReadInt32();
            if (keptCount < 0 || keptCount > tracker._history.Capacity) throw new InvalidDataException($"Regime tracker state keeps {keptCount} bars.");
            var kept = new Bar[keptCount];
            for (int i = 0; i < keptCount; i++)
                kept[i] = new Bar(r.ReadInt64(), r.ReadInt64(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), ReadNullable(r));
            tracker._history.Restore(count, kept);
            return tracker;
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException)
        {
            throw new InvalidDataException("Regime tracker state is damaged: " + e.Message, e);
        }
    }

    private static void WriteNullable(BinaryWriter w, double? value)
    {
        w.Write(value.HasValue);
        w.Write(value ?? 0);
    }

    private static double? ReadNullable(BinaryReader r)
    {
        bool has = r.ReadBoolean();
        double v = r.ReadDouble();
        return has ? v : null;
    }
}
