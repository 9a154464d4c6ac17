using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using VLink.Cluster.Gather;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Cluster.Tests;

/// <summary>Actors of one node, alone: a node agent and a Gather Engine whose partitions, agent and catalog are stand-ins.</summary>
public abstract class OneNodeKit() : TestKit("""
    akka.actor.provider = cluster
    akka.remote.dot-netty.tcp.hostname = 127.0.0.1
    akka.remote.dot-netty.tcp.port = 0
    akka.loglevel = WARNING
    """)
{
    /// <summary>A partition that answers every search with one hit, or refuses it.</summary>
    protected sealed class StandIn : ReceiveActor
    {
        public StandIn(PartitionRef partition, ulong id, Exception? refusal = null)
        {
            Receive<SearchPartition>(_ => Sender.Tell(refusal is null
                ? new PartitionHits(partition, [new SearchHit(id, 0.5f)], 1, 10)
                : new Status.Failure(refusal)));
        }
    }

    /// <summary>Answers the catalog's question with one snapshot.</summary>
    protected sealed class CatalogStandIn : ReceiveActor
    {
        public CatalogStandIn(CatalogSnapshot snapshot) => Receive<GetCatalog>(_ => Sender.Tell(snapshot));
    }

    /// <summary>Stands at the agent's path and hands what it gets to a probe (the sender kept).</summary>
    protected sealed class Forward : ReceiveActor
    {
        public Forward(IActorRef probe) => ReceiveAny(m => probe.Forward(m));
    }
}

/// <summary>A node agent answers by its coordinator's budget less a margin, naming the partitions that did not answer.</summary>
public sealed class NodeAgentDeadlineTests : OneNodeKit
{
    private static readonly SearchRequest Request = new([1f, 0f], 2, 4, null, true);

    [Fact]
    public async Task One_held_partition_is_named_and_the_others_answer_by_the_budget_less_its_margin()
    {
        var agent = Sys.ActorOf(NodeAgent.Props(TimeSpan.FromSeconds(30)));
        var partitions = Enumerable.Range(0, 3).Select(i => new PartitionRef("docs", $"p{i}", 1)).ToList();
        agent.Tell(new NodeAgent.Register(partitions[0], Sys.ActorOf(Props.Create(() => new StandIn(partitions[0], 1UL, null)))));
        agent.Tell(new NodeAgent.Register(partitions[1], Sys.ActorOf(Props.Create(() => new StandIn(partitions[1], 2UL, null)))));
        var held = CreateTestProbe();
        agent.Tell(new NodeAgent.Register(partitions[2], held.Ref));

        var clock = Stopwatch.StartNew();
        var answer = await agent.Ask<NodeHits>(new NodeSearch("docs", Request, 1, default, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(10));
        var elapsed = clock.Elapsed;

        held.ExpectMsg<SearchPartition>();
        Assert.Equal([partitions[2].EntityId], answer.Missing);
        Assert.Equal([partitions[0].EntityId, partitions[1].EntityId], answer.Partitions.Select(p => p.Partition).Order());
        Assert.Equal([1UL, 2UL], answer.Hits.Select(h => h.Id.Number).Order());
        // The budget less its margin (a fifth: 200 ms), not the agent's own 30 s.
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(750), TimeSpan.FromMilliseconds(1500));
    }

    [Fact]
    public async Task A_refusing_partition_is_named_at_once()
    {
        var agent = Sys.ActorOf(NodeAgent.Props(TimeSpan.FromSeconds(30)));
        var ok = new PartitionRef("docs", "p0", 1);
        var refusing = new PartitionRef("docs", "p1", 1);
        agent.Tell(new NodeAgent.Register(ok, Sys.ActorOf(Props.Create(() => new StandIn(ok, 1UL, null)))));
        agent.Tell(new NodeAgent.Register(refusing, Sys.ActorOf(Props.Create(() => new StandIn(refusing, 2UL, new InvalidOperationException("catching up"))))));

        var clock = Stopwatch.StartNew();
        var answer = await agent.Ask<NodeHits>(new NodeSearch("docs", Request, 1, default, TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(10));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"answered after {clock.Elapsed}");
        Assert.Equal([refusing.EntityId], answer.Missing);
        Assert.Equal([1UL], answer.Hits.Select(h => h.Id.Number));
    }
}

