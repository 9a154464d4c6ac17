using Akka.Actor;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Journal;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Replication;

/// <summary>
/// The one replica policy of a node — ordering, hedging and quorum in one place, one meaning per setting:
/// <list type="bullet">
/// <item><description><b>Ordering</b>: which replica of a partition a read asks first turns with every read (one
/// rotation for searches, through <see cref="Choose"/>, and for reads by id, scroll, count and statistics), so the
/// replicas share the reads.</description></item>
/// <item><description><b>Hedging</b>: the replicas asked first get <see cref="HedgeAfter"/> (the hedge delay; half the
/// read's time when hedging is off) before the others are asked too — at once when one refuses.</description></item>
/// <item><description><b>Quorum</b>: a read waits for its consistency's number of replicas (<see cref="ReadAsync{T}"/>),
/// a write for its collection's write consistency (<see cref="WriteAsync"/>).</description></item>
/// </list>
/// The Gather Engine reads through it (its first phase and replica choice), and so does <see cref="VLinkNode"/>.
/// </summary>
public sealed class ReplicaPolicy(IActorRef partitions, GatherSettings settings)
{
    private int _rotation;

    /// <summary>
    /// How long the replicas asked first get before the others are asked: the hedge delay (at most the read's
    /// <paramref name="wait"/>), or half the wait when hedging is off (a zero delay).
    /// </summary>
    public TimeSpan HedgeAfter(TimeSpan wait) => GatherSettings.HedgeAfter(settings.HedgeDelay, wait);

    /// <summary>The replica choice of the next search of a collection: turns with every read, so replicas share them.</summary>
    public ReplicaChoice Choose(CollectionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.ReplicationFactor <= 1 ? default : new ReplicaChoice(spec.ReplicationFactor, Next());
    }

    private int Next() => Interlocked.Increment(ref _rotation) & int.MaxValue;

    /// <summary>
    /// Asks <paramref name="needed"/> replicas of a partition (turning which first with every read), and the others too
    /// when those have not all answered by <see cref="HedgeAfter"/> or one failed; answers once <paramref name="needed"/>
    /// answered. A collection with one replica asks it alone.
    /// </summary>
    /// <exception cref="AskTimeoutException">Fewer than <paramref name="needed"/> replicas answered in time.</exception>
    /// <exception cref="PartitionUnavailableException">Too few replicas answered, and one refused (it lost history, or is catching up).</exception>
    public async Task<List<T>> ReadAsync<T>(CollectionSpec spec, PartitionRef partition, Func<PartitionRef, IPartitionMessage> message, int needed, TimeSpan wait, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(message);
        int factor = spec.ReplicationFactor;
        if (factor <= 1) return [await AskRefusableAsync<T>(message(partition), wait, cancel).ConfigureAwait(false)];
        needed = Math.Clamp(needed, 1, factor);
        int first = Next() % factor;
        var order = Enumerable.Range(0, factor).Select(i => partition.WithReplica((first + i) % factor)).ToList();
        var pending = order.Take(needed).Select(r => partitions.Ask<T>(message(r), wait, cancel)).ToList();
        var later = order.Skip(needed).ToList();
        var answers = new List<T>(needed);
        var hedge = Task.Delay(HedgeAfter(wait), cancel);
        InvalidOperationException? refused = null;
        while (answers.Count < needed)
        {
            if (pending.Count == 0 && later.Count == 0)
                throw refused is not null
                    ? new PartitionUnavailableException(partition, $"Only {answers.Count} of the {needed} replicas a read needs of partition {partition.Primary()} answered: {refused.Message}")
                    : new AskTimeoutException($"Only {answers.Count} of the {needed} replicas a read needs of partition {partition} answered in time.");
            if (pending.Count == 0 || (later.Count > 0 && hedge.IsCompleted))
            {
                // Hedge (or replace a failed ask): every replica not asked yet.
                pending.AddRange(later.Select(r => partitions.Ask<T>(message(r), wait, cancel)));
                later.Clear();
                continue;
            }
            var done = later.Count == 0
                ? await Task.WhenAny(pending).ConfigureAwait(false)
                : await Task.WhenAny([.. pending, hedge]).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            if (done == hedge) continue;
            var answered = (Task<T>)done;
            pending.Remove(answered);
            if (answered.IsCompletedSuccessfully) answers.Add(answered.Result);
            else
            {
                refused = answered.Exception?.InnerException as InvalidOperationException ?? refused;
                if (later.Count > 0) hedge = Task.CompletedTask;
            }
        }
        return answers;
    }

