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
/// the node's <see cref="JournalHealth"/> learns the journal is down. The writer was not acknowledged; as after any
/// timed-out request, a write whose commit was already under way may still land, and versions decide between it and
/// later writes. Errors the database answers (a constraint, a bad row) still fail the write as before.
/// </summary>
public sealed class VLinkSqlJournal : SqlWriteJournal
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
        var write = base.WriteMessagesAsync(writes, cancellationToken);
        try
        {
            return await write.WaitAsync(_health.Settings.WriteTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!write.IsCompleted)
        {
            return Refuse(writes.Count, new TimeoutException($"a write took longer than {_health.Settings.WriteTimeout.TotalSeconds:0.###} s"));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && JournalTarget.IsUnreachable(e))
        {
            return Refuse(writes.Count, e);
        }
    }

    private ImmutableList<Exception> Refuse(int count, Exception cause)
    {
        _health.ReportFailure(cause);
        var refused = new JournalUnavailableException(_health.Describe());
        return Enumerable.Repeat<Exception>(refused, count).ToImmutableList();
    }
}
