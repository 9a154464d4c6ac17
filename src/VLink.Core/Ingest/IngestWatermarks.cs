namespace VLink.Core.Ingest;

/// <summary>What applying a batch against the watermarks means: how many leading items were applied before.</summary>
/// <param name="Skip">Leading items of the batch already applied (a retried batch skips all of them).</param>
/// <param name="Apply">Items to apply after the skipped ones.</param>
/// <param name="Gap">Sequence numbers missing between the watermark and the first new item (0 when contiguous).</param>
public readonly record struct WatermarkPlan(int Skip, int Apply, long Gap)
{
    /// <summary>True when nothing in the batch is new.</summary>
    public bool Duplicate => Apply == 0;
}

/// <summary>
/// Per-market ingestion watermarks for at-least-once delivery applied exactly once. Every producer (a file, a feed)
/// numbers the items it sends for a market with strictly increasing sequence numbers (line numbers qualify; they need
/// not be contiguous); the market keeps, per producer, the highest sequence applied. A batch (re)sent with sequence
/// numbers at or below that mark is skipped, so a retry after a lost acknowledgement applies nothing twice. The
/// watermarks are state: they are persisted with what they guard, and restored with it.
/// </summary>
public sealed class IngestWatermarks
{
    private readonly Dictionary<string, long> _marks;

    /// <summary>No producer has applied anything.</summary>
    public IngestWatermarks() => _marks = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Restores saved watermarks (see <see cref="Entries"/>).</summary>
    public IngestWatermarks(IEnumerable<KeyValuePair<string, long>> entries) : this()
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var (source, sequence) in entries) _marks[source] = sequence;
    }

    /// <summary>The highest applied sequence per producer, for persisting.</summary>
    public IReadOnlyDictionary<string, long> Entries => _marks;

    /// <summary>The highest sequence applied for <paramref name="source"/>, or 0 when none.</summary>
    public long this[string source] => _marks.TryGetValue(source, out long s) ? s : 0;

    /// <summary>
    /// Plans a batch whose items carry <paramref name="sequences"/> (strictly increasing, all positive): the leading
    /// items at or below the producer's watermark are skipped, the rest applied. Changes nothing; call
    /// <see cref="Advance"/> once the applied items are durable.
    /// </summary>
    public WatermarkPlan Plan(string source, ReadOnlySpan<long> sequences)
    {
        ArgumentNullException.ThrowIfNull(source);
        long mark = this[source];
        long previous = 0;
        int skip = 0;
        for (int i = 0; i < sequences.Length; i++)
        {
            long s = sequences[i];
            if (s <= 0) throw new ArgumentOutOfRangeException(nameof(sequences), s, "Sequence numbers start at 1.");
            if (i > 0 && s <= previous) throw new ArgumentException($"Sequence numbers must increase within a batch ({previous} then {s}).", nameof(sequences));
            previous = s;
            if (s <= mark) skip = i + 1;
        }
        int apply = sequences.Length - skip;
        long gap = apply > 0 ? Math.Max(0, sequences[skip] - mark - 1) : 0;
        return new WatermarkPlan(skip, apply, gap);
    }

    /// <summary>Plans a batch of <paramref name="count"/> items numbered contiguously from <paramref name="firstSequence"/>.</summary>
    public WatermarkPlan Plan(string source, long firstSequence, int count)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (firstSequence <= 0) throw new ArgumentOutOfRangeException(nameof(firstSequence), firstSequence, "Sequence numbers start at 1.");
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long mark = this[source];
        int skip = (int)Math.Clamp(mark - firstSequence + 1, 0, count);
        int apply = count - skip;
        long gap = apply > 0 ? Math.Max(0, firstSequence + skip - mark - 1) : 0;
        return new WatermarkPlan(skip, apply, gap);
    }

    /// <summary>Records that everything from <paramref name="source"/> up to <paramref name="lastSequence"/> is applied (never moves back).</summary>
    public void Advance(string source, long lastSequence)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (lastSequence > this[source]) _marks[source] = lastSequence;
    }
}
