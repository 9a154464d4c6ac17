using VLink.Core.Ingest;

namespace VLink.Core.Regimes;

/// <summary>
/// The latest closed bars of one market in a ring of fixed capacity, numbered by their absolute index in the
/// market's bar sequence (0 for the first bar ever closed).
/// </summary>
public sealed class BarHistory
{
    private readonly Bar[] _ring;

    /// <summary>A history keeping the last <paramref name="capacity"/> bars.</summary>
    public BarHistory(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new Bar[capacity];
    }

    /// <summary>How many bars are kept.</summary>
    public int Capacity => _ring.Length;

    /// <summary>How many bars have closed in total (the next bar's index).</summary>
    public long Count { get; private set; }

    /// <summary>The oldest index still kept.</summary>
    public long FirstKept => Math.Max(0, Count - _ring.Length);

    /// <summary>The bar with absolute index <paramref name="index"/> (must still be kept).</summary>
    public Bar this[long index]
    {
        get
        {
            if (index < FirstKept || index >= Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Bars {FirstKept}..{Count - 1} are kept.");
            return _ring[index % _ring.Length];
        }
    }

    /// <summary>Appends a closed bar.</summary>
    public void Add(in Bar bar)
    {
        _ring[Count % _ring.Length] = bar;
        Count++;
    }

    /// <summary>Copies bars <paramref name="first"/>..<paramref name="first"/> + destination.Length − 1, oldest first.</summary>
    public void CopyTo(long first, Span<Bar> destination)
    {
        if (first < FirstKept || first + destination.Length > Count)
            throw new ArgumentOutOfRangeException(nameof(first), first, $"Bars {FirstKept}..{Count - 1} are kept.");
        for (int i = 0; i < destination.Length; i++) destination[i] = _ring[(first + i) % _ring.Length];
    }

    /// <summary>The kept bars, oldest first.</summary>
    public Bar[] ToArray()
    {
        var bars = new Bar[Count - FirstKept];
        CopyTo(FirstKept, bars);
        return bars;
    }

    /// <summary>Restores a history: <paramref name="count"/> bars in total, of which <paramref name="kept"/> are the last ones.</summary>
    public void Restore(long count, ReadOnlySpan<Bar> kept)
    {
        if (kept.Length > _ring.Length || kept.Length > count || (count > kept.Length && kept.Length < _ring.Length))
            throw new ArgumentException($"A history of {count} bars keeps its last {Math.Min(count, _ring.Length)} (got {kept.Length}).", nameof(kept));
        Count = count - kept.Length;
        foreach (var bar in kept) Add(bar);
    }
}

/// <summary>A forward outcome that just became known for the window ending at bar <see cref="BarIndex"/>.</summary>
/// <param name="BarIndex">The absolute index of the window's last bar.</param>
/// <param name="WindowEnd">That bar's end (UTC ticks): with the market, it names the vector's point.</param>
/// <param name="Horizon">h, in bars.</param>
/// <param name="ForwardReturn">ln(C<sub>t+h</sub> / C<sub>t</sub>).</param>
/// <param name="ForwardVolatility">√(mean r²) over the h returns after the window (per bar, not annualised).</param>
public readonly record struct OutcomeUpdate(long BarIndex, long WindowEnd, int Horizon, double ForwardReturn, double ForwardVolatility);

/// <summary>
/// Forward outcomes: what happened after a window, measured once enough bars have closed. The window ending at bar t
/// gets its h-bar outcome when bar t + h closes: the log return ln(C<sub>t+h</sub>/C<sub>t</sub>) and the realised
/// volatility √(mean r²) of the h returns r<sub>t+1</sub>..r<sub>t+h</sub>.
/// </summary>
public static class ForwardOutcomes
{
    /// <summary>The outcome over <c>bars.Length − 1</c> bars after <c>bars[0]</c>, the window's last bar.</summary>
    public static (double Return, double Volatility) Measure(ReadOnlySpan<Bar> bars)
    {
        if (bars.Length < 2) throw new ArgumentException("An outcome needs the window's last bar and at least one more.", nameof(bars));
        double sumSq = 0;
        for (int i = 1; i < bars.Length; i++)
        {
            double r = Math.Log(bars[i].Close / bars[i - 1].Close);
            sumSq += r * r;
        }
        return (Math.Log(bars[^1].Close / bars[0].Close), Math.Sqrt(sumSq / (bars.Length - 1)));
    }

    /// <summary>
    /// Call after the newest bar of <paramref name="history"/> closed: appends the outcomes it completes, one per
    /// horizon h whose window (ending at newest − h) had a vector (index ≥ <paramref name="firstWindowBar"/>).
    /// The history must keep at least max(h) + 1 bars.
    /// </summary>
    public static void Completed(BarHistory history, IReadOnlyList<int> horizons, long firstWindowBar, ICollection<OutcomeUpdate> output)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(horizons);
        ArgumentNullException.ThrowIfNull(output);
        long newest = history.Count - 1;
        foreach (int h in horizons)
        {
            long end = newest - h;
            if (end < firstWindowBar || end < 0) continue;
            double sumSq = 0;
            for (long i = end + 1; i <= newest; i++)
            {
                double r = Math.Log(history[i].Close / history[i - 1].Close);
                sumSq += r * r;
            }
            var last = history[end];
            double ret = Math.Log(history[newest].Close / last.Close), vol = Math.Sqrt(sumSq / h);
            output.Add(new OutcomeUpdate(end, last.End, h, ret, vol));
        }
    }
}