/// <summary>
/// The Gather Engine against stand-ins: a node agent that answers for one of two partitions, so the engine asks the
/// other through its shard region (a probe) — unless the search was cancelled, which stops its asks.
/// </summary>
public sealed class GatherCancellationTests : OneNodeKit
{
    private readonly CollectionEntry _entry = new(ClusterData.HashSpec("docs", 2, 2, 100), [], 1);

    private async Task<(GatherEngine Engine, Akka.TestKit.TestProbe Agent, Akka.TestKit.TestProbe Region)> StartAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        await AwaitAssertAsync(() => Assert.Contains(cluster.State.Members, m => m.Status == Akka.Cluster.MemberStatus.Up), TimeSpan.FromSeconds(10));
        var agent = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new Forward(agent.Ref)), NodeAgent.Name);
        var region = CreateTestProbe();
        var snapshot = new CatalogSnapshot(1, 1, new List<CollectionEntry> { _entry });
        var catalog = Sys.ActorOf(Props.Create(() => new CatalogStandIn(snapshot)));
        return (new GatherEngine(Sys, region.Ref, catalog, new GatherSettings(TimeSpan.FromSeconds(5))), agent, region);
    }

    private NodeHits OnlyP0(string node) =>
        new(node, [new SearchHit(1UL, 0.5f)], [new PartitionTiming(_entry.Partition("p0").EntityId, 1, 10)], 10);

    [Fact]
    public async Task Left_alone_a_search_asks_the_partition_its_node_did_not_report_and_a_refusal_is_a_missing_partition()
    {
        var (engine, agent, region) = await StartAsync();
        var clock = Stopwatch.StartNew();
        var search = engine.SearchAsync("docs", [1f, 0f], 3, timeout: TimeSpan.FromSeconds(2));

        var asked = agent.ExpectMsg<NodeSearch>();
        Assert.InRange(asked.Budget, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2));
        agent.LastSender.Tell(OnlyP0(asked.Collection));
        var woken = region.ExpectMsg<SearchPartition>();
        Assert.Equal(_entry.Partition("p1"), woken.Partition);
        // A refusal of any kind (here not the InvalidOperationException partitions send) counts as not answering.
        region.LastSender.Tell(new Status.Failure(new IOException("replica catching up")));

        var result = await search;
        Assert.False(result.Complete);
        Assert.Equal([_entry.Partition("p1").EntityId], result.MissingPartitions);
        Assert.Equal([1UL], result.Hits.Select(h => h.Id.Number));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"answered after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_cancelled_search_ends_at_once_and_its_asks_stop()
    {
        var (engine, agent, region) = await StartAsync();
        using var cancel = new CancellationTokenSource();
        var search = engine.SearchAsync("docs", [1f, 0f], 3, cancellationToken: cancel.Token, timeout: TimeSpan.FromSeconds(2));

        var asked = agent.ExpectMsg<NodeSearch>();
        var ask = agent.LastSender;
        var clock = Stopwatch.StartNew();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => search);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(500), $"ended {clock.Elapsed} after the cancel");

        // The ask is gone: the node's late answer (which, to a live search, leaves p1 to ask through its shard — see
        // above) makes no partition be asked.
        ask.Tell(OnlyP0(asked.Collection));
        region.ExpectNoMsg(TimeSpan.FromSeconds(3));
    }
}

