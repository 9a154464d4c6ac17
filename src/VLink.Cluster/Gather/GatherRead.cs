using Akka.Actor;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Gather;

/// <summary>
/// One read on the Gather Engine's stages (scatter → collect by deadline → hedge the missing → merge): what each node is
/// asked and how its answer folds into the result, how one replica of a missing partition is asked and how its answer
/// folds in. The base keeps, per query of the read (a batch has several, other reads one), which partitions answered
/// and which their node named as not answering; the stages call it from one stream at a time, never concurrently.
/// </summary>
/// <typeparam name="TNode">A node agent's answer.</typeparam>
/// <typeparam name="TPartition">One partition's answer.</typeparam>
internal abstract class GatherRead<TNode, TPartition>
    where TNode : class
    where TPartition : class
{
    private readonly HashSet<string>[] _answered;
    private readonly HashSet<string>[] _named;
    private readonly List<PartitionRef>[] _expected;

    /// <summary>A read of <paramref name="entry"/> with <paramref name="queries"/> queries, each visiting the partitions <paramref name="visits"/> says.</summary>
    protected GatherRead(CollectionEntry entry, int queries, Func<int, string, bool> visits)
    {
        Entry = entry;
        var all = entry.Partitions().ToList();
        _expected = [.. Enumerable.Range(0, queries).Select(q => all.Where(p => visits(q, p.Key)).ToList())];
        _answered = [.. Enumerable.Range(0, queries).Select(_ => new HashSet<string>(StringComparer.Ordinal))];
        _named = [.. Enumerable.Range(0, queries).Select(_ => new HashSet<string>(StringComparer.Ordinal))];
    }

    /// <summary>A partition (replica 0) still missing for some queries of the read.</summary>
    public sealed record Gap(PartitionRef Partition, int[] Queries);

    /// <summary>The collection read.</summary>
    public CollectionEntry Entry { get; }

    /// <summary>Queries in the read.</summary>
    public int Queries => _expected.Length;

    /// <summary>The message each node's agent is asked (stage one), with the time the coordinator still waits.</summary>
    public abstract IVLinkMessage NodeMessage(ReplicaChoice replicas, TimeSpan budget);

    /// <summary>Folds in one node's answer; null when the node did not answer in time.</summary>
    public abstract void AddNode(Address node, TNode? answer);

    /// <summary>The message asking <paramref name="replica"/> of a missing partition for the queries it missed.</summary>
    public abstract IPartitionMessage PartitionMessage(PartitionRef replica, int[] queries);

    /// <summary>Folds in one partition's answer to the queries of <paramref name="gap"/>.</summary>
    public abstract void AddPartition(Gap gap, TPartition answer);

    /// <summary>The partition an answer came from.</summary>
    protected abstract PartitionRef PartitionOf(TPartition answer);

    /// <summary>An answer to every query of the read narrowed to those of <paramref name="gap"/>; null when it does not fit.</summary>
    protected virtual TPartition? ForGap(TPartition answer, Gap gap) => answer;

    /// <summary>
    /// The message asking every node's agent for its local replicas of the partitions with these keys (the hedge of a
    /// replicated collection that works while this node's shard region cannot locate a shard): each is asked for every
    /// query of the read.
    /// </summary>
    public IVLinkMessage AgentHedge(IReadOnlyList<string> keys, TimeSpan budget) =>
        new NodeAskPartitions(Entry.Spec.Name, Entry.Generation, keys, PartitionMessage(Entry.Partition(keys[0]), [.. Enumerable.Range(0, Queries)]), budget);

    /// <summary>The answer for <paramref name="gap"/> in an agent's answer to <see cref="AgentHedge"/>, or null.</summary>
    public TPartition? FromAgentHedge(IVLinkMessage answer, Gap gap) =>
        (answer as NodePartitionAnswers)?.Answers.OfType<TPartition>()
            .Where(a => PartitionOf(a).Key == gap.Partition.Key)
            .Select(a => ForGap(a, gap))
            .FirstOrDefault(a => a is not null);

    /// <summary>
    /// The partitions still missing: for each, the queries it has not answered. Partitions a node named as not answering
    /// (it asked them, and they were slow or refused) are left out unless <paramref name="includeNamed"/>: with one
    /// replica, asking the same partition again through its shard cannot answer sooner.
    /// </summary>
    public List<Gap> Gaps(bool includeNamed)
    {
        var gaps = new Dictionary<string, (PartitionRef Partition, List<int> Queries)>(StringComparer.Ordinal);
        for (int q = 0; q < _expected.Length; q++)
            foreach (var p in _expected[q])
            {
                if (_answered[q].Contains(p.EntityId) || (!includeNamed && _named[q].Contains(p.EntityId))) continue;
                if (!gaps.TryGetValue(p.EntityId, out var gap)) gaps[p.EntityId] = gap = (p, []);
                gap.Queries.Add(q);
            }
        return [.. gaps.Values.Select(g => new Gap(g.Partition, [.. g.Queries]))];
    }

    /// <summary>The partitions (replica 0's entity ids) query <paramref name="query"/> has not heard from.</summary>
    public List<string> MissingOf(int query) => [.. _expected[query].Select(p => p.EntityId).Where(p => !_answered[query].Contains(p))];

    /// <summary>Query <paramref name="query"/> heard from the partition of this entity id (any replica).</summary>
    protected void Answered(int query, string entityId) => _answered[query].Add(PrimaryId(entityId));

    /// <summary>A node named the partition of this entity id as not answering query <paramref name="query"/>.</summary>
    protected void Named(int query, string entityId) => _named[query].Add(PrimaryId(entityId));

    /// <summary>The partition (its replica 0's entity id) an answering replica's entity id belongs to.</summary>
    private static string PrimaryId(string entityId) =>
        entityId.Contains('#', StringComparison.Ordinal) ? PartitionRef.FromEntityId(entityId).Primary().EntityId : entityId;
}
