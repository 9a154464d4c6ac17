using Akka.Actor;
using VLink.Cluster.Journal;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Catalog;

// Journal outages: the catalog refuses changes while its node cannot reach the journal and keeps answering reads.
public sealed partial class CatalogActor
{
    private JournalHealth? _journal;

    // While the journal is down, a change is answered at once with JournalUnavailable, before any persist.
    private bool RefuseWhileJournalDown() => (_journal ??= JournalHealth.For(Context.System)).Refuse(Sender);

    /// <summary>
    /// The journal did not store the event: a change's writer is told. An incarnation whose term was not stored stops
    /// (its supervisor starts it again after a back-off), so no entry is ever written under the previous term.
    /// </summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        if (@event is CatalogTermStarted)
        {
            Context.Stop(Self);
            return;
        }
        if (!Sender.IsNobody()) Sender.Tell(new JournalUnavailable(cause.Message));
    }
}
