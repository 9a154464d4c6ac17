namespace VLink.Cluster.Protocol;

/// <summary>Root of every message VLink sends between nodes; the one binary serializer binds to it.</summary>
public interface IVLinkMessage;

/// <summary>A message addressed to one partition (a sharded entity).</summary>
public interface IPartitionMessage : IVLinkMessage
{
    /// <summary>The partition the message is for.</summary>
    PartitionRef Partition { get; }
}

/// <summary>A change to the cluster's metadata, handled by the catalog singleton.</summary>
public interface ICatalogCommand : IVLinkMessage;
