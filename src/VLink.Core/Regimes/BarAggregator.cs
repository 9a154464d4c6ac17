using VLink.Core.Ingest;

namespace VLink.Core.Regimes;

/// <summary>What a market did with a tick or a bar.</summary>
public enum InputOutcome
{
    /// <summary>The tick landed in its bar, or the bar was passed on.</summary>
    Accepted,

    /// <summary>A tick further behind the watermark than the out-of-order policy allows (its bar has closed), or a bar not after the previous one.</summary>
    TimeBackwards,

    /// <summary>A price that is not positive and finite, a negative size or volume, or a bar whose high and low do not hold its open and close.</summary>
    Invalid,
}

/// <summary>
/// Turns one market's ticks into bars of a fixed interval aligned to UTC interval boundaries (a bar covers
/// [k·interval, (k+1)·interval) counted from 0001-01-01 00:00 UTC, so daily bars start at UTC midnight), and lets
/// bars from bar files straight through. Intervals without ticks produce no bar.
/// </summary>
/// <remarks>
/// Out of order (<see cref="OutOfOrderPolicy"/>): the watermark is the latest tick time accepted. A bar closes once
/// the watermark reaches its end plus the tolerance, so a tick up to the tolerance behind the watermark always finds
/// its bar open; an older tick is rejected (<see cref="InputOutcome.TimeBackwards"/>). Within a bar, open is the
/// earliest tick's price and close the latest's (ties: first arrival opens, last arrival closes); volume is the sum of
/// sizes, or null when no tick had one. Closed bars come out in time order.
/// </remarks>
public sealed class BarAggregator
{
    private readonly List<OpenBar> _open = [];
    private long _lastBarStart = long.MinValue;

