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
        Receive<NodeSearchPartitions>(HandleSearchPartitions);
    }

    // The hedge of a replicated search: every local replica of the partitions named, each answer apart.
    private void HandleSearchPartitions(NodeSearchPartitions search)
    {
        var keys = search.Keys.ToHashSet(StringComparer.Ordinal);
        var targets = _local.Where(p => p.Key.Collection == search.Collection && p.Key.Generation == search.Generation
            && keys.Contains(p.Key.Key) && search.Request.Visits(p.Key.Key)).ToList();
        string node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        var request = new SearchPartition(default, search.Request);
        var asks = targets.Select(t => t.Value.Ask<PartitionHits>(request with { Partition = t.Key }, _partitionTimeout)).ToList();
        Task.WhenAll(asks.Select(a => a.ContinueWith(x => x.IsCompletedSuccessfully ? x.Result : null, TaskScheduler.Default)))
            .ContinueWith(all => new NodePartitionHits(node, [.. all.Result.Where(r => r is not null).Select(r => r!)]), TaskScheduler.Default)
            .PipeTo(Sender);
    }

    // Stage one of a hybrid search: every local partition ranks by each method; the node merges the rankings method by
    // method and answers the best of each, so the coordinator fuses ranks that are global.
    private void HandleHybridSearch(NodeHybridSearch search)
    {
        var clock = Stopwatch.StartNew();
        var targets = _local.Where(p => p.Key.Collection == search.Collection && p.Key.Generation == search.Generation
            && search.Replicas.Reads(p.Key)).ToList();
        string node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        var asks = targets.Select(t => t.Value.Ask<PartitionHybridHits>(new SearchPartitionHybrid(t.Key, search.Request), _partitionTimeout)).ToList();
        var request = search.Request;
        Task.WhenAll(asks.Select(a => a.ContinueWith(x => x.IsCompletedSuccessfully ? x.Result : null, TaskScheduler.Default)))
            .ContinueWith(all =>
            {
                var answered = all.Result.Where(r => r is not null).Select(r => r!).ToList();
                var merged = request.Merge(answered.Select(a => a.Rankings));
                return new NodeHybridHits(node, merged, [.. answered.Select(a => a.Partition.EntityId)], request.RunsSemantic, (long)clock.Elapsed.TotalMicroseconds);
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
        var targets = _local.Where(p => p.Key.Collection == search.Collection && p.Key.Generation == search.Generation
            && search.Replicas.Reads(p.Key) && search.Request.Visits(p.Key.Key)).ToList();
        string node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        var request = new SearchPartition(default, search.Request);
        var asks = targets.Select(t => t.Value.Ask<PartitionHits>(request with { Partition = t.Key }, _partitionTimeout)).ToList();
        Task.WhenAll(asks.Select(a => a.ContinueWith(x => x.IsCompletedSuccessfully ? x.Result : null, TaskScheduler.Default)))
            .ContinueWith(all =>
            {
                var answered = all.Result.Where(r => r is not null).Select(r => r!).ToList();
                var merged = answered.Count == 0 ? [] : TopK.Merge(answered.Select(a => a.Hits), search.Request.FetchK);
                var timings = answered.Select(a => new PartitionTiming(a.Partition.EntityId, a.Hits.Count, a.ElapsedMicros)).ToList();
                return new NodeHits(node, merged, timings, (long)clock.Elapsed.TotalMicroseconds);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private void HandleSearchBatch(NodeSearchBatch search)
    {
        var clock = Stopwatch.StartNew();
        var targets = _local.Where(p => p.Key.Collection == search.Collection && p.Key.Generation == search.Generation
            && search.Replicas.Reads(p.Key) && search.Requests.Any(r => r.Visits(p.Key.Key))).ToList();
        string node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        var requests = search.Requests;
        // One message per local partition carries every query; the answers are merged per query.
        var asks = targets.Select(t => t.Value.Ask<PartitionHitsBatch>(new SearchPartitionBatch(t.Key, requests), _partitionTimeout)).ToList();
        Task.WhenAll(asks.Select(a => a.ContinueWith(x => x.IsCompletedSuccessfully ? x.Result : null, TaskScheduler.Default)))
            .ContinueWith(all =>
            {
                var answered = all.Result.Where(r => r is not null && r.Answers.Count == requests.Count).Select(r => r!).ToList();
                long elapsed = (long)clock.Elapsed.TotalMicroseconds;
                var answers = new NodeHits[requests.Count];
                for (int q = 0; q < requests.Count; q++)
                {
                    var perPartition = answered.Select(a => a.Answers[q]).ToList();
                    var merged = perPartition.Count == 0 ? [] : TopK.Merge(perPartition.Select(a => a.Hits), requests[q].FetchK);
                    var timings = perPartition.Select(a => new PartitionTiming(a.Partition.EntityId, a.Hits.Count, a.ElapsedMicros)).ToList();
                    answers[q] = new NodeHits(node, merged, timings, elapsed);
                }
                return new NodeHitsBatch(node, answers, elapsed);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }
}
