using Akka.Cluster.Sharding;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Sharding;

/// <summary>
/// Routes partition messages: entity = partition replica (<see cref="PartitionRef.EntityId"/>), shard = stable hash of
/// the partition's replica-0 entity id modulo the configured shard count, followed by <c>#i</c> for replica i &gt; 0.
/// So the replicas of one partition are in shards <c>b</c>, <c>b#1</c>, <c>b#2</c>…, which
/// <see cref="ReplicaAllocationStrategy"/> keeps on distinct nodes. The shard count must stay the same for the life of
/// a cluster's data.
/// </summary>
public sealed class PartitionMessageExtractor(int shardCount) : IMessageExtractor
{
    /// <summary>Shards the partitions are spread over.</summary>
    public int ShardCount { get; } = shardCount > 0 ? shardCount : throw new ArgumentOutOfRangeException(nameof(shardCount));

    /// <inheritdoc />
    public string? EntityId(object message) => message switch
    {
        IPartitionMessage m => m.Partition.EntityId,
        _ => null,
    };

    /// <inheritdoc />
    public object? EntityMessage(object message) => message;

    /// <inheritdoc />
    public string ShardId(object message) => message switch
    {
        IPartitionMessage m => ShardOf(m.Partition),
        _ => throw new ArgumentException($"{message.GetType().Name} is not a partition message.", nameof(message)),
    };

    /// <inheritdoc />
    public string ShardId(string entityId, object? messageHint = null) => ShardOf(PartitionRef.FromEntityId(entityId));

    /// <summary>The shard of an entity id.</summary>
    public string ShardOf(string entityId) => ShardOf(PartitionRef.FromEntityId(entityId));

    /// <summary>The shard of a partition replica: its partition's base shard, then <c>#replica</c> unless replica 0.</summary>
    public string ShardOf(PartitionRef partition)
    {
        var shard = (StableHash.Of(partition.Primary().EntityId) % (ulong)ShardCount).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return partition.Replica == 0 ? shard : shard + "#" + partition.Replica.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
