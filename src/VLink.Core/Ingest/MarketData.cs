namespace VLink.Core.Ingest;

/// <summary>
/// One trade or quote of one market. <see cref="Time"/> is UTC in <see cref="DateTime.Ticks"/> (100 ns units since
/// 0001-01-01); <see cref="Price"/> is the trade price, or the bid/ask mid when only a quote was given.
/// </summary>
/// <param name="Time">UTC time in <see cref="DateTime.Ticks"/>.</param>
/// <param name="Price">Trade price or quote mid; always positive and finite.</param>
/// <param name="Size">Traded size, when the source has one (never negative).</param>
/// <param name="Bid">Best bid, when the source has one.</param>
/// <param name="Ask">Best ask, when the source has one.</param>
public readonly record struct Tick(long Time, double Price, double? Size = null, double? Bid = null, double? Ask = null)
{
    /// <summary>A tick at a <see cref="DateTime"/> (converted to UTC ticks; unspecified kinds are taken as UTC).</summary>
    public static Tick At(DateTime time, double price, double? size = null, double? bid = null, double? ask = null) =>
        new(MarketTime.ToUtcTicks(time), price, size, bid, ask);

    /// <summary><see cref="Time"/> as a UTC <see cref="DateTime"/>.</summary>
    public DateTime UtcTime => new(Time, DateTimeKind.Utc);
}

/// <summary>
/// One OHLC bar of one market covering [<see cref="Start"/>, <see cref="End"/>), UTC in <see cref="DateTime.Ticks"/>.
/// A close-only series gives bars with open = high = low = close (no range information).
/// </summary>
/// <param name="Start">Inclusive start, UTC ticks.</param>
/// <param name="End">Exclusive end, UTC ticks.</param>
/// <param name="Open">First price of the bar.</param>
/// <param name="High">Highest price of the bar.</param>
/// <param name="Low">Lowest price of the bar.</param>
/// <param name="Close">Last price of the bar.</param>
/// <param name="Volume">Traded volume, when the source has one.</param>
public readonly record struct Bar(long Start, long End, double Open, double High, double Low, double Close, double? Volume = null)
{
    /// <summary><see cref="Start"/> as a UTC <see cref="DateTime"/>.</summary>
    public DateTime UtcStart => new(Start, DateTimeKind.Utc);

    /// <summary><see cref="End"/> as a UTC <see cref="DateTime"/>.</summary>
    public DateTime UtcEnd => new(End, DateTimeKind.Utc);

    /// <summary>True when high and low differ, i.e. the bar carries range information.</summary>
    public bool HasRange => High > Low;
}
