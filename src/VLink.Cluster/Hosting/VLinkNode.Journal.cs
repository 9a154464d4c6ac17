using Akka.Actor;
using Akka.Pattern;
using VLink.Cluster.Catalog;
using VLink.Cluster.Journal;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Hosting;

// Journal outages: every write asks through the node's journal gate, so it fails at once (or as soon as the journal goes
// down while it waits) instead of waiting out its timeout on a dead database.
public sealed partial class VLinkNode
{
    // The catalog comes back after a stop (a recovery from an unreachable journal, a term the journal refused); the
    // singleton manager itself never starts a stopped singleton again.
    private static readonly TimeSpan CatalogMinBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan CatalogMaxBackoff = TimeSpan.FromSeconds(2);

    /// <summary>Whether this node reaches its journal (probed, and told by the journal plugin of failed writes).</summary>
    public JournalHealth Journal => JournalHealth.For(System);

    /// <summary>
    /// Asks <paramref name="target"/> for a write: refused at once while the journal is down, failed as soon as it goes
    /// down while the write waits, and a <see cref="JournalUnavailable"/> answer becomes the exception too.
    /// </summary>
    /// <exception cref="JournalUnavailableException">The journal is down; the write was not acknowledged.</exception>
    internal async Task<IVLinkMessage> JournalledAskAsync(IActorRef target, IVLinkMessage write, TimeSpan wait)
    {
        var journal = Journal;
        journal.ThrowIfDown();
        var down = journal.WhenDown;
        var ask = target.Ask<IVLinkMessage>(write, wait);
        if (await Task.WhenAny(ask, down).ConfigureAwait(false) == down)
        {
            _ = ask.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            throw new JournalUnavailableException(journal.Describe());
        }
        var reply = await ask.ConfigureAwait(false);
        return reply is JournalUnavailable refused ? throw new JournalUnavailableException(refused.Reason) : reply;
    }

    internal static Props CatalogSupervisorProps() => BackoffSupervisor.Props(Backoff.OnStop(
        CatalogActor.Props(), "catalog", CatalogMinBackoff, CatalogMaxBackoff, randomFactor: 0.2, maxNrOfRetries: -1));
}
