using System.Collections.Immutable;
using Akka.Configuration;
using Akka.Persistence;
using VLink.Cluster.Journal;

namespace VLink.Testing;

/// <summary>
/// VLink's journal, whose answer to the writes of one persistence id a test can hold back (<see cref="Hold"/>): the events
/// are stored, but the entity hears so only once the test lets them go. An entity waiting on a <c>Persist</c> answers
/// nothing meanwhile, and no thread waits (as one would on a SQLite lock). Configured with
/// <c>akka.persistence.journal.sql.class = "VLink.Testing.HeldJournal, VLink.Testing"</c>.
/// </summary>
public sealed class HeldJournal(Config journalConfig) : VLinkSqlJournal(journalConfig)
{
    private sealed record Gate(string PersistenceId, TaskCompletionSource Released);

    private static Gate? s_gate;

    /// <summary>Holds the journal's answers to the writes of <paramref name="persistenceId"/> until the result is disposed.</summary>
    public static IDisposable Hold(string persistenceId)
    {
        var gate = new Gate(persistenceId, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (Interlocked.CompareExchange(ref s_gate, gate, null) is not null) throw new InvalidOperationException("The journal already holds a persistence id.");
        return new Release(gate);
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages as IReadOnlyCollection<AtomicWrite> ?? [.. messages];
        // The base journal is called at once, on the journal actor's thread (it reads its actor context); only its answer waits.
        var written = await base.WriteMessagesAsync(writes, cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref s_gate) is { } gate && writes.Any(w => w.PersistenceId == gate.PersistenceId))
            await gate.Released.Task.ConfigureAwait(false);
        return written;
    }

    private sealed class Release(Gate gate) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.CompareExchange(ref s_gate, null, gate);
            gate.Released.TrySetResult();
        }
    }
}
