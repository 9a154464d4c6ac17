namespace VLink.Cluster.Protocol;

/// <summary>Creates a collection; refused when the name exists with a different spec (idempotent when equal).</summary>
public sealed record CreateCollection(CollectionSpec Spec) : ICatalogCommand;

/// <summary>
/// Drops a collection from the catalog. Its partitions are not read again: a collection created later under the
/// same name is a new generation with partitions of its own.
/// </summary>
public sealed record DropCollection(string Name) : ICatalogCommand;

/// <summary>Records a partition key of a key-partitioned collection (a market), so searches expect it.</summary>
public sealed record RegisterPartitionKey(string Collection, string Key) : ICatalogCommand;

/// <summary>
/// Sets a cluster-wide setting (a durable key/value in the catalog, e.g. an operator's default); an empty value
/// removes it. Keys: 1-128 characters of lowercase letters, digits, '.', '-' and '_'; values up to 4,096 characters.
/// </summary>
public sealed record SetSetting(string Key, string Value) : ICatalogCommand;

/// <summary>Asks for the current catalog.</summary>
public sealed record GetCatalog : ICatalogCommand
{
    /// <summary>The only instance.</summary>
    public static readonly GetCatalog Instance = new();
}

/// <summary>A change is durable as entry (term, index) of the catalog log.</summary>
public sealed record CatalogAck(long Term, long Index) : IVLinkMessage;

/// <summary>A change was refused; the catalog is unchanged.</summary>
public sealed record CatalogRejected(string Reason) : IVLinkMessage;

/// <summary>One collection and, for key partitioning, its known keys.</summary>
/// <param name="Spec">The collection's configuration.</param>
/// <param name="Keys">The known partition keys (key partitioning only).</param>
/// <param name="Generation">
/// The catalog index of the entry that created the collection. Every partition of the collection carries it, so a
/// collection dropped and created again under the same name never reads the partitions (journals) of the old one.
/// </param>
public sealed record CollectionEntry(CollectionSpec Spec, IReadOnlyList<string> Keys, long Generation)
{
    /// <summary>Every partition a complete search of this collection must hear from.</summary>
    public IEnumerable<PartitionRef> Partitions() => Spec.Scheme == PartitionScheme.Hash
        ? Enumerable.Range(0, Spec.PartitionCount).Select(i => Partition($"p{i}"))
        : Keys.Select(Partition);

    /// <summary>The partition of this collection (and generation) with the given key.</summary>
    public PartitionRef Partition(string key) => new(Spec.Name, key, Generation);
}

/// <summary>A versioned snapshot of the catalog: readers see whole states, each named by (term, index).</summary>
/// <param name="Term">Incarnation of the catalog singleton that produced it.</param>
/// <param name="Index">Number of the last durable entry it includes.</param>
/// <param name="Collections">Collections and their partitions.</param>
/// <param name="SchemaVersion">Version of the catalog's own schema (what its entries mean).</param>
/// <param name="Settings">Cluster-wide settings, ordered by key.</param>
public sealed record CatalogSnapshot(
    long Term,
    long Index,
    IReadOnlyList<CollectionEntry> Collections,
    int SchemaVersion = CatalogSnapshot.CurrentSchemaVersion,
    IReadOnlyList<KeyValuePair<string, string>>? Settings = null) : IVLinkMessage
{
    /// <summary>The catalog schema this build writes and reads.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Cluster-wide settings, ordered by key (never null).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = Settings ?? [];

    /// <summary>The entry of a collection, or null.</summary>
    public CollectionEntry? Find(string name) => Collections.FirstOrDefault(c => c.Spec.Name == name);

    /// <summary>A setting's value, or null.</summary>
    public string? Setting(string key) => Settings.FirstOrDefault(s => s.Key == key).Value;
}
