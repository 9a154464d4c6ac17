using System.Collections.Immutable;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace VLink.Cluster.Journal;

/// <summary>
/// Akka.Persistence.Sql's journal, with one difference: a write that cannot reach the database (connection refused or
/// broken, a SQLite file locked by another process, no answer within <see cref="JournalSettings.WriteTimeout"/>) is
/// refused (<c>OnPersistRejected</c>: the entity lives on with its state in memory and goes on serving reads) instead
/// of failed (<c>OnPersistFailure</c>: Akka stops the entity, whose memory is then lost until the journal is back), and
/// the node's <see cref="JournalHealth"/> learns the journal is down. While the node knows the journal is down, writes
/// are refused without being attempted, and those waiting are let go at once. The writer was not acknowledged; as after any
/// timed-out request, a write whose commit was already under way may still land, and versions decide between it and
/// later writes. Errors the database answers (a constraint, a bad row) still fail the write as before.
/// Not sealed: a test derives from it to hold one partition's journal answers.
/// </summary>
public class VLinkSqlJournal : SqlWriteJournal
{
    private readonly JournalHealth _health;

    /// <summary>Creates the journal from its HOCON section (<c>akka.persistence.journal.sql</c>).</summary>
    public VLinkSqlJournal(Config journalConfig) : base(journalConfig)
    {
        _health = JournalHealth.For(Context.System);
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages as IReadOnlyCollection<AtomicWrite> ?? [.. messages];
        // Nothing is attempted while the node knows the journal is down.
        if (!_health.IsUp) return Refuse(writes.Count, null);
        var down = _health.WhenDown;
        _health.WriteStarted();
        var write = base.WriteMessagesAsync(writes, cancellationToken);
        // Counted until the database answers, even after the writer was refused.
        _ = write.ContinueWith(static (t, health) => ((JournalHealth)health!).WriteEnded(t.IsCompletedSuccessfully), _health,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var timeout = Task.Delay(_health.Settings.WriteTimeout, CancellationToken.None);
        // A write waiting on a database that stopped answering (a locked SQLite file) holds its actor's reads back
        // (Persist stashes them): it is let go as soon as the probe finds the journal down, or at the write timeout.
        var first = await Task.WhenAny(write, down, timeout).ConfigureAwait(false);
        if (first == down) return Refuse(writes.Count, null);
        if (first == timeout) return Refuse(writes.Count, new TimeoutException($"a write took longer than {_health.Settings.WriteTimeout.TotalSeconds:0.###} s"));
        try
        {
            return await write.ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && JournalTarget.IsUnreachable(e))
        {
            return Refuse(writes.Count, e);
        }
    }

    // Every write of the batch refused; the cause (when this write found the journal down) tells the node's gate.
    private ImmutableList<Exception> Refuse(int count, Exception? cause)
    {
        if (cause is not null) _health.ReportFailure(cause);
        var refused = new JournalUnavailableException(_health.Describe());
        return Enumerable.Repeat<Exception>(refused, count).ToImmutableList();
    }
}
