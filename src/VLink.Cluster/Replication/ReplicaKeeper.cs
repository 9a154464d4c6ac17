using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Replication;

/// <summary>
/// Restores the replication factor after a node is removed. Shards are allocated lazily — a replica whose node died is
/// started elsewhere only when a message reaches it — so when a member is removed the cluster leader's keeper wakes every
/// replica of every replicated collection (a statistics query each, through the shard region): the shard coordinator
/// then allocates the lost replicas to nodes holding no sibling (<see cref="Sharding.ReplicaAllocationStrategy"/>), and
/// each recovers from its journal and catches up from its siblings. It retries until every replica answered, and also
/// wakes them every <see cref="Period"/>, so replicas idle long enough to be passivated come back before they are needed.
/// </summary>
public sealed class ReplicaKeeper : ReceiveActor, IWithTimers
{
    /// <summary>How often every replica is woken even when no member left.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(3);
    private const int MaxRetries = 40;

    private readonly VLinkNode _node;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private bool _running;

    /// <summary>Props of the keeper of a node.</summary>
    public static Props Props(VLinkNode node) => Akka.Actor.Props.Create(() => new ReplicaKeeper(node));

    /// <summary>Creates the keeper.</summary>
    public ReplicaKeeper(VLinkNode node)
    {
        _node = node;
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            _log.Info("Member {0} was removed; waking every replica so the lost ones are allocated again", removed.Member.Address);
            Timers.StartSingleTimer("removed", new Wake(0), TimeSpan.FromSeconds(1));
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<Wake>(HandleWake);
        Receive<Woken>(woken =>
        {
            _running = false;
            if (woken.Missing == 0)
            {
                if (woken.Replicas > 0 && woken.Attempt > 0) _log.Info("All {0} replicas answer again", woken.Replicas);
                return;
            }
            if (woken.Attempt + 1 >= MaxRetries)
            {
                _log.Warning("{0} of {1} replicas still do not answer; trying again at the next period", woken.Missing, woken.Replicas);
                return;
            }
            Timers.StartSingleTimer("retry", new Wake(woken.Attempt + 1), Retry);
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));
        Timers.StartPeriodicTimer("period", new Wake(0), Period);
    }

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void HandleWake(Wake wake)
    {
        // One node does it: the leader (any node would do, and waking twice is harmless, but once is enough).
        if (_running || _cluster.State.Leader is not { } leader || !leader.Equals(_cluster.SelfAddress)) return;
        _running = true;
        WakeAllAsync(wake.Attempt).PipeTo(Self, success: w => w, failure: _ => new Woken(wake.Attempt, 0, 1));
    }

    private async Task<Woken> WakeAllAsync(int attempt)
    {
        var catalog = await _node.CatalogAsync().ConfigureAwait(false);
        var replicas = catalog.Collections
            .Where(c => c.Spec.ReplicationFactor > 1)
            .SelectMany(c => c.Partitions().SelectMany(c.Spec.Replicas))
            .ToList();
        var wait = _node.Settings.Gather.Timeout;
        var answers = await Task.WhenAll(replicas.Select(async r =>
        {
            try
            {
                await _node.Partitions.Ask<PartitionStats>(new GetPartitionStats(r), wait).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return false;
            }
        })).ConfigureAwait(false);
        return new Woken(attempt, replicas.Count, answers.Count(a => !a));
    }

    private sealed record Wake(int Attempt);

    private sealed record Woken(int Attempt, int Replicas, int Missing);
}
