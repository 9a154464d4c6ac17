using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace VLink.Cluster.Sharding;

/// <summary>
/// Shard allocation that never places two replicas of one partition on the same node while there are enough nodes:
/// shard <c>b#i</c> (replica i of the partitions whose base shard is <c>b</c>; <c>b</c> itself is replica 0) goes to the
/// least loaded region holding no other shard of the family <c>b</c>, <c>b#1</c>, <c>b#2</c>…; with fewer regions
/// than the family has shards, to the region where sharing costs least: sharing a node with sibling j costs
/// 2^-max(i, j), because the family is shared by every collection's partitions of that base shard and the pair
/// (i, j) matters only to collections with more than max(i, j) replicas — so replicas 0 and 1 (which every replicated
/// collection has) are kept apart first, and an R = 2 collection keeps its two copies on two nodes beside an R = 3 one. A shard whose family has no other member
/// allocated (every collection of replication factor 1) is allocated by Akka's least-shard strategy, as before
/// replicas, and rebalancing is that strategy's: it chooses which shards move, and every move is allocated again here,
/// so the rule holds after rebalances and after a node leaves (its shards are allocated again, restoring the
/// replication factor on the remaining nodes). A rebalance never moves two shards of one family at once.
/// A member whose journal is not the coordinator node's (see <see cref="Hosting.JournalGuard"/>) is given no shard and is
/// no target of a rebalance: a partition placed there would start without its history.
/// </summary>
public sealed class ReplicaAllocationStrategy : IShardAllocationStrategy, IActorSystemDependentAllocationStrategy
{
    private readonly IShardAllocationStrategy _fallback;

