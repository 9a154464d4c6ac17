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

    /// <summary>
    /// By region: a point lives in the partition of its nearest k-means centroid, so a search visits only the partitions
    /// of the centroids nearest its query (<see cref="RegionSpec"/>). Until the centroids are trained, points wait in
    /// one staging partition.
    /// </summary>
    Region = 2,
}

/// <summary>How a region-partitioned collection trains its router and how many regions a search visits.</summary>
/// <param name="TrainSize">
/// Points gathered in the staging partition before k-means runs over them; the points then move to their regions.
/// At least the partition count.
/// </param>
/// <param name="Probes">Regions a search visits by default (a search may ask for more or fewer); 1 to the partition count.</param>
public sealed record RegionSpec(int TrainSize = RegionSpec.DefaultTrainSize, int Probes = RegionSpec.DefaultProbes)
{
    /// <summary>Points k-means trains on unless the collection says otherwise.</summary>
    public const int DefaultTrainSize = 10_000;

    /// <summary>Regions visited per search unless the collection or the search says otherwise.</summary>
    public const int DefaultProbes = 3;
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
/// <param name="Regions">For a region-partitioned collection (<see cref="PartitionScheme.Region"/>): training and probes; null otherwise.</param>
/// <param name="Text">
/// For a collection searched by text: the payload fields keyword search reads and the model text is embedded with on
/// write (null for a collection of vectors only).
/// </param>
/// <param name="ReplicationFactor">
/// Copies of each partition, each its own entity and journal, kept on distinct nodes while there are enough
/// (Qdrant's <c>replication_factor</c>); 1 to <see cref="MaxReplicationFactor"/>.
/// </param>
/// <param name="WriteConsistency">
/// Replicas that must hold a write durably before it is acknowledged (Qdrant's <c>write_consistency_factor</c>);
/// 1 to <paramref name="ReplicationFactor"/>.
/// </param>
public sealed record CollectionSpec(
    string Name,
    int Dimension,
    DistanceMetric Metric,
    PartitionScheme Scheme,
    int PartitionCount,
    HnswOptions Hnsw,
    int FlatThreshold = CollectionSpec.DefaultFlatThreshold,
    RegimeSpec? Regime = null,
    RegionSpec? Regions = null,
    TextSpec? Text = null,
    int ReplicationFactor = 1,
    int WriteConsistency = 1)
{
    /// <summary>The most replicas a partition may have.</summary>
    public const int MaxReplicationFactor = 16;

    /// <summary>A majority of <paramref name="replicationFactor"/> replicas.</summary>
    public static int Majority(int replicationFactor) => replicationFactor / 2 + 1;

    /// <summary>The replicas of partition <paramref name="partition"/> (replica 0 first).</summary>
    public IEnumerable<PartitionRef> Replicas(PartitionRef partition) =>
        Enumerable.Range(0, ReplicationFactor).Select(partition.WithReplica);

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
        if (Scheme is PartitionScheme.Hash or PartitionScheme.Region && PartitionCount is < 1 or > 65536)
            throw new ArgumentException($"Partition count {PartitionCount} must be between 1 and 65536.", nameof(PartitionCount));
        if ((Scheme == PartitionScheme.Region) != (Regions is not null))
            throw new ArgumentException("A region-partitioned collection, and only one, has region settings.", nameof(Regions));
        if (Regions is not null)
        {
            if (Regions.TrainSize < PartitionCount || Regions.TrainSize > 10_000_000)
                throw new ArgumentException($"Region training size {Regions.TrainSize} must be between the partition count ({PartitionCount}) and 10,000,000.", nameof(Regions));
            if (Regions.Probes < 1 || Regions.Probes > PartitionCount)
                throw new ArgumentException($"Region probes {Regions.Probes} must be between 1 and the partition count ({PartitionCount}).", nameof(Regions));
        }
        if (FlatThreshold < 0)
            throw new ArgumentException($"Flat threshold {FlatThreshold} must not be negative.", nameof(FlatThreshold));
        Hnsw.Validate();
        Text?.Validate();
        if (ReplicationFactor is < 1 or > MaxReplicationFactor)
            throw new ArgumentException($"Replication factor {ReplicationFactor} must be between 1 and {MaxReplicationFactor}.", nameof(ReplicationFactor));
        if (WriteConsistency < 1 || WriteConsistency > ReplicationFactor)
            throw new ArgumentException($"Write consistency {WriteConsistency} must be between 1 and the replication factor ({ReplicationFactor}).", nameof(WriteConsistency));
        if (ReplicationFactor > 1 && (Regime is not null || Scheme == PartitionScheme.Region))
            throw new ArgumentException("Regime and region collections have one replica per partition.", nameof(ReplicationFactor));
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