/// <summary>
/// A partition that answers nothing in a real three-node cluster: its seal is journalled with <c>Persist</c>, which holds
/// every message until the journal answers, and the test holds the journal's answers to that partition
/// (<see cref="HeldJournal"/>). Searches from every node answer by their deadline with the other partitions' hits,
/// naming that partition alone.
/// </summary>
public sealed class SlowPartitionTests : IAsyncLifetime
{
    private const int Partitions = 6;
    private const int Dimension = 8;
    private TestCluster _cluster = null!;
    private readonly float[][] _vectors = ClusterData.Clustered(600, Dimension, 6, seed: 11);

    public async Task InitializeAsync()
    {
        // The journal's breaker does not fail the held seal while the test holds it.
        _cluster = await TestCluster.StartAsync(3, extraHocon: """
            akka.persistence.journal.sql.class = "VLink.Testing.HeldJournal, VLink.Testing"
            akka.persistence.journal.sql.circuit-breaker.call-timeout = 60s
            """);
        await _cluster.Node(0).ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("slow", Dimension, Partitions, 100)));
        await _cluster.Node(0).UpsertAsync("slow", ClusterData.Points(_vectors));
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task The_nodes_answer_by_the_deadline_naming_only_the_slow_partition()
    {
        foreach (var node in _cluster.Running)
            Assert.True((await node.Gather.SearchAsync("slow", _vectors[0], 10, exact: true)).Complete);
        var entry = (await _cluster.Node(0).CatalogAsync()).Find("slow")!;
        var slow = entry.Partition(HashPartitioner.KeyOf(new PointId(7UL), Partitions));

        using var journal = HeldJournal.Hold(slow.PersistenceId);
        var held = _cluster.Node(1).Partitions.Ask<IVLinkMessage>(new SealPartition(slow), TimeSpan.FromSeconds(60));
        // The partition holds every message behind the seal (an ask sent after it, through the same region, is not answered).
        await Assert.ThrowsAsync<AskTimeoutException>(() => _cluster.Node(1).Partitions.Ask<PartitionStats>(new GetPartitionStats(slow), TimeSpan.FromSeconds(1)));
        Assert.False(held.IsCompleted);

        // Every node at once, single and batch searches.
        var timeout = TimeSpan.FromSeconds(2);
        await Task.WhenAll(_cluster.Running.Select(async node =>
        {
            var clock = Stopwatch.StartNew();
            var result = await node.Gather.SearchAsync("slow", _vectors[3], 10, exact: true, timeout: timeout);
            var elapsed = clock.Elapsed;
            Assert.False(result.Complete);
            Assert.Equal([slow.EntityId], result.MissingPartitions);
            Assert.Equal(10, result.Hits.Count);
            Assert.All(result.Hits, h => Assert.NotEqual(slow.Key, HashPartitioner.KeyOf(h.Id, Partitions)));
            Assert.True(elapsed < timeout + TimeSpan.FromMilliseconds(100), $"answered after {elapsed}");
            Console.WriteLine($"one slow partition, timeout {timeout.TotalMilliseconds} ms: answered in {elapsed.TotalMilliseconds:F0} ms, missing {string.Join(",", result.MissingPartitions)}");
        }).Concat(_cluster.Running.Select(async node =>
        {
            var clock = Stopwatch.StartNew();
            var batch = await node.Gather.SearchBatchAsync("slow", [_vectors[3], _vectors[300]], 10, exact: true, timeout: timeout);
            Assert.All(batch, b => Assert.Equal([slow.EntityId], b.MissingPartitions));
            Assert.True(clock.Elapsed < timeout + TimeSpan.FromMilliseconds(100), $"batch answered after {clock.Elapsed}");
        })));

        journal.Dispose();
        Assert.IsType<WriteAck>(await held);
        Assert.True((await _cluster.Node(2).Gather.SearchAsync("slow", _vectors[3], 10, exact: true)).Complete);
    }
}

