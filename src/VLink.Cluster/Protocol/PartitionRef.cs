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
public readonly record struct PartitionRef(string Collection, string Key, long Generation)
{
    /// <summary>The sharded entity id: <c>collection@generation/key</c>.</summary>
    public string EntityId => string.Create(CultureInfo.InvariantCulture, $"{Collection}@{Generation}/{Key}");

    /// <summary>
    /// The journal's persistence id: <c>partition-{collection}@{generation}/{key}</c>. '/' can appear in neither the
    /// collection nor the generation, and '@' not in the collection, so two partitions never share a journal (a '-'
    /// separator would let collection "m" key "a-b" collide with "m-a"/"b").
    /// </summary>
    public string PersistenceId => string.Create(CultureInfo.InvariantCulture, $"partition-{Collection}@{Generation}/{Key}");

    /// <summary>Parses an entity id made by <see cref="EntityId"/>.</summary>
    public static PartitionRef FromEntityId(string entityId)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        int slash = entityId.IndexOf('/');
        int at = slash > 0 ? entityId.LastIndexOf('@', slash - 1) : -1;
        if (slash <= 0 || slash == entityId.Length - 1 || at <= 0 ||
            !long.TryParse(entityId.AsSpan(at + 1, slash - at - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long generation))
            throw new ArgumentException($"'{entityId}' is not a partition entity id (collection@generation/key).", nameof(entityId));
        return new PartitionRef(entityId[..at], entityId[(slash + 1)..], generation);
    }

    /// <inheritdoc />
    public override string ToString() => EntityId;
}
