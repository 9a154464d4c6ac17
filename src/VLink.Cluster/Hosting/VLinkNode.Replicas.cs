using Akka.Actor;
using VLink.Cluster.Gather;
using VLink.Cluster.Journal;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Hosting;

/// <summary>What a write did.</summary>
/// <param name="Applied">Points written, deleted or changed (of a replicated partition, the most any acknowledging replica reported).</param>
/// <param name="Acknowledged">
/// The fewest replicas that had journalled their partition's share of the write when it was acknowledged: at least the
/// collection's write consistency, at most its replication factor (1 for a collection with one replica).
/// </param>
public sealed record WriteResult(int Applied, int Acknowledged);

/// <summary>A write was not journalled by as many replicas as its collection's write consistency asks for.</summary>
public sealed class WriteConsistencyException(string collection, PartitionRef partition, int acknowledged, int required, int replicas)
    : Exception($"Collection '{collection}': partition {partition.Key} acknowledged the write on {acknowledged} of {replicas} replicas in time; " +
        $"its write consistency needs {required}. Replicas that did journal it keep it, and the others catch up from them; write again to be sure.")
{
    /// <summary>Replicas that acknowledged.</summary>
    public int Acknowledged { get; } = acknowledged;

    /// <summary>Replicas the write consistency needs.</summary>
    public int Required { get; } = required;
}

