namespace VLink.Cluster.Gather;

/// <summary>What a read found, and the partitions it did not hear from in time (or that refused).</summary>
/// <typeparam name="T">What was read.</typeparam>
/// <param name="Value">What the partitions that answered gave.</param>
/// <param name="MissingPartitions">The partitions (replica 0's entity ids) that did not answer; empty when complete.</param>
public sealed record ReadResult<T>(T Value, IReadOnlyList<string> MissingPartitions)
{
    /// <summary>True when every partition the read needed answered.</summary>
    public bool Complete => MissingPartitions.Count == 0;
}

/// <summary>A read that must be complete (or that heard from no partition) missed some partitions.</summary>
/// <param name="missingPartitions">The partitions that did not answer.</param>
public sealed class IncompleteReadException(IReadOnlyList<string> missingPartitions)
    : Exception($"Partitions {string.Join(", ", missingPartitions)} did not answer in time.")
{
    /// <summary>The partitions that did not answer.</summary>
    public IReadOnlyList<string> MissingPartitions { get; } = missingPartitions;
}
