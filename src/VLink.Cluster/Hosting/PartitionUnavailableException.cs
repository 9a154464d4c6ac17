using VLink.Cluster.Protocol;

namespace VLink.Cluster.Hosting;

/// <summary>
/// A partition refused a read or write that must hear from it (a count, a scroll page, a read by id, a write): it lost
/// history, or a recovered replica is still catching up. Unlike a search, such an answer cannot be partial, so it fails
/// and names the partition.
/// </summary>
public sealed class PartitionUnavailableException(PartitionRef partition, string reason)
    : Exception(reason)
{
    /// <summary>The partition (as users name it: replica 0's entity id).</summary>
    public PartitionRef Partition { get; } = partition.Primary();
}
