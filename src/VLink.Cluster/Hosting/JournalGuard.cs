using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace VLink.Cluster.Hosting;

/// <summary>
/// Keeps a cluster on one journal. Every member carries its store's role (<see cref="JournalIdentity.Role"/>); when
/// this node sees a member whose store is not its own, the newer of the two is the one that does not belong: if that
/// is this node, it logs the error naming the fix, reports it (<see cref="VLinkNode.JournalRefusal"/>) and leaves the
/// cluster before it is given any partition; if it is the other, this node logs a warning, and
/// <see cref="Sharding.ReplicaAllocationStrategy"/> never places a partition on it.
/// </summary>
public sealed class JournalGuard : ReceiveActor
{
    /// <summary>The actor's name under <c>/user</c>.</summary>
    public const string Name = "vlink-journal-guard";

    private readonly JournalIdentity _own;
    private readonly TaskCompletionSource<string> _refusal;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<Address> _warned = [];
    private bool _leaving;

    /// <summary>Props for the guard of a node whose store is <paramref name="own"/>; <paramref name="refusal"/> completes if it must leave.</summary>
    public static Props Props(JournalIdentity own, TaskCompletionSource<string> refusal) =>
        Akka.Actor.Props.Create(() => new JournalGuard(own, refusal));

    /// <summary>Creates the guard.</summary>
    public JournalGuard(JournalIdentity own, TaskCompletionSource<string> refusal)
    {
        _own = own;
        _refusal = refusal;
        Receive<ClusterEvent.IMemberEvent>(e => Check(e.Member));
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Members) Check(member);
        });
    }

    /// <summary>The journal role of <paramref name="member"/>, or null when it names none (a node of an older version).</summary>
    public static string? JournalRoleOf(Member member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return member.Roles.FirstOrDefault(r => r.StartsWith(JournalIdentity.RolePrefix, StringComparison.Ordinal));
    }

    /// <summary>
    /// Whether <paramref name="self"/> is the newer of two members: an Up member is older than one still joining; two Up
    /// members by their age in the cluster; two joining members by address, so both sides decide alike.
    /// </summary>
    public static bool IsNewer(Member self, Member other)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(other);
        bool selfUp = self.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting;
        bool otherUp = other.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting;
        if (selfUp != otherUp) return otherUp;
        if (selfUp) return other.IsOlderThan(self);
        return Member.AddressOrdering.Compare(self.Address, other.Address) > 0;
    }

    /// <inheritdoc />
    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Check(Member member)
    {
        if (member.Address.Equals(_cluster.SelfAddress) || member.Status is MemberStatus.Down or MemberStatus.Removed) return;
        if (JournalRoleOf(member) is not { } theirs || theirs == _own.Role) return;
        // The latest view of this node: the event's copy of it may be older.
        var self = _cluster.SelfMember;
        if (IsNewer(self, member))
        {
            if (_leaving) return;
            _leaving = true;
            string message = JournalIdentity.IntruderMessage(_own, member.Address.ToString(), theirs);
            _log.Error(message);
            _refusal.TrySetResult(message);
            _cluster.Leave(_cluster.SelfAddress);
        }
        else if (_warned.Add(member.Address))
        {
            _log.Warning("Cluster member {0} uses another journal than this node's {1} ({2}): it is given no partition and should leave.",
                member.Address, _own.Description, theirs);
        }
    }
}
