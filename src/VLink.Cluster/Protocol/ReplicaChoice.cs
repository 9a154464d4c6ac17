using VLink.Cluster.Sharding;

namespace VLink.Cluster.Protocol;

/// <summary>
/// Which replica of each partition a node-level search reads: of a partition's <see cref="Factor"/> replicas, the one
/// at <c>(hash(key) + Offset) mod Factor</c>. The coordinator turns <see cref="Offset"/> with every search, so the
/// replicas of a partition share the reads, and every partition is read from exactly one replica (its hits are never
/// counted twice). The default (factor 0) reads replica 0, all a collection with one replica has.
/// </summary>
/// <param name="Factor">The collection's replication factor.</param>
/// <param name="Offset">The coordinator's rotation for this search.</param>
public readonly record struct ReplicaChoice(int Factor, int Offset)
{
    /// <summary>The replica of the partition with key <paramref name="key"/> this search reads.</summary>
    public int ReplicaOf(string key) => Factor <= 1 ? 0 : (int)((StableHash.Of(key) + (uint)Offset) % (uint)Factor);

    /// <summary>Whether this search reads <paramref name="partition"/> (the chosen replica of its partition).</summary>
    public bool Reads(PartitionRef partition) => partition.Replica == ReplicaOf(partition.Key);
}