/// <summary>
/// Batch and hybrid searches of a replicated collection hedge like single ones: a partition no node reported is asked
/// of every replica through the shard region and of every node's agent for its local replicas (here the region, a
/// probe, never answers: only the agents' hedge can make the answer complete).
/// </summary>
public sealed class GatherHedgeTests : OneNodeKit
{
    private readonly CollectionEntry _entry = new(ClusterData.HashSpec("docs", 2, 2, 100) with { ReplicationFactor = 2 }, [], 1);

    private async Task<(GatherEngine Engine, Akka.TestKit.TestProbe Agent, Akka.TestKit.TestProbe Region)> StartAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        await AwaitAssertAsync(() => Assert.Contains(cluster.State.Members, m => m.Status == Akka.Cluster.MemberStatus.Up), TimeSpan.FromSeconds(10));
        var agent = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new Forward(agent.Ref)), NodeAgent.Name);
        var region = CreateTestProbe();
        var snapshot = new CatalogSnapshot(1, 1, new List<CollectionEntry> { _entry });
        var catalog = Sys.ActorOf(Props.Create(() => new CatalogStandIn(snapshot)));
        // A hedge delay long enough that resolving the agent on a busy machine stays within the first phase: the node's
        // answer, not the delay, ends it.
        return (new GatherEngine(Sys, region.Ref, catalog, new GatherSettings(TimeSpan.FromSeconds(5), HedgeDelay: TimeSpan.FromSeconds(2))), agent, region);
    }

    [Fact]
    public async Task A_batch_search_hedges_through_the_node_agents()
    {
        var (engine, agent, region) = await StartAsync();
        var p0 = _entry.Partition("p0");
        var p1 = _entry.Partition("p1");
        var search = engine.SearchBatchAsync("docs", [[1f, 0f], [0f, 1f]], 2);

        var asked = agent.ExpectMsg<NodeSearchBatch>();
        NodeHits Only(ulong id) => new("n", [new SearchHit(id, 0.5f)], [new PartitionTiming(p0.EntityId, 1, 10)], 10);
        agent.LastSender.Tell(new NodeHitsBatch("n", [Only(1UL), Only(2UL)], 10));

        var hedge = agent.ExpectMsg<NodeAskPartitions>();
        Assert.Equal(["p1"], hedge.Keys);
        var template = Assert.IsType<SearchPartitionBatch>(hedge.Ask);
        Assert.Equal(2, template.Requests.Count);
        // Every replica of p1 through the region too; it stays silent.
        Assert.Equal([0, 1], new[] { region.ExpectMsg<SearchPartitionBatch>().Partition.Replica, region.ExpectMsg<SearchPartitionBatch>().Partition.Replica }.Order());
        var replica = p1.WithReplica(1);
        agent.LastSender.Tell(new NodePartitionAnswers("n",
            [new PartitionHitsBatch(replica, [new PartitionHits(replica, [new SearchHit(11UL, 0.1f)], 1, 5), new PartitionHits(replica, [new SearchHit(12UL, 0.2f)], 1, 5)])]));

        var results = await search;
        Assert.All(results, r => Assert.True(r.Complete, string.Join(",", r.MissingPartitions)));
        Assert.Equal([11UL, 1UL], results[0].Hits.Select(h => h.Id.Number));
        Assert.Equal([12UL, 2UL], results[1].Hits.Select(h => h.Id.Number));
    }

    [Fact]
    public async Task A_hybrid_search_hedges_through_the_node_agents()
    {
        var (engine, agent, region) = await StartAsync();
        var p0 = _entry.Partition("p0");
        var p1 = _entry.Partition("p1");
        var search = engine.HybridSearchAsync("docs", new HybridRequest("token", null, VLink.Core.Hybrid.HybridMethods.Keyword, 2, 10));

        agent.ExpectMsg<NodeHybridSearch>();
        agent.LastSender.Tell(new NodeHybridHits("n",
            [new VLink.Core.Hybrid.MethodRanking(VLink.Core.Hybrid.HybridMethods.Keyword, [new(1UL, 2.0)])], [p0.EntityId], false, 10));

        var hedge = agent.ExpectMsg<NodeAskPartitions>();
        Assert.IsType<SearchPartitionHybrid>(hedge.Ask);
        region.ExpectMsg<SearchPartitionHybrid>();
        agent.LastSender.Tell(new NodePartitionAnswers("n",
            [new PartitionHybridHits(p1.WithReplica(1), [new VLink.Core.Hybrid.MethodRanking(VLink.Core.Hybrid.HybridMethods.Keyword, [new(11UL, 3.0)])], 5)]));

        var result = await search;
        Assert.True(result.Complete, string.Join(",", result.MissingPartitions));
        Assert.Equal([11UL, 1UL], result.Hits.Select(h => h.Id.Number));
    }
}

