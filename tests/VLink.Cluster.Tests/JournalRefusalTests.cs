using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using VLink.Cluster.Catalog;
using VLink.Cluster.Hosting;
using VLink.Cluster.Journal;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// A partition and the catalog when the journal refuses their events (as <see cref="VLinkSqlJournal"/> refuses writes
/// that cannot reach the database) and when the node's journal gate is down: the writer is told
/// <see cref="JournalUnavailable"/>, the actor lives on and answers reads from memory, and writes succeed once the
/// journal takes them again. In process, on Akka.Persistence.TestKit's journal.
/// </summary>
public sealed class JournalRefusalTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config TestJournal = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test.class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
        akka.persistence.snapshot-store.test.class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
        # No catalog here: a partition asks it for its watermark after recovery and serves unchecked once this passes.
        vlink.watermark.check-timeout = 200ms
        """);

    private static readonly CollectionSpec Spec = new("docs", 2, DistanceMetric.Cosine, PartitionScheme.Hash, 1, HnswOptions.Default);
    private static readonly PartitionRef Partition = new("docs", "0", 1);

    private readonly ITestJournal _journal;

    public JournalRefusalTests() : base(TestJournal)
    {
        _journal = Akka.Persistence.TestKit.TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null));
    }

    [Fact]
    public async Task A_partition_whose_events_the_journal_refuses_tells_the_writer_and_keeps_serving_reads()
    {
        var partition = Sys.ActorOf(PartitionEntity.Props(Partition.EntityId, CreateTestProbe().Ref, new PartitionSettings()));
        Watch(partition);
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(1, 2, 3), RemainingOrDefault));

        await _journal.OnWrite.Reject();
        var refused = await partition.Ask<IVLinkMessage>(Upsert(4, 5), RemainingOrDefault);
        Assert.IsType<JournalUnavailable>(refused);
        Assert.Equal(3, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);

        await _journal.OnWrite.Pass();
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(4, 5), RemainingOrDefault));
        Assert.Equal(5, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not Terminated: the partition never stopped
    }

    [Fact]
    public async Task While_the_journal_gate_is_down_a_partition_refuses_writes_without_persisting_and_answers_reads()
    {
        var partition = Sys.ActorOf(PartitionEntity.Props(Partition.EntityId, CreateTestProbe().Ref, new PartitionSettings()));
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(1, 2), RemainingOrDefault));
        var health = JournalHealth.For(Sys);

        health.MarkDown("connection refused");
        // The journal would fail anything it were given: nothing reaches it.
        await _journal.OnWrite.Fail();
        var refused = Assert.IsType<JournalUnavailable>(await partition.Ask<IVLinkMessage>(Upsert(3), RemainingOrDefault));
        Assert.Contains("unreachable: connection refused", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(2, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
        Assert.False(health.IsUp);
        Assert.True(health.WhenDown.IsCompleted);

        await _journal.OnWrite.Pass();
        Assert.True(health.MarkUp());
        Assert.False(health.WhenDown.IsCompleted);
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(3), RemainingOrDefault));
        Assert.Equal(3, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
    }

    [Fact]
    public async Task The_catalog_refuses_a_change_the_journal_refuses_answers_reads_and_takes_the_change_later()
    {
        var catalog = Sys.ActorOf(CatalogActor.Props());
        Assert.IsType<CatalogAck>(await catalog.Ask<IVLinkMessage>(new CreateCollection(Spec), RemainingOrDefault));

        await _journal.OnWrite.Reject();
        Assert.IsType<JournalUnavailable>(await catalog.Ask<IVLinkMessage>(new CreateCollection(Spec with { Name = "later" }), RemainingOrDefault));
        var during = await catalog.Ask<CatalogSnapshot>(GetCatalog.Instance, RemainingOrDefault);
        Assert.Equal(["docs"], during.Collections.Select(c => c.Spec.Name));

        await _journal.OnWrite.Pass();
        var ack = Assert.IsType<CatalogAck>(await catalog.Ask<IVLinkMessage>(new CreateCollection(Spec with { Name = "later" }), RemainingOrDefault));
        Assert.Equal(during.Term, ack.Term);
        Assert.Equal(["docs", "later"], (await catalog.Ask<CatalogSnapshot>(GetCatalog.Instance, RemainingOrDefault)).Collections.Select(c => c.Spec.Name).Order());
    }

    [Fact]
    public async Task A_catalog_whose_term_the_journal_refused_stops_and_its_supervisor_starts_it_again_once_the_journal_takes_writes()
    {
        await _journal.OnWrite.Reject();
        var supervisor = Sys.ActorOf(VLinkNode.CatalogSupervisorProps());
        // Each incarnation's term is refused, so it stops and comes back after a back-off; no change is ever taken under an old term.
        await Task.Delay(TimeSpan.FromSeconds(1));

        await _journal.OnWrite.Pass();
        await AwaitAssertAsync(async () => Assert.IsType<CatalogAck>(
            await supervisor.Ask<IVLinkMessage>(new CreateCollection(Spec), TimeSpan.FromMilliseconds(500))), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
        var catalog = await supervisor.Ask<CatalogSnapshot>(GetCatalog.Instance, RemainingOrDefault);
        Assert.Equal(1, catalog.Term);
        Assert.Equal(["docs"], catalog.Collections.Select(c => c.Spec.Name));
    }

    private static UpsertPoints Upsert(params int[] ids) =>
        new(Partition, Spec, [.. ids.Select(id => new PointWrite((ulong)id, [1f, id], null))]);
}
