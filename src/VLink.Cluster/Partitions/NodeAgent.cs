using System.Diagnostics;
using Akka.Actor;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

/// <summary>
/// One per node, at <c>/user/vlink-node</c>: knows the partitions living on this node and answers a
/// <see cref="NodeSearch"/> by searching all of the collection's local partitions (of the asked generation) and
/// merging their top-k' (stage 1 of the gather), so a global search costs one message per node, not per partition.
/// A <see cref="NodeSearchBatch"/> sends one <see cref="SearchPartitionBatch"/> per local partition and merges per query.
/// Of a replicated collection, each search reads the one replica of each partition its <see cref="ReplicaChoice"/> names.
/// Every search carries the coordinator's budget: the agent waits for its partitions that long less a margin
/// (<see cref="Gather.ReadDeadline.ForPartitions"/>) and answers with what it has, naming the partitions that did not
/// answer or refused, so one slow partition does not make the whole node's answer late.
/// A <see cref="GetNodeInventory"/> is answered with every local partition's statistics (for operators).
/// </summary>
public sealed class NodeAgent : ReceiveActor
{
    /// <summary>The agent's actor name; the gatherer addresses <c>{node}/user/vlink-node</c>.</summary>
    public const string Name = "vlink-node";

    /// <summary>A partition entity started on this node.</summary>
    public sealed record Register(PartitionRef Partition, IActorRef Entity);

    /// <summary>A partition entity stopped (passivated, handed off, or failed).</summary>
    public sealed record Unregister(PartitionRef Partition, IActorRef Entity);

    /// <summary>Lists the partitions hosted here (for operators and tests).</summary>
    public sealed record ListPartitions
    {
        /// <summary>The only instance.</summary>
        public static readonly ListPartitions Instance = new();
    }

    /// <summary>The partitions hosted here.</summary>
    public sealed record LocalPartitions(IReadOnlyList<PartitionRef> Partitions);

    private readonly Dictionary<PartitionRef, IActorRef> _local = [];
    private readonly TimeSpan _partitionTimeout;

    /// <summary>Props for the agent.</summary>
    public static Props Props(TimeSpan partitionTimeout) => Akka.Actor.Props.Create(() => new NodeAgent(partitionTimeout));

    /// <summary>Creates the agent.</summary>
    public NodeAgent(TimeSpan partitionTimeout)
    {
        _partitionTimeout = partitionTimeout;
        Receive<Register>(r =>
        {
            _local[r.Partition] = r.Entity;
            Context.Watch(r.Entity);
        });
        Receive<Unregister>(u =>
        {
            if (_local.TryGetValue(u.Partition, out var entity) && entity.Equals(u.Entity)) _local.Remove(u.Partition);
        });
        Receive<Terminated>(t =>
        {
            foreach (var (partition, entity) in _local.ToList())
                if (entity.Equals(t.ActorRef)) _local.Remove(partition);
        });
        Receive<ListPartitions>(_ => Sender.Tell(new LocalPartitions([.. _local.Keys])));
        Receive<GetNodeInventory>(_ => HandleInventory());
        Receive<NodeSearch>(HandleSearch);
        Receive<NodeSearchBatch>(HandleSearchBatch);
        Receive<NodeHybridSearch>(HandleHybridSearch);
        Receive<NodeAskPartitions>(HandleAskPartitions);
    }

    // The hedge of a replicated read: every local replica of the partitions named, asked the read's partition message,
    // each answer apart.
    private void HandleAskPartitions(NodeAskPartitions ask)
    {
        var keys = ask.Keys.ToHashSet(StringComparer.Ordinal);
        var targets = Local(ask.Collection, ask.Generation, p => keys.Contains(p.Key));
        string node = SelfNode;
        AskAll<IVLinkMessage>(targets, p => NodeAskPartitions.Readdress(ask.Ask, p), ask.Budget)
            .ContinueWith(all => new NodePartitionAnswers(node, all.Result.Answered), TaskScheduler.Default)
            .PipeTo(Sender);
    }

