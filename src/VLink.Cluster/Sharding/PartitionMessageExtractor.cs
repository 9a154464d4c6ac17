using Akka.Cluster.Sharding;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Sharding;

/// <summary>
/// Routes partition messages: entity = partition (<c>collection/key</c>), shard = stable hash of the entity id
/// modulo the configured shard count. The shard count must stay the same for the life of a cluster's data.
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
        IPartitionMessage m => ShardOf(m.Partition.EntityId),
        _ => throw new ArgumentException($"{message.GetType().Name} is not a partition message.", nameof(message)),
    };

    /// <inheritdoc />
    public string ShardId(string entityId, object? messageHint = null) => ShardOf(entityId);

    /// <summary>The shard of an entity id.</summary>
    public string ShardOf(string entityId) => (StableHash.Of(entityId) % (ulong)ShardCount).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
