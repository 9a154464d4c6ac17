using VLink.Core.Hnsw;
using VLink.Core.Ingest;
using VLink.Core.Regimes;
using VLink.Core.Vectors;

namespace VLink.Cluster.Protocol;

/// <summary>
/// The market configuration of a regime collection, kept in its <see cref="CollectionSpec"/> (so in the catalog, with
/// the collection's generation): the feature set (its versioned id), the bar interval ticks are aggregated into (and
/// bars from files last), and the out-of-order tolerance for ticks.
/// </summary>
/// <param name="FeatureSet">A <see cref="RegimeFeatureSet.Id"/>.</param>
/// <param name="BarIntervalTicks">The bar length in <see cref="TimeSpan.Ticks"/>.</param>
/// <param name="ToleranceTicks">How far behind a market's latest tick a tick may be (<see cref="OutOfOrderPolicy"/>).</param>
public sealed record RegimeSpec(string FeatureSet, long BarIntervalTicks, long ToleranceTicks = 0)
{
    /// <summary>The default collection a market ingest goes to.</summary>
    public const string DefaultCollection = "regimes";

    /// <summary>
    /// Windows a market partition holds before it builds an HNSW graph. Regime searches scan exactly by default, and a
    /// market's windows are few (a year of minute bars is ~100,000), so a graph would cost every ingest for searches
    /// that do not use it; above this, <c>exact: false</c> searches get one.
    /// </summary>
    public const int DefaultFlatThreshold = 200_000;

    /// <summary>The bar length.</summary>
    public TimeSpan BarInterval => new(BarIntervalTicks);

    /// <summary>The out-of-order policy for ticks.</summary>
    public OutOfOrderPolicy Policy => new(new TimeSpan(ToleranceTicks));

    /// <summary>The parsed feature set.</summary>
    public RegimeFeatureSet Features() => RegimeFeatureSet.Parse(FeatureSet);

    /// <summary>The default feature set with the given bar interval and tolerance.</summary>
    public static RegimeSpec Default(TimeSpan barInterval, TimeSpan? tolerance = null) =>
        new(RegimeFeatureSet.Default.Id, barInterval.Ticks, (tolerance ?? TimeSpan.Zero).Ticks);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the invalid field.</summary>
    public void Validate()
    {
        try
        {
            Features().Validate();
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ArgumentException($"Feature set '{FeatureSet}' is not valid: {e.Message}", nameof(FeatureSet), e);
        }
        if (BarIntervalTicks <= 0) throw new ArgumentException($"Bar interval {BarInterval} must be positive.", nameof(BarIntervalTicks));
        if (ToleranceTicks < 0) throw new ArgumentException($"Out-of-order tolerance {new TimeSpan(ToleranceTicks)} must not be negative.", nameof(ToleranceTicks));
    }

    /// <summary>
    /// The spec of a regime collection: key-partitioned (one partition per market), Euclidean vectors of the feature
    /// set's dimension (features are standardised, so plain Euclidean distance compares them), exact (flat) partitions
    /// up to <see cref="DefaultFlatThreshold"/> windows.
    /// </summary>
    public CollectionSpec Collection(string name) =>
        new(name, Features().Dimension, DistanceMetric.Euclidean, PartitionScheme.Key, 0, HnswOptions.Default, DefaultFlatThreshold, this);
}

/// <summary>
/// Rows of one market from one producer, in the producer's order: ticks or bars (one kind per batch), each with its
/// sequence number (strictly increasing; a file's line numbers qualify) for exactly-once application.
/// </summary>
/// <param name="Source">The producer (a file, a feed, an HTTP client's name).</param>
/// <param name="Sequences">One sequence number per row, strictly increasing.</param>
/// <param name="Ticks">The ticks (empty for a bar batch).</param>
/// <param name="Bars">The bars (empty for a tick batch).</param>
public sealed record MarketBatch(string Source, long[] Sequences, Tick[] Ticks, Bar[] Bars)
{
    /// <summary>Rows in the batch.</summary>
    public int Count => Ticks.Length + Bars.Length;

    /// <summary>The rows from <paramref name="skip"/> on (what a partially applied batch still has to apply).</summary>
    public MarketBatch Skip(int skip) => skip == 0
        ? this
        : new MarketBatch(Source, Sequences[skip..], Ticks.Length > 0 ? Ticks[skip..] : Ticks, Bars.Length > 0 ? Bars[skip..] : Bars);

    /// <summary>Throws an <see cref="ArgumentException"/> when the batch is not well formed.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Source)) throw new ArgumentException("A market batch names its source.", nameof(Source));
        if (Ticks.Length > 0 && Bars.Length > 0) throw new ArgumentException("A market batch holds ticks or bars, not both.", nameof(Ticks));
        if (Sequences.Length != Count) throw new ArgumentException($"{Sequences.Length} sequence numbers for {Count} rows.", nameof(Sequences));
        for (int i = 0; i < Sequences.Length; i++)
        {
            if (Sequences[i] <= 0 || (i > 0 && Sequences[i] <= Sequences[i - 1]))
                throw new ArgumentException($"Sequence numbers must be positive and increase (row {i}: {Sequences[i]}).", nameof(Sequences));
        }
    }
}

