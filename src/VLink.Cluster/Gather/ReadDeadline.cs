using System.Diagnostics;

namespace VLink.Cluster.Gather;

/// <summary>
/// The time one read may take and what cancels it, carried through every stage: each stage asks with what is left, and
/// a node agent answers by the budget it was given less a margin, so its answer reaches the coordinator in time.
/// </summary>
public sealed class ReadDeadline
{
    private readonly long _started;

    /// <summary>Starts the clock of a read that may take <paramref name="timeout"/>.</summary>
    /// <param name="timeout">The whole read's time.</param>
    /// <param name="cancellation">Cancels the read (the client gave up).</param>
    public ReadDeadline(TimeSpan timeout, CancellationToken cancellation = default)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A read's timeout must be positive.");
        Timeout = timeout;
        Cancellation = cancellation;
        _started = Stopwatch.GetTimestamp();
    }

    /// <summary>The whole read's time.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Cancels the read and its outstanding asks.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Time since the read started.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Time left before the deadline; zero once it passed.</summary>
    public TimeSpan Left => Timeout - Elapsed is { } left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    /// <summary>Whether the deadline passed.</summary>
    public bool Passed => Left == TimeSpan.Zero;

    /// <summary>
    /// The margin a stage keeps to answer before its caller's deadline: a fifth of the budget, between 10 ms and 500 ms
    /// (the merge, and the reply's trip back through a busy node; a tenth proved too little on a loaded machine).
    /// </summary>
    public static TimeSpan Margin(TimeSpan budget) =>
        TimeSpan.FromTicks(Math.Clamp(budget.Ticks / 5, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromMilliseconds(500).Ticks));

    /// <summary>
    /// How long a node agent waits for its partitions when its coordinator waits <paramref name="budget"/>: the budget
    /// less its <see cref="Margin"/> (at least 1 ms); <paramref name="fallback"/> when no budget was given.
    /// </summary>
    public static TimeSpan ForPartitions(TimeSpan budget, TimeSpan fallback)
    {
        if (budget <= TimeSpan.Zero) return fallback;
        var wait = budget - Margin(budget);
        return wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1);
    }
}
