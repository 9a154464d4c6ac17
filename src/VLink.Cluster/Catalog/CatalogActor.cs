using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Catalog;

/// <summary>
/// The catalog: a persistent cluster singleton holding collections, partitions and settings. Every change is a
/// numbered log entry (term = incarnation of the singleton, index = sequence) acknowledged only once durable.
/// Each incarnation starts by journalling a higher term, so a reader can tell a failover happened. Single
/// leadership comes from Akka's singleton and split-brain resolver; durability from the journal. It also keeps the
/// partitions' watermarks (<c>CatalogActor.Watermarks.cs</c>).
/// </summary>
public sealed partial class CatalogActor : ReceivePersistentActor
{
    /// <summary>Singleton name; the proxy is reached at the same name with a "-proxy" suffix.</summary>
    public const string Name = "vlink-catalog";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private CatalogState _state = CatalogState.Empty;

    /// <summary>Props for the singleton.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new CatalogActor());

    /// <summary>Creates the actor.</summary>
    public CatalogActor()
    {
        Recover<CatalogTermStarted>(e => _state = _state.Apply(e));
        Recover<CatalogEntryAppended>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
            Persist(new CatalogTermStarted(_state.Term + 1), e =>
            {
                _state = _state.Apply(e);
                _log.Info("Catalog incarnation started: term {0}, index {1}, {2} collections", _state.Term, _state.Index, _state.Collections.Count);
            }));

        Command<GetCatalog>(_ => Sender.Tell(_state.ToSnapshot()));
        Command<GetCatalogStatus>(_ => Sender.Tell(new CatalogStatus(
            Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString(), _state.Term, _state.Index, _state.Collections.Count, CatalogSnapshot.CurrentSchemaVersion)));
        ReceiveWatermarks();
        Command<ICatalogCommand>(Change);
    }

    /// <inheritdoc />
    public override string PersistenceId => "vlink-catalog";

    private void Change(ICatalogCommand command)
    {
        var (change, error) = _state.Decide(command);
        if (error is not null)
        {
            Sender.Tell(new CatalogRejected(error));
            return;
        }
        if (change is null)
        {
            Sender.Tell(new CatalogAck(_state.Term, _state.Index));
            return;
        }
        if (RefuseWhileJournalDown()) return;
        var replyTo = Sender;
        Persist(new CatalogEntryAppended(_state.Term, _state.Index + 1, change), e =>
        {
            _state = _state.Apply(e);
            replyTo.Tell(new CatalogAck(e.Term, e.Index));
        });
    }
}
