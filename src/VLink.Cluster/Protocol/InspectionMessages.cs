namespace VLink.Cluster.Protocol;

/// <summary>Asks a node's agent what it hosts: every local partition with its size and index kind.</summary>
public sealed record GetNodeInventory : IVLinkMessage
{
    /// <summary>The only instance.</summary>
    public static readonly GetNodeInventory Instance = new();
}

/// <summary>What one node hosts.</summary>
/// <param name="Node">The node's address (<c>akka.tcp://system@host:port</c>).</param>
/// <param name="Partitions">Each local partition that answered, with its statistics.</param>
/// <param name="Unanswered">Local partitions that did not answer in time (still recovering, or busy).</param>
public sealed record NodeInventory(string Node, IReadOnlyList<PartitionStats> Partitions, int Unanswered) : IVLinkMessage;

/// <summary>Asks the catalog singleton where it runs and how far its log is.</summary>
public sealed record GetCatalogStatus : ICatalogCommand
{
    /// <summary>The only instance.</summary>
    public static readonly GetCatalogStatus Instance = new();
}

/// <summary>Where the catalog singleton runs and the position of its log.</summary>
/// <param name="Node">Address of the node hosting the singleton.</param>
/// <param name="Term">Incarnation of the singleton.</param>
/// <param name="Index">Number of the last durable entry.</param>
/// <param name="Collections">Collections in the catalog.</param>
/// <param name="SchemaVersion">Version of the catalog's schema.</param>
public sealed record CatalogStatus(string Node, long Term, long Index, int Collections, int SchemaVersion) : IVLinkMessage;