    // Stage one of a hybrid search: every local partition ranks by each method; the node merges the rankings method by
    // method and answers the best of each, so the coordinator fuses ranks that are global.
    private void HandleHybridSearch(NodeHybridSearch search)
    {
        var clock = Stopwatch.StartNew();
        var targets = Local(search.Collection, search.Generation, search.Replicas.Reads);
        string node = SelfNode;
        var request = search.Request;
        AskAll<PartitionHybridHits>(targets, p => new SearchPartitionHybrid(p, request), search.Budget)
            .ContinueWith(all =>
            {
                var (answered, missing) = all.Result;
                var merged = request.Merge(answered.Select(a => a.Rankings));
                return new NodeHybridHits(node, merged, [.. answered.Select(a => a.Partition.EntityId)], request.RunsSemantic, (long)clock.Elapsed.TotalMicroseconds, missing);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private void HandleInventory()
    {
        string node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        var asks = _local.Select(p => p.Value.Ask<PartitionStats>(new GetPartitionStats(p.Key), _partitionTimeout)
            .ContinueWith(x => x.IsCompletedSuccessfully ? x.Result : null, TaskScheduler.Default)).ToList();
        Task.WhenAll(asks)
            .ContinueWith(all =>
            {
                var answered = all.Result.Where(s => s is not null).Select(s => s!)
                    .OrderBy(s => s.Partition.Collection, StringComparer.Ordinal)
                    .ThenBy(s => s.Partition.Generation)
                    .ThenBy(s => s.Partition.Key, StringComparer.Ordinal)
                    .ToList();
                return new NodeInventory(node, answered, asks.Count - answered.Count);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private void HandleSearch(NodeSearch search)
    {
        var clock = Stopwatch.StartNew();
        var targets = Local(search.Collection, search.Generation, p => search.Replicas.Reads(p) && search.Request.Visits(p.Key));
        string node = SelfNode;
        var request = new SearchPartition(default, search.Request);
        int fetchK = search.Request.FetchK;
        AskAll<PartitionHits>(targets, p => request with { Partition = p }, search.Budget)
            .ContinueWith(all =>
            {
                var (answered, missing) = all.Result;
                var merged = answered.Count == 0 ? [] : TopK.Merge(answered.Select(a => a.Hits), fetchK);
                var timings = answered.Select(a => new PartitionTiming(a.Partition.EntityId, a.Hits.Count, a.ElapsedMicros)).ToList();
                return new NodeHits(node, merged, timings, (long)clock.Elapsed.TotalMicroseconds, missing);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private void HandleSearchBatch(NodeSearchBatch search)
    {
        var clock = Stopwatch.StartNew();
        var requests = search.Requests;
        var targets = Local(search.Collection, search.Generation, p => search.Replicas.Reads(p) && requests.Any(r => r.Visits(p.Key)));
        string node = SelfNode;
        // One message per local partition carries every query; the answers are merged per query.
        AskAll<PartitionHitsBatch>(targets, p => new SearchPartitionBatch(p, requests), search.Budget)
            .ContinueWith(all =>
            {
                var (batches, missing) = all.Result;
                // An answer of the wrong length is not trusted: that partition counts as missing.
                var answered = batches.Where(b => b.Answers.Count == requests.Count).ToList();
                missing = [.. missing, .. batches.Where(b => b.Answers.Count != requests.Count).Select(b => b.Partition.EntityId)];
                long elapsed = (long)clock.Elapsed.TotalMicroseconds;
                var answers = new NodeHits[requests.Count];
                for (int q = 0; q < requests.Count; q++)
                {
                    var perPartition = answered.Select(a => a.Answers[q]).ToList();
                    var merged = perPartition.Count == 0 ? [] : TopK.Merge(perPartition.Select(a => a.Hits), requests[q].FetchK);
                    var timings = perPartition.Select(a => new PartitionTiming(a.Partition.EntityId, a.Hits.Count, a.ElapsedMicros)).ToList();
                    var visitedMissing = missing.Where(m => requests[q].Visits(PartitionRef.FromEntityId(m).Key)).ToList();
                    answers[q] = new NodeHits(node, merged, timings, elapsed, visitedMissing);
                }
                return new NodeHitsBatch(node, answers, elapsed);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private string SelfNode => Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();

    // The local partitions of a collection's generation that a request reads.
    private List<KeyValuePair<PartitionRef, IActorRef>> Local(string collection, long generation, Func<PartitionRef, bool> reads) =>
        [.. _local.Where(p => p.Key.Collection == collection && p.Key.Generation == generation && reads(p.Key))];

    /// <summary>
    /// Asks every target at once and completes by the coordinator's budget less a margin (or the agent's own timeout
    /// without one): the answers that came, and the entity ids of the partitions that did not answer in time or refused
    /// (a replica catching up, a partition that lost history) — so one slow partition does not make the node's answer late.
    /// </summary>
    private Task<(List<T> Answered, List<string> Missing)> AskAll<T>(List<KeyValuePair<PartitionRef, IActorRef>> targets, Func<PartitionRef, object> message, TimeSpan budget)
        where T : class
    {
        var wait = Gather.ReadDeadline.ForPartitions(budget, _partitionTimeout);
        var asks = targets.Select(t => t.Value.Ask<T>(message(t.Key), wait)).ToList();
        return Task.WhenAll(asks.Select(a => a.ContinueWith(static x => x.IsCompletedSuccessfully ? x.Result : null, TaskScheduler.Default)))
            .ContinueWith(all =>
            {
                var answered = new List<T>(asks.Count);
                var missing = new List<string>();
                for (int i = 0; i < asks.Count; i++)
                {
                    if (all.Result[i] is { } answer) answered.Add(answer);
                    else missing.Add(targets[i].Key.EntityId);
                }
                return (answered, missing);
            }, TaskScheduler.Default);
    }
}
