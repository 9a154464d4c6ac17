using Akka.Actor;
using VLink.Cluster.Journal;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Partitions;

// Journal outages: a partition refuses writes while its node cannot reach the journal, and lives on (serving reads
// from memory) when the journal refuses an event it could not store.
public sealed partial class PartitionEntity
{
    private JournalHealth? _journal;

    // While the journal is down, a write is answered at once with JournalUnavailable, before any persist.
    private bool RefuseWhileJournalDown() => (_journal ??= JournalHealth.For(Context.System)).Refuse(Sender);

    /// <summary>
    /// The journal did not store the event (<see cref="VLinkSqlJournal"/> refuses what it could not write): the state
    /// stays as it was, so the writer is told and reads go on. The sender here is the write's.
    /// </summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        // Every event but the seal is journalled with PersistAsync (PartitionEntity.Writes.cs): a refused one is done with.
        if (@event is not PartitionSealed) Settled();
        // A first write journals the spec and the points together: one answer for the two. Catch-up pages are retried by the next round.
        if (@event is PartitionInitialized || Sender.IsNobody() || Sender.Equals(_sync)) return;
        Sender.Tell(new JournalUnavailable(cause.Message));
    }
}