    /// <summary>A strategy that falls back on <paramref name="fallback"/> (Akka's least-shard strategy by default).</summary>
    public ReplicaAllocationStrategy(IShardAllocationStrategy? fallback = null) =>
        _fallback = fallback ?? ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: 5, relativeLimit: 0.1);

    /// <summary>The replica index of a shard id: 0 for a base shard, i for <c>b#i</c>.</summary>
    public static int ReplicaIndexOf(string shardId)
    {
        ArgumentNullException.ThrowIfNull(shardId);
        int hash = shardId.IndexOf('#');
        return hash >= 0 && int.TryParse(shardId.AsSpan(hash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i) ? i : 0;
    }

    /// <summary>The family of a shard id: the base shard, without a <c>#replica</c> suffix.</summary>
    public static string FamilyOf(string shardId)
    {
        int hash = shardId.IndexOf('#');
        return hash < 0 ? shardId : shardId[..hash];
    }

    /// <inheritdoc />
    public void Start(ActorSystem system)
    {
        _cluster = Akka.Cluster.Cluster.Get(system);
        if (_fallback is IActorSystemDependentAllocationStrategy dependent) dependent.Start(system);
    }

    /// <inheritdoc />
    public async Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        ArgumentNullException.ThrowIfNull(currentShardAllocations);
        // The coordinator may ask for several shards before the first allocation shows in its state — a write reaches
        // every replica of a partition at once — so the decisions not yet visible count as allocated.
        var allocations = OnOwnJournal(WithPending(currentShardAllocations));
        string family = FamilyOf(shardId);
        int Siblings(IImmutableList<string> shards) => shards.Count(s => s != shardId && FamilyOf(s) == family);
        IActorRef chosen;
        if (allocations.Count == 0 || allocations.Values.All(shards => Siblings(shards) == 0))
        {
            chosen = await _fallback.AllocateShard(requester, shardId, allocations).ConfigureAwait(false);
        }
        else
        {
            // Least sibling cost first (none while there are enough regions), then least loaded; the path breaks ties
            // so every coordinator incarnation decides alike.
            int index = ReplicaIndexOf(shardId);
            double Cost(IImmutableList<string> shards) =>
                shards.Where(s => s != shardId && FamilyOf(s) == family).Sum(s => Math.Pow(2, -Math.Max(index, ReplicaIndexOf(s))));
            chosen = allocations
                .OrderBy(r => Cost(r.Value))
                .ThenBy(r => r.Value.Count)
                .ThenBy(r => r.Key.Path.ToString(), StringComparer.Ordinal)
                .First().Key;
        }
        lock (_pending) _pending[shardId] = (chosen, Environment.TickCount64);
        return chosen;
    }

    private Akka.Cluster.Cluster? _cluster;

    /// <summary>The regions of members on this node's journal (those naming none are kept: nodes of an older version).</summary>
    private IImmutableDictionary<IActorRef, IImmutableList<string>> OnOwnJournal(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations)
    {
        if (_cluster is null || Hosting.JournalGuard.JournalRoleOf(_cluster.SelfMember) is not { } own) return allocations;
        var members = _cluster.State.Members.ToDictionary(m => m.Address);
        return SameJournal(allocations, own, region =>
        {
            var address = region.Path.Address.HasGlobalScope ? region.Path.Address : _cluster.SelfAddress;
            return members.TryGetValue(address, out var member) ? Hosting.JournalGuard.JournalRoleOf(member) : null;
        });
    }

    /// <summary>
    /// Of <paramref name="allocations"/>, the regions whose journal role (by <paramref name="roleOf"/>; null = unknown) is
    /// <paramref name="own"/> or unknown.
    /// </summary>
    public static IImmutableDictionary<IActorRef, IImmutableList<string>> SameJournal(
        IImmutableDictionary<IActorRef, IImmutableList<string>> allocations, string own, Func<IActorRef, string?> roleOf)
    {
        ArgumentNullException.ThrowIfNull(allocations);
        ArgumentNullException.ThrowIfNull(roleOf);
        var foreign = allocations.Keys.Where(r => roleOf(r) is { } role && role != own).ToList();
        return foreign.Count == 0 ? allocations : allocations.RemoveRange(foreign);
    }

    // Allocations this strategy decided that the coordinator's state does not show yet (forgotten once shown, once
    // their region is gone, or after PendingFor).
    private readonly Dictionary<string, (IActorRef Region, long At)> _pending = new(StringComparer.Ordinal);
    private const long PendingFor = 30_000;

    private IImmutableDictionary<IActorRef, IImmutableList<string>> WithPending(IImmutableDictionary<IActorRef, IImmutableList<string>> current)
    {
        lock (_pending)
        {
            if (_pending.Count == 0) return current;
            var shown = current.Values.SelectMany(s => s).ToHashSet(StringComparer.Ordinal);
            long now = Environment.TickCount64;
            foreach (var (shard, (region, at)) in _pending.ToList())
                if (shown.Contains(shard) || !current.ContainsKey(region) || now - at > PendingFor) _pending.Remove(shard);
            var result = current;
            foreach (var (shard, (region, _)) in _pending)
                result = result.SetItem(region, result[region].Add(shard));
            return result;
        }
    }

    /// <summary>
    /// The least-shard strategy's choice, less any shard whose family already has a member moving (in progress or chosen
    /// earlier in this round): two replicas of one partition never move at once, so one of them always serves.
    /// </summary>
    public async Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress)
    {
        ArgumentNullException.ThrowIfNull(rebalanceInProgress);
        var chosen = await _fallback.Rebalance(OnOwnJournal(currentShardAllocations), rebalanceInProgress).ConfigureAwait(false);
        return OneMovePerFamily(chosen, rebalanceInProgress);
    }

    /// <summary>Of <paramref name="chosen"/>, the shards (in id order) whose family has no other member moving.</summary>
    public static IImmutableSet<string> OneMovePerFamily(IEnumerable<string> chosen, IEnumerable<string> inProgress)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        var moving = inProgress.Select(FamilyOf).ToHashSet(StringComparer.Ordinal);
        var kept = ImmutableHashSet.CreateBuilder<string>(StringComparer.Ordinal);
        foreach (var shard in chosen.Order(StringComparer.Ordinal))
            if (moving.Add(FamilyOf(shard))) kept.Add(shard);
        return kept.ToImmutable();
    }
}