    /// <summary>Aggregates ticks into bars of <paramref name="interval"/>.</summary>
    public BarAggregator(TimeSpan interval, OutOfOrderPolicy? policy = null)
    {
        if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "The bar interval must be positive.");
        Interval = interval;
        Policy = policy ?? OutOfOrderPolicy.Strict;
        Policy.Validate();
    }

    /// <summary>The bar length.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The out-of-order policy.</summary>
    public OutOfOrderPolicy Policy { get; }

    /// <summary>The latest tick time accepted (UTC ticks), or <see cref="long.MinValue"/> before the first.</summary>
    public long Watermark { get; private set; } = long.MinValue;

    /// <summary>Bars that have ticks but have not closed yet.</summary>
    public int OpenBarCount => _open.Count;

    /// <summary>The start of the latest bar emitted, or <see cref="long.MinValue"/>.</summary>
    public long LastBarStart => _lastBarStart;

    /// <summary>The start of the bar holding <paramref name="time"/>.</summary>
    public long BarStart(long time) => time - time % Interval.Ticks;

    /// <summary>Adds a tick; bars it closes are appended to <paramref name="closed"/>, oldest first.</summary>
    public InputOutcome Add(in Tick tick, ICollection<Bar> closed)
    {
        ArgumentNullException.ThrowIfNull(closed);
        if (!(tick.Price > 0) || !double.IsFinite(tick.Price) || tick.Size is < 0 || tick.Size is { } s && !double.IsFinite(s) || tick.Time < 0)
            return InputOutcome.Invalid;
        if (!Policy.Accepts(tick.Time, Watermark)) return InputOutcome.TimeBackwards;
        long start = BarStart(tick.Time);
        int i = _open.Count - 1;
        while (i >= 0 && _open[i].Start > start) i--;
        if (i >= 0 && _open[i].Start == start)
        {
            var bar = _open[i];
            bar.Add(tick);
            _open[i] = bar;
        }
        else
        {
            _open.Insert(i + 1, OpenBar.From(start, tick));
        }
        if (tick.Time > Watermark)
        {
            Watermark = tick.Time;
            CloseReady(closed);
        }
        return InputOutcome.Accepted;
    }

    /// <summary>
    /// Passes a bar from a bar file through (appended to <paramref name="closed"/>) when it is valid and starts after the
    /// previous bar. A market is fed ticks or bars, not both: a bar while tick bars are open is refused as out of order.
    /// </summary>
    public InputOutcome AddBar(in Bar bar, ICollection<Bar> closed)
    {
        ArgumentNullException.ThrowIfNull(closed);
        if (!(bar.Low > 0) || !double.IsFinite(bar.High) || bar.High < bar.Low || bar.Close < bar.Low || bar.Close > bar.High
            || bar.Open < bar.Low || bar.Open > bar.High || bar.End <= bar.Start || bar.Start < 0 || bar.Volume is < 0)
            return InputOutcome.Invalid;
        if (bar.Start <= _lastBarStart || _open.Count > 0) return InputOutcome.TimeBackwards;
        _lastBarStart = bar.Start;
        if (bar.Start > Watermark) Watermark = bar.Start;
        closed.Add(bar);
        return InputOutcome.Accepted;
    }

    /// <summary>
    /// Moves the watermark to <paramref name="time"/> without a tick (a clock, or the end of a finite file with
    /// <see cref="long.MaxValue"/>) and closes the bars that are due.
    /// </summary>
    public void AdvanceTo(long time, ICollection<Bar> closed)
    {
        ArgumentNullException.ThrowIfNull(closed);
        if (time <= Watermark) return;
        Watermark = time;
        CloseReady(closed);
    }

    /// <summary>The open bars' state, oldest first, for snapshots.</summary>
    public IReadOnlyList<OpenBar> OpenBars => _open;

    /// <summary>Restores state saved from <see cref="Watermark"/>, <see cref="LastBarStart"/> and <see cref="OpenBars"/>.</summary>
    public void Restore(long watermark, long lastBarStart, IEnumerable<OpenBar> openBars)
    {
        Watermark = watermark;
        _lastBarStart = lastBarStart;
        _open.Clear();
        _open.AddRange(openBars.OrderBy(b => b.Start));
    }

    private void CloseReady(ICollection<Bar> closed)
    {
        long interval = Interval.Ticks;
        long tolerance = Policy.ToleranceTicks;
        int n = 0;
        // A bar [s, s + interval) closes when watermark ≥ s + interval + tolerance; compare without overflowing.
        while (n < _open.Count && Watermark - tolerance - interval >= _open[n].Start) n++;
        if (Watermark == long.MaxValue) n = _open.Count;
        for (int i = 0; i < n; i++)
        {
            var bar = _open[i].ToBar(interval);
            _lastBarStart = bar.Start;
            closed.Add(bar);
        }
        _open.RemoveRange(0, n);
    }
}

/// <summary>A bar still collecting ticks, with the times that decide its open and close.</summary>
/// <param name="Start">The bar's start (UTC ticks).</param>
/// <param name="Open">The earliest tick's price.</param>
/// <param name="OpenTime">The earliest tick's time.</param>
/// <param name="High">The highest price.</param>
/// <param name="Low">The lowest price.</param>
/// <param name="Close">The latest tick's price.</param>
/// <param name="CloseTime">The latest tick's time.</param>
/// <param name="Volume">The sum of sizes, or null when no tick had a size.</param>
/// <param name="TickCount">Ticks in the bar.</param>
public record struct OpenBar(long Start, double Open, long OpenTime, double High, double Low, double Close, long CloseTime, double? Volume, long TickCount)
{
    internal static OpenBar From(long start, in Tick t) => new(start, t.Price, t.Time, t.Price, t.Price, t.Price, t.Time, t.Size, 1);

    internal void Add(in Tick t)
    {
        if (t.Time < OpenTime) { Open = t.Price; OpenTime = t.Time; }
        if (t.Time >= CloseTime) { Close = t.Price; CloseTime = t.Time; }
        if (t.Price > High) High = t.Price;
        if (t.Price < Low) Low = t.Price;
        if (t.Size is { } size) Volume = (Volume ?? 0) + size;
        TickCount++;
    }

    internal readonly Bar ToBar(long interval) => new(Start, Start + interval, Open, High, Low, Close, Volume);
}
