using VLink.Core.Hnsw;
using VLink.Core.Vectors;

namespace VLink.Cluster.Protocol;

/// <summary>How a collection's points are spread over partitions.</summary>
public enum PartitionScheme
{
    /// <summary>By consistent hash of the point id over <see cref="CollectionSpec.PartitionCount"/> partitions (generic collections).</summary>
    Hash = 0,

    /// <summary>One partition per key named by the writer (market data: one partition per market symbol).</summary>
    Key = 1,
}

/// <summary>Everything a partition needs to know about its collection.</summary>
/// <param name="Name">Collection name: letters, digits, '-', '_' and '.', at most 128 characters.</param>
/// <param name="Dimension">Vector dimension.</param>
/// <param name="Metric">Distance (built-in metrics only: specs cross the wire).</param>
/// <param name="Scheme">Partitioning scheme.</param>
/// <param name="PartitionCount">Partitions of a hash-partitioned collection (ignored for key partitioning).</param>
/// <param name="Hnsw">Graph parameters of every partition's index.</param>
/// <param name="FlatThreshold">Partitions with fewer points than this answer by exact scan and build no graph.</param>
/// <param name="Regime">
/// For a regime collection (market data, key-partitioned by market): the feature set, bar interval and out-of-order
/// tolerance its partitions turn ticks and bars into regime vectors with; null for a plain vector collection.
/// </param>
public sealed record CollectionSpec(
    string Name,
    int Dimension,
    DistanceMetric Metric,
    PartitionScheme Scheme,
    int PartitionCount,
    HnswOptions Hnsw,
    int FlatThreshold = CollectionSpec.DefaultFlatThreshold,
    RegimeSpec? Regime = null)
{
    /// <summary>Below this many points a partition scans exactly (cheaper than a graph, and exact).</summary>
    public const int DefaultFlatThreshold = 2_000;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Name) || Name.Length > 128 || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new ArgumentException($"Collection name '{Name}' must be 1-128 characters of letters, digits, '-', '_' or '.'.", nameof(Name));
        if (Dimension is < 1 or > 65536)
            throw new ArgumentException($"Dimension {Dimension} must be between 1 and 65536.", nameof(Dimension));
        if (Metric is not (DistanceMetric.Cosine or DistanceMetric.Dot or DistanceMetric.Euclidean))
            throw new ArgumentException($"Metric {Metric} cannot be used by a cluster collection.", nameof(Metric));
        if (Scheme == PartitionScheme.Hash && PartitionCount is < 1 or > 65536)
            throw new ArgumentException($"Partition count {PartitionCount} must be between 1 and 65536.", nameof(PartitionCount));
        if (FlatThreshold < 0)
            throw new ArgumentException($"Flat threshold {FlatThreshold} must not be negative.", nameof(FlatThreshold));
        Hnsw.Validate();
        if (Regime is not null)
        {
            Regime.Validate();
            if (Scheme != PartitionScheme.Key)
                throw new ArgumentException("A regime collection is partitioned by key (one partition per market).", nameof(Scheme));
            if (Dimension != Regime.Features().Dimension)
                throw new ArgumentException($"Dimension {Dimension} differs from the feature set's {Regime.Features().Dimension}.", nameof(Dimension));
        }
    }
}