/// <summary>The one replica policy: the replica asked first turns, the others are asked after the hedge delay (half the wait when hedging is off) or at once after a refusal.</summary>
public sealed class ReplicaPolicyTests : OneNodeKit
{
    private static readonly CollectionSpec Spec = ClusterData.HashSpec("docs", 2, 2, 100) with { ReplicationFactor = 2 };
    private static readonly PartitionRef P0 = new("docs", "p0", 1);

    [Theory]
    [InlineData(100, 100)]
    [InlineData(0, 1000)]
    public async Task A_silent_replica_is_hedged_after_the_hedge_delay_or_half_the_wait(int hedgeMs, int expectedMs)
    {
        var region = CreateTestProbe();
        var policy = new ReplicaPolicy(region.Ref, new GatherSettings(TimeSpan.FromSeconds(5), HedgeDelay: TimeSpan.FromMilliseconds(hedgeMs)));
        // The delay counts from the read's start: the probe may hand over the first ask late on a busy machine.
        var clock = Stopwatch.StartNew();
        var read = policy.ReadAsync<PartitionStats>(Spec, P0, r => new GetPartitionStats(r), 1, TimeSpan.FromSeconds(2));

        var first = region.ExpectMsg<GetPartitionStats>();
        var second = region.ExpectMsg<GetPartitionStats>(TimeSpan.FromSeconds(3));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(expectedMs * 0.7), TimeSpan.FromMilliseconds(expectedMs + 400));
        Assert.NotEqual(first.Partition.Replica, second.Partition.Replica);
        region.LastSender.Tell(new PartitionStats(second.Partition, 3, "flat", 0, 1));
        Assert.Equal(second.Partition, Assert.Single(await read).Partition);
    }

    [Fact]
    public async Task A_refusal_asks_the_other_replica_at_once_and_the_first_replica_turns()
    {
        var region = CreateTestProbe();
        var policy = new ReplicaPolicy(region.Ref, new GatherSettings(TimeSpan.FromSeconds(5), HedgeDelay: TimeSpan.FromSeconds(10)));
        var read = policy.ReadAsync<PartitionStats>(Spec, P0, r => new GetPartitionStats(r), 1, TimeSpan.FromSeconds(20));
        var first = region.ExpectMsg<GetPartitionStats>();
        region.LastSender.Tell(new Status.Failure(new InvalidOperationException("catching up")));
        var second = region.ExpectMsg<GetPartitionStats>(TimeSpan.FromSeconds(1));
        region.LastSender.Tell(new PartitionStats(second.Partition, 3, "flat", 0, 1));
        await read;

        var next = policy.ReadAsync<PartitionStats>(Spec, P0, r => new GetPartitionStats(r), 1, TimeSpan.FromSeconds(20));
        Assert.NotEqual(first.Partition.Replica, region.ExpectMsg<GetPartitionStats>().Partition.Replica);
        region.LastSender.Tell(new PartitionStats(P0, 3, "flat", 0, 1));
        await next;
    }
}
