namespace VLink.Core.Ingest;

/// <summary>
/// What happens to a tick whose time is behind the latest time already accepted for its market (the watermark).
/// A tick no more than <see cref="Tolerance"/> behind the watermark is accepted and lands in its own bar, which is
/// still open: a bar closes only once the watermark has passed its end by the tolerance. An older tick is rejected
/// as <see cref="RowErrorKind.TimeBackwards"/>. Equal times are always in order. Bars (from bar files) must start
/// strictly after the previous bar; the tolerance does not apply to them, since a bar is final once it arrives.
/// </summary>
/// <param name="Tolerance">How far behind the watermark a tick may be; zero (strict) by default.</param>
public sealed record OutOfOrderPolicy(TimeSpan Tolerance)
{
    /// <summary>No tick may be behind the watermark; a bar closes as soon as a tick at or after its end arrives.</summary>
    public static OutOfOrderPolicy Strict { get; } = new(TimeSpan.Zero);

    /// <summary>The tolerance in <see cref="DateTime.Ticks"/>.</summary>
    public long ToleranceTicks => Tolerance.Ticks;

    /// <summary>Checks the tolerance is not negative.</summary>
    public void Validate()
    {
        if (Tolerance < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The out-of-order tolerance cannot be negative.");
    }

    /// <summary>True when a tick at <paramref name="time"/> is acceptable given the latest accepted time.</summary>
    public bool Accepts(long time, long watermark) => watermark == long.MinValue || time >= watermark - ToleranceTicks;
}