/// <summary>
/// Delivers a batch of one market's rows to its partition. Carries the collection spec so the first batch creates
/// the partition. Answered with <see cref="MarketIngestAck"/> once the new rows are journalled and applied (rows at or
/// below the producer's watermark are acknowledged as duplicates and not applied again), or <see cref="WriteRejected"/>.
/// </summary>
public sealed record IngestMarketData(PartitionRef Partition, CollectionSpec Spec, MarketBatch Batch) : IPartitionMessage;

/// <summary>
/// What a market partition did with a batch. <paramref name="Accepted"/> + <paramref name="Rejected"/> +
/// <paramref name="Duplicates"/> = rows sent.
/// </summary>
/// <param name="Partition">The market's partition.</param>
/// <param name="Accepted">Rows applied now.</param>
/// <param name="Duplicates">Rows skipped because an earlier delivery already applied them.</param>
/// <param name="Rejected">New rows refused by the market (out of order beyond the policy, invalid).</param>
/// <param name="RejectedByKind">Rejections per reason.</param>
/// <param name="Errors">The first rejected rows (source, line = sequence number, reason).</param>
/// <param name="Bars">Bars closed by the batch.</param>
/// <param name="Vectors">Regime vectors written by the batch.</param>
/// <param name="SequenceNr">The partition's journal position after the batch.</param>
public sealed record MarketIngestAck(
    PartitionRef Partition,
    int Accepted,
    int Duplicates,
    int Rejected,
    IReadOnlyList<KeyValuePair<RowErrorKind, int>> RejectedByKind,
    IReadOnlyList<RowError> Errors,
    int Bars,
    int Vectors,
    long SequenceNr) : IVLinkMessage;

/// <summary>
/// The journal event of a market partition: the new rows of one batch (the input, not its effects). Replaying the
/// events runs the same deterministic tracker over the same rows, so a recovered partition has the same bars, vectors
/// and outcomes.
/// </summary>
public sealed record MarketDataIngested(MarketBatch Batch) : IVLinkMessage;

/// <summary>
/// Asks a market partition for its regime vector at a time: the window of the latest bar that started at or before
/// <paramref name="At"/> (UTC ticks). Answered with <see cref="PointsFound"/> holding that point (vector and payload), or none.
/// </summary>
public sealed record FindRegimeVector(PartitionRef Partition, long At) : IPartitionMessage;

/// <summary>
/// Asks a market partition for its base rate: the forward outcomes of all its windows ending in a time range (Unix
/// seconds, either end open), whatever they look like. Answered with <see cref="BaseRate"/>.
/// </summary>
/// <param name="Partition">The market's partition.</param>
/// <param name="From">Only windows ending at or after this (Unix seconds), or null.</param>
/// <param name="To">Only windows ending at or before this (Unix seconds), or null.</param>
/// <param name="Horizons">The outcome horizons (bars).</param>
public sealed record GetBaseRate(PartitionRef Partition, double? From, double? To, IReadOnlyList<int> Horizons) : IPartitionMessage;

/// <summary>Sums of one horizon's known forward outcomes over a market's windows (they add up across markets).</summary>
/// <param name="Horizon">Bars after the window.</param>
/// <param name="Known">Windows whose outcome is known.</param>
/// <param name="Positive">Of those, forward returns above zero.</param>
/// <param name="ReturnSum">Sum of the known forward log returns.</param>
/// <param name="VolatilitySum">Sum of the known forward volatilities.</param>
public sealed record OutcomeSums(int Horizon, long Known, long Positive, double ReturnSum, double VolatilitySum);

/// <summary>A market partition's base rate (<see cref="GetBaseRate"/>), one entry per horizon asked.</summary>
public sealed record BaseRate(PartitionRef Partition, IReadOnlyList<OutcomeSums> Horizons) : IVLinkMessage;

/// <summary>Asks a market partition what it holds. Answered with <see cref="MarketStats"/>.</summary>
public sealed record GetMarketStats(PartitionRef Partition) : IPartitionMessage;

/// <summary>What a market partition holds.</summary>
/// <param name="Partition">The market's partition.</param>
/// <param name="Ticks">Ticks applied.</param>
/// <param name="Bars">Bars closed (from ticks or from bar files).</param>
/// <param name="Vectors">Regime vectors held.</param>
/// <param name="Rejected">Rows the market refused.</param>
/// <param name="FirstBarStart">Start of the first bar (UTC ticks), or <see cref="long.MinValue"/> before any.</param>
/// <param name="LastBarEnd">End of the latest closed bar (UTC ticks), or <see cref="long.MinValue"/>.</param>
/// <param name="Watermark">Latest input time accepted (UTC ticks), or <see cref="long.MinValue"/>.</param>
/// <param name="OpenBars">Bars collecting ticks, not closed yet.</param>
/// <param name="Sources">Each producer's highest applied sequence number.</param>
/// <param name="SequenceNr">The partition's journal position.</param>
public sealed record MarketStats(
    PartitionRef Partition,
    long Ticks,
    long Bars,
    int Vectors,
    long Rejected,
    long FirstBarStart,
    long LastBarEnd,
    long Watermark,
    int OpenBars,
    IReadOnlyList<KeyValuePair<string, long>> Sources,
    long SequenceNr) : IVLinkMessage;
