namespace VLink.Cluster.Protocol;

/// <summary>
/// A write (to a partition or the catalog) was refused, not journalled, because the node holding the writer cannot
/// reach its journal: <paramref name="Reason"/> names the journal and the error. Reads go on; write again once the
/// journal is back.
/// </summary>
public sealed record JournalUnavailable(string Reason) : IVLinkMessage;