    /// <summary>
    /// <see cref="ReadAsync{T}"/>, with a partition that cannot be read (too few replicas in time, or refusals) answered
    /// as null; only the read's cancellation is thrown.
    /// </summary>
    public async Task<List<T>?> TryReadAsync<T>(CollectionSpec spec, PartitionRef partition, Func<PartitionRef, IPartitionMessage> message, int needed, TimeSpan wait, CancellationToken cancel = default)
    {
        try
        {
            return await ReadAsync<T>(spec, partition, message, needed, wait, cancel).ConfigureAwait(false);
        }
        catch (Exception) when (!cancel.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// One partition's share of a write, to each of its replicas at once (through <paramref name="ask"/>, which knows
    /// the journal's health): the reply that decides — an acknowledgement with the most points applied among the first
    /// write-consistency ones, or a refusal, final at once since every replica would refuse alike — and how many
    /// replicas had acknowledged. The asks not yet answered go on after the write is acknowledged.
    /// </summary>
    /// <exception cref="WriteConsistencyException">Too few replicas acknowledged in time.</exception>
    /// <exception cref="JournalUnavailableException">The journal is down.</exception>
    /// <exception cref="PartitionUnavailableException">The partition (of a collection with one replica) refused: it lost history.</exception>
    public async Task<(IVLinkMessage Reply, int Acks)> WriteAsync(CollectionSpec spec, IPartitionMessage write, TimeSpan wait, Func<IPartitionMessage, TimeSpan, Task<IVLinkMessage>> ask)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(ask);
        int factor = Math.Max(1, spec.ReplicationFactor);
        int required = Math.Clamp(spec.WriteConsistency, 1, factor);
        if (factor == 1)
        {
            try
            {
                return (await ask(write, wait).ConfigureAwait(false), 1);
            }
            catch (InvalidOperationException e)
            {
                // The partition failed the ask: it lost history (or is catching up).
                throw new PartitionUnavailableException(write.Partition, e.Message);
            }
        }
        var pending = Enumerable.Range(0, factor).Select(i => ask(ForReplica(write, i), wait)).ToList();
        WriteAck? best = null;
        int acks = 0;
        Exception? failure = null;
        while (acks < required && pending.Count > 0)
        {
            var done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            if (!done.IsCompletedSuccessfully)
            {
                failure ??= done.Exception?.InnerException;
                if (acks + pending.Count < required) break;
                continue;
            }
            switch (done.Result)
            {
                case WriteAck ack:
                    acks++;
                    if (best is null || ack.Applied > best.Applied) best = ack;
                    break;
                default:
                    return (done.Result, acks);
            }
        }
        if (acks >= required) return (best!, acks);
        if (failure is JournalUnavailableException down) throw new JournalUnavailableException(down.Message);
        throw new WriteConsistencyException(spec.Name, write.Partition, acks, required, factor);
    }

    /// <summary>
    /// Asks a partition; a refusal (the partition fails the ask: it lost history, or is catching up) becomes a
    /// <see cref="PartitionUnavailableException"/> naming it.
    /// </summary>
    private async Task<T> AskRefusableAsync<T>(IPartitionMessage message, TimeSpan wait, CancellationToken cancel)
    {
        try
        {
            return await partitions.Ask<T>(message, wait, cancel).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new PartitionUnavailableException(message.Partition, e.Message);
        }
    }

    /// <summary>The same write addressed to replica <paramref name="replica"/> of its partition.</summary>
    private static IPartitionMessage ForReplica(IPartitionMessage write, int replica) => write switch
    {
        UpsertPoints m => m with { Partition = m.Partition.WithReplica(replica) },
        DeletePoints m => m with { Partition = m.Partition.WithReplica(replica) },
        DeletePointsByFilter m => m with { Partition = m.Partition.WithReplica(replica) },
        ChangePayload m => m with { Partition = m.Partition.WithReplica(replica) },
        _ => throw new InvalidOperationException($"{write.GetType().Name} is not a write replicas share."),
    };
}
