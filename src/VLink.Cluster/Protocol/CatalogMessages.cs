using VLink.Core.Indexing;

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

/// <summary>
/// Fixes the centroids of a region-partitioned collection (of generation <paramref name="Generation"/>) and starts moving
/// its staged points to their regions; writes wait until <see cref="FinishRegions"/>. Refused once centroids are fixed
/// (a retry with the same centroids is acknowledged).
/// </summary>
public sealed record BeginRegions(string Collection, long Generation, IReadOnlyList<float[]> Centroids) : ICatalogCommand;

/// <summary>The staged points of a region-partitioned collection are in their regions: searches and writes use the regions.</summary>
public sealed record FinishRegions(string Collection, long Generation) : ICatalogCommand;

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

/// <summary>Where a region-partitioned collection is in its life.</summary>
public enum RegionPhase
{
    /// <summary>No centroids yet: every point lives in the staging partition.</summary>
    Staging = 0,

    /// <summary>Centroids fixed; the staged points are being copied to their regions. Searches read the staging partition; writes wait.</summary>
    Moving = 1,

    /// <summary>Every point lives in its region.</summary>
    Active = 2,
}

/// <summary>One collection and, for key partitioning, its known keys.</summary>
/// <param name="Spec">The collection's configuration.</param>
/// <param name="Keys">The known partition keys (key partitioning only).</param>
/// <param name="Generation">
/// The catalog index of the entry that created the collection. Every partition of the collection carries it, so a
/// collection dropped and created again under the same name never reads the partitions (journals) of the old one.
/// </param>
/// <param name="Centroids">A region-partitioned collection's centroids (region i is partition <c>r{i}</c>) once trained; empty otherwise.</param>
/// <param name="Phase">Where a region-partitioned collection is in its life (Staging for the other schemes).</param>
public sealed record CollectionEntry(
    CollectionSpec Spec,
    IReadOnlyList<string> Keys,
    long Generation,
    IReadOnlyList<float[]>? Centroids = null,
    RegionPhase Phase = RegionPhase.Staging)
{
    /// <summary>The key of a region collection's staging partition.</summary>
    public const string StagingKey = "s";

    /// <summary>The trained centroids (empty before training and for other schemes).</summary>
    public IReadOnlyList<float[]> Centroids { get; init; } = Centroids ?? [];

    /// <summary>Every partition a complete search of this collection must hear from.</summary>
    public IEnumerable<PartitionRef> Partitions() => Spec.Scheme switch
    {
        PartitionScheme.Hash => Enumerable.Range(0, Spec.PartitionCount).Select(i => Partition($"p{i}")),
        PartitionScheme.Region when Phase == RegionPhase.Active => Enumerable.Range(0, Spec.PartitionCount).Select(Region),
        PartitionScheme.Region => [Partition(StagingKey)],
        _ => Keys.Select(Partition),
    };

    /// <summary>The partition of this collection (and generation) with the given key.</summary>
    public PartitionRef Partition(string key) => new(Spec.Name, key, Generation);

    /// <summary>The router over the trained centroids (one per catalog version of them).</summary>
    /// <exception cref="InvalidOperationException">The collection has no trained regions.</exception>
    public RegionRouter Router() => Centroids.Count == 0
        ? throw new InvalidOperationException($"Collection '{Spec.Name}' has no trained regions.")
        : Routers.GetValue(Centroids, centroids => new RegionRouter(centroids, Spec.Metric));

    // Every snapshot holding one version of the centroids shares its list object; a new version gets a new router.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IReadOnlyList<float[]>, RegionRouter> Routers = new();

    /// <summary>Region <paramref name="index"/>'s partition of a region-partitioned collection.</summary>
    public PartitionRef Region(int index) => Partition($"r{index}");

    /// <summary>
    /// Which partitions may hold the given ids, each with the ids to ask it about: hash collections by the id's hash;
    /// key and region collections every partition with every id (a point's place follows from its vector, not its id).
    /// </summary>
    public IEnumerable<(PartitionRef Partition, List<PointId> Ids)> PartitionsOf(IEnumerable<PointId> ids)
    {
        var distinct = ids.Distinct().ToList();
        return Spec.Scheme == PartitionScheme.Hash
            ? distinct.GroupBy(id => Sharding.HashPartitioner.KeyOf(id, Spec.PartitionCount)).Select(g => (Partition(g.Key), g.ToList()))
            : Partitions().Select(p => (p, distinct));
    }
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