/// <summary>How many replicas of each partition a read by id asks, and the answer keeps each point's latest version.</summary>
public readonly record struct ReadConsistency
{
    private readonly int _count;
    private readonly Kind _kind;

    private enum Kind : byte { Count, Majority, All }

    private ReadConsistency(Kind kind, int count)
    {
        _kind = kind;
        _count = count;
    }

    /// <summary>One replica (the default): the fastest read.</summary>
    public static ReadConsistency One { get; } = new(Kind.Count, 1);

    /// <summary>A majority of the replicas.</summary>
    public static ReadConsistency Majority { get; } = new(Kind.Majority, 0);

    /// <summary>Every replica.</summary>
    public static ReadConsistency All { get; } = new(Kind.All, 0);

    /// <summary><paramref name="count"/> replicas (at least 1; more than the collection has means all).</summary>
    public static ReadConsistency Of(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new(Kind.Count, count);
    }

    /// <summary>The replicas that must answer, of <paramref name="replicationFactor"/>.</summary>
    public int Needed(int replicationFactor) => _kind switch
    {
        Kind.Majority => CollectionSpec.Majority(replicationFactor),
        Kind.All => replicationFactor,
        _ => Math.Clamp(Math.Max(_count, 1), 1, Math.Max(replicationFactor, 1)),
    };

    /// <inheritdoc />
    public override string ToString() => _kind switch
    {
        Kind.Majority => "majority",
        Kind.All => "all",
        _ => _count <= 1 ? "one" : _count.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

// Replicas: every write goes to each replica of its partitions and is acknowledged once the write consistency's number
// of them journalled it; reads ask one replica (another after the hedge delay) or, for a stronger read consistency,
// several, keeping each point's latest version — all through the node's one ReplicaPolicy (Gather.Replicas).
public sealed partial class VLinkNode
{
    /// <summary>
    /// Reads points by id: from each partition that may hold them, <paramref name="consistency"/>'s number of replicas,
    /// keeping of each point the copy with the highest version.
    /// </summary>
    /// <exception cref="AskTimeoutException">Fewer replicas of a partition answered than the consistency needs.</exception>
    public async Task<Dictionary<PointId, PointRecord>> GetPointsAsync(CollectionEntry entry, IReadOnlyList<PointId> ids, bool withVector, ReadConsistency consistency = default, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<PointId, PointRecord>();
        if (ids.Count == 0) return found;
        var wait = timeout ?? Settings.Gather.Timeout;
        int needed = consistency.Needed(entry.Spec.ReplicationFactor);
        var answers = await Task.WhenAll(entry.PartitionsOf(ids).Select(b =>
            Gather.Replicas.ReadAsync<PointsFound>(entry.Spec, b.Partition, r => new GetPoints(r, b.Ids, withVector), needed, wait))).ConfigureAwait(false);
        KeepLatest(found, answers.SelectMany(a => a));
        return found;
    }

    /// <summary>
    /// Reads points by id like <see cref="GetPointsAsync"/>, but a partition of which too few replicas answer in time (or
    /// that refuses) is named in the answer instead of failing the read: the points of the others are returned.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <param name="entry">The collection read.</param>
    /// <param name="ids">The points wanted.</param>
    /// <param name="withVector">Whether the points carry their vectors.</param>
    /// <param name="consistency">How many replicas of each partition must answer.</param>
    /// <param name="timeout">How long each partition may take; the gather timeout by default.</param>
    /// <param name="cancellationToken">Cancels the read and its asks.</param>
    /// <param name="skip">Partitions (entity ids) not to ask — known not to answer (a search just named them) — named missing at once.</param>
    public async Task<ReadResult<Dictionary<PointId, PointRecord>>> ReadPointsAsync(CollectionEntry entry, IReadOnlyList<PointId> ids, bool withVector, ReadConsistency consistency = default, TimeSpan? timeout = null, CancellationToken cancellationToken = default, IReadOnlyCollection<string>? skip = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<PointId, PointRecord>();
        if (ids.Count == 0) return new(found, []);
        var wait = timeout ?? Settings.Gather.Timeout;
        int needed = consistency.Needed(entry.Spec.ReplicationFactor);
        var batches = entry.PartitionsOf(ids).ToList();
        var answers = await Task.WhenAll(batches.Select(b => skip?.Contains(b.Partition.EntityId) == true
            ? Task.FromResult<List<PointsFound>?>(null)
            : Gather.Replicas.TryReadAsync<PointsFound>(entry.Spec, b.Partition, r => new GetPoints(r, b.Ids, withVector), needed, wait, cancellationToken))).ConfigureAwait(false);
        KeepLatest(found, answers.Where(a => a is not null).SelectMany(a => a!));
        return new(found, [.. batches.Where((_, i) => answers[i] is null).Select(b => b.Partition.EntityId)]);
    }

    // Of each point, the copy with the highest version.
    private void KeepLatest(Dictionary<PointId, PointRecord> found, IEnumerable<PointsFound> answers)
    {
        foreach (var answer in answers)
            foreach (var point in answer.Points)
            {
                // A write this node stamps after reading a point is later than the version it read, whatever the clocks.
                Clock.Observe(point.Version);
                if (!found.TryGetValue(point.Id, out var held) || point.Version.CompareTo(held.Version) > 0)
                    found[point.Id] = point;
            }
    }

    /// <summary>The statistics of each partition of a collection, from one replica of each (another after the hedge delay).</summary>
    /// <exception cref="AskTimeoutException">No replica of some partition answered in time.</exception>
    public async Task<PartitionStats[]> PartitionStatsAsync(CollectionEntry entry, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var wait = timeout ?? Settings.Gather.Timeout;
        var answers = await Task.WhenAll(entry.Partitions().Select(p =>
            Gather.Replicas.ReadAsync<PartitionStats>(entry.Spec, p, r => new GetPartitionStats(r), 1, wait))).ConfigureAwait(false);
        return [.. answers.Select(a => a[0])];
    }

    /// <summary>
    /// Sends each write to every replica of its partition and waits, per partition, for the collection's write
    /// consistency of acknowledgements. A refusal (bad input, a sealed staging partition) is final at once: every
    /// replica would refuse alike. The asks not yet answered go on after the write is acknowledged.
    /// </summary>
    private async Task<(WriteResult Result, bool Sealed)> WriteAllAsync(CollectionSpec spec, IEnumerable<IPartitionMessage> writes, TimeSpan wait, bool countUpsertsOnly = false)
    {
        var sent = writes.ToList();
        int factor = Math.Max(1, spec.ReplicationFactor);
        var outcomes = await Task.WhenAll(sent.Select(w => Gather.Replicas.WriteAsync(spec, w, wait, (m, t) => JournalledAskAsync(Partitions, m, t)))).ConfigureAwait(false);
        int applied = 0, acknowledged = factor;
        bool sealedPartition = false;
        for (int i = 0; i < outcomes.Length; i++)
        {
            var (reply, acks) = outcomes[i];
            switch (reply)
            {
                case WriteAck ack:
                    if (!countUpsertsOnly || sent[i] is UpsertPoints) applied += ack.Applied;
                    acknowledged = Math.Min(acknowledged, acks);
                    break;
                case WriteSealed:
                    sealedPartition = true;
                    break;
                case WriteRejected rejected:
                    throw new ArgumentException(rejected.Reason);
                default:
                    throw new InvalidOperationException($"Unexpected write reply {reply.GetType().Name}.");
            }
        }
        return (new WriteResult(applied, sent.Count == 0 ? factor : acknowledged), sealedPartition);
    }
}
