using System.Globalization;

namespace VLink.Cluster.Protocol;

/// <summary>
/// Names one partition: a collection, the collection's generation, and a key within it (a market symbol for
/// market data, <c>p{n}</c> for hash partitions). The entity id and persistence id derive from it and never change.
/// </summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Key">The partition's key within the collection.</param>
/// <param name="Generation">
/// The generation of the collection (<see cref="CollectionEntry.Generation"/>): a collection dropped and created
/// again under the same name gets a new generation, hence new entities and new journals, so old points stay gone.
/// </param>
/// <param name="Replica">
/// Which copy of the partition (0 to the collection's replication factor − 1). Replica 0 keeps the names partitions
/// had before replicas, so existing journals still read; replica i &gt; 0 adds <c>#i</c> after the generation.
/// </param>
public readonly record struct PartitionRef(string Collection, string Key, long Generation, int Replica = 0)
{
    /// <summary>The sharded entity id: <c>collection@generation/key</c>, or <c>collection@generation#replica/key</c>.</summary>
    public string EntityId => Replica == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Collection}@{Generation}/{Key}")
        : string.Create(CultureInfo.InvariantCulture, $"{Collection}@{Generation}#{Replica}/{Key}");

    /// <summary>The partition as a user sees it (replica 0's name), which all its replicas share.</summary>
    public PartitionRef Primary() => this with { Replica = 0 };

    /// <summary>The same partition's replica <paramref name="replica"/>.</summary>
    public PartitionRef WithReplica(int replica) => this with { Replica = replica };

    /// <summary>
    /// The journal's persistence id: <c>partition-{collection}@{generation}/{key}</c>. '/' can appear in neither the
    /// collection nor the generation, and '@' not in the collection, so two partitions never share a journal (a '-'
    /// separator would let collection "m" key "a-b" collide with "m-a"/"b").
    /// </summary>
    public string PersistenceId => "partition-" + EntityId;

    /// <summary>Parses an entity id made by <see cref="EntityId"/>.</summary>
    public static PartitionRef FromEntityId(string entityId)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        int slash = entityId.IndexOf('/');
        int at = slash > 0 ? entityId.LastIndexOf('@', slash - 1) : -1;
        int hash = at > 0 ? entityId.IndexOf('#', at, slash - at) : -1;
        int generationEnd = hash > 0 ? hash : slash;
        int replica = 0;
        if (slash <= 0 || slash == entityId.Length - 1 || at <= 0 ||
            !long.TryParse(entityId.AsSpan(at + 1, generationEnd - at - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long generation) ||
            (hash > 0 && (!int.TryParse(entityId.AsSpan(hash + 1, slash - hash - 1), NumberStyles.None, CultureInfo.InvariantCulture, out replica) || replica == 0)))
            throw new ArgumentException($"'{entityId}' is not a partition entity id (collection@generation/key or collection@generation#replica/key).", nameof(entityId));
        return new PartitionRef(entityId[..at], entityId[(slash + 1)..], generation, replica);
    }

    /// <inheritdoc />
    public override string ToString() => EntityId;
}
