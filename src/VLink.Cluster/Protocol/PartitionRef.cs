namespace VLink.Cluster.Protocol;

/// <summary>
/// Names one partition: a collection and a key within it (a market symbol for market data, <c>p{n}</c> for
/// hash partitions). The entity id and persistence id derive from it and never change.
/// </summary>
public readonly record struct PartitionRef(string Collection, string Key)
{
    /// <summary>The sharded entity id: <c>collection/key</c>.</summary>
    public string EntityId => $"{Collection}/{Key}";

    /// <summary>
    /// The journal's persistence id: <c>partition-{collection}/{key}</c>. '/' can appear in neither part, so two
    /// partitions never share a journal (a '-' separator would let collection "m" key "a-b" collide with "m-a"/"b").
    /// </summary>
    public string PersistenceId => $"partition-{Collection}/{Key}";

    /// <summary>Parses an entity id made by <see cref="EntityId"/>.</summary>
    public static PartitionRef FromEntityId(string entityId)
    {
        int slash = entityId.IndexOf('/');
        if (slash <= 0 || slash == entityId.Length - 1)
            throw new ArgumentException($"'{entityId}' is not a partition entity id (collection/key).", nameof(entityId));
        return new PartitionRef(entityId[..slash], entityId[(slash + 1)..]);
    }

    /// <inheritdoc />
    public override string ToString() => EntityId;
}
