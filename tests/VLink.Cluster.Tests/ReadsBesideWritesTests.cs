using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// Reads never wait for the journal: a partition whose write is on its way to the journal answers searches, reads by
/// id, scrolls and counts at once from what it has acknowledged, while writes keep their order, a delete sees the
/// upserts sent before it, and every write is acknowledged only once stored. In process, on Akka.Persistence.TestKit's
/// journal, whose writes a test holds at a gate.
/// </summary>
public sealed class ReadsBesideWritesTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config TestJournal = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test.class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
        akka.persistence.snapshot-store.test.class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
        # No catalog here: a partition asks it for its watermark after recovery and serves unchecked once this passes.
        vlink.watermark.check-timeout = 200ms
        vlink.watermark.report-interval = 1h
        """);

    private static readonly CollectionSpec Spec = new("docs", 2, DistanceMetric.Euclidean, PartitionScheme.Hash, 1, HnswOptions.Default);
    private static readonly PartitionRef Partition = new("docs", "0", 1);
    private static readonly TimeSpan Held = TimeSpan.FromMilliseconds(300);

    private readonly ITestJournal _journal;

    public ReadsBesideWritesTests() : base(TestJournal)
    {
        _journal = Akka.Persistence.TestKit.TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null));
    }

    [Fact]
    public async Task Reads_sent_while_a_write_is_held_in_the_journal_are_answered_at_once_without_it()
    {
        var partition = Start();
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(1, 2, 3), RemainingOrDefault));

        var gate = new Gate(PointsUpsertedHolding(4));
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var write = partition.Ask<IVLinkMessage>(Upsert(4), RemainingOrDefault);
        await gate.Reached.WaitAsync(RemainingOrDefault);

        // Each read is answered while the write waits in the journal, from the three acknowledged points.
        var read = TimeSpan.FromSeconds(2);
        Assert.Equal(3, (await partition.Ask<PointCount>(new CountPartition(Partition, null), read)).Count);
        Assert.Empty((await partition.Ask<PointsFound>(new GetPoints(Partition, [4UL], WithVector: true), read)).Points);
        var page = await partition.Ask<PointsFound>(new ScrollPartition(Partition, null, null, 100, WithPayload: false, WithVector: false), read);
        Assert.Equal([1UL, 2UL, 3UL], page.Points.Select(p => p.Id.Number));
        var hits = await partition.Ask<PartitionHits>(new SearchPartition(Partition, new SearchRequest([1f, 4f], 10, 10, null, Exact: true)), read);
        Assert.Equal([3UL, 2UL, 1UL], hits.Hits.Select(h => h.Id.Number));
        Assert.False(write.IsCompleted);

        gate.Open();
        Assert.Equal(1, Assert.IsType<WriteAck>(await write).Applied);
        Assert.Equal(4, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
    }

    [Fact]
    public async Task A_delete_sent_right_after_an_upsert_of_the_same_id_waits_for_it_and_deletes_it_and_a_later_upsert_stays()
    {
        var partition = Start();
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(1), RemainingOrDefault));

        var gate = new Gate(PointsUpsertedHolding(7));
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var upsert = partition.Ask<IVLinkMessage>(Upsert(7), RemainingOrDefault);
        await gate.Reached.WaitAsync(RemainingOrDefault);
        var delete = partition.Ask<IVLinkMessage>(new DeletePoints(Partition, [7UL]), RemainingOrDefault);
        // Sent after the delete: it must not overtake it, or the delete would remove it.
        var again = partition.Ask<IVLinkMessage>(new UpsertPoints(Partition, Spec, [new PointWrite(7UL, [5f, 5f], null)]), RemainingOrDefault);
        Assert.Equal(1, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
        await Task.Delay(Held);
        Assert.False(upsert.IsCompleted);
        Assert.False(delete.IsCompleted);
        Assert.False(again.IsCompleted);

        gate.Open();
        var acks = new[] { await upsert, await delete, await again }.Select(a => Assert.IsType<WriteAck>(a)).ToArray();
        Assert.Equal([1, 1, 1], acks.Select(a => a.Applied));
        Assert.True(acks[0].SequenceNr < acks[1].SequenceNr && acks[1].SequenceNr < acks[2].SequenceNr);
        var found = await partition.Ask<PointsFound>(new GetPoints(Partition, [7UL], WithVector: true), RemainingOrDefault);
        Assert.Equal([5f, 5f], Assert.Single(found.Points).Vector!);
    }

    [Fact]
    public async Task Upserts_sent_while_one_is_held_are_acknowledged_in_order_once_it_is_stored()
    {
        var partition = Start();
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(1), RemainingOrDefault));

        var gate = new Gate(PointsUpsertedHolding(2));
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var writes = Enumerable.Range(2, 20).Select(id => partition.Ask<IVLinkMessage>(Upsert(id), RemainingOrDefault)).ToList();
        await gate.Reached.WaitAsync(RemainingOrDefault);
        await Task.Delay(Held);
        Assert.DoesNotContain(writes, w => w.IsCompleted);
        Assert.Equal(1, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);

        gate.Open();
        var acks = (await Task.WhenAll(writes)).Select(a => Assert.IsType<WriteAck>(a)).ToList();
        Assert.Equal(acks.Select(a => a.SequenceNr).Order(), acks.Select(a => a.SequenceNr));
        Assert.Equal(acks.Count, acks.Select(a => a.SequenceNr).Distinct().Count());
        Assert.Equal(21, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
    }

    [Fact]
    public async Task The_first_writes_of_an_empty_partition_both_land_and_a_write_of_another_dimension_is_refused()
    {
        var partition = Start();
        var gate = new Gate(e => e is PartitionInitialized);
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var first = partition.Ask<IVLinkMessage>(Upsert(1), RemainingOrDefault);
        await gate.Reached.WaitAsync(RemainingOrDefault);
        var second = partition.Ask<IVLinkMessage>(Upsert(2), RemainingOrDefault);
        var other = new CollectionSpec("docs", 3, DistanceMetric.Euclidean, PartitionScheme.Hash, 1, HnswOptions.Default);
        var wrong = partition.Ask<IVLinkMessage>(new UpsertPoints(Partition, other, [new PointWrite(3UL, [1f, 2f, 3f], null)]), RemainingOrDefault);

        gate.Open();
        Assert.IsType<WriteAck>(await first);
        Assert.IsType<WriteAck>(await second);
        Assert.IsType<WriteRejected>(await wrong);
        Assert.Equal(2, (await partition.Ask<PointCount>(new CountPartition(Partition, null), RemainingOrDefault)).Count);
    }

    [Fact]
    public async Task A_delete_held_behind_a_write_the_journal_refuses_runs_once_the_refusal_is_told()
    {
        var partition = Start();
        // The watermark confirmed (as the catalog would): no timer of the check wakes the partition from now on, so
        // nothing but the refusal itself may release the delete.
        partition.Tell(new PartitionWatermark(Partition, 0));
        Assert.IsType<WriteAck>(await partition.Ask<IVLinkMessage>(Upsert(1, 2), RemainingOrDefault));

        var gate = new Gate(PointsUpsertedHolding(4), reject: true);
        await _journal.OnWrite.SetInterceptorAsync(gate);
        var refused = partition.Ask<IVLinkMessage>(Upsert(4), RemainingOrDefault);
        await gate.Reached.WaitAsync(RemainingOrDefault);
        var delete = partition.Ask<IVLinkMessage>(new DeletePoints(Partition, [1UL, 4UL]), RemainingOrDefault);
        await Task.Delay(Held);
        Assert.False(delete.IsCompleted);

        gate.Open();
        Assert.IsType<JournalUnavailable>(await refused);
        Assert.Equal(1, Assert.IsType<WriteAck>(await delete.WaitAsync(TimeSpan.FromSeconds(2))).Applied);
        var page = await partition.Ask<PointsFound>(new ScrollPartition(Partition, null, null, 100, false, false), RemainingOrDefault);
        Assert.Equal([2UL], page.Points.Select(p => p.Id.Number));
    }

    [Fact]
    public async Task A_stream_of_interleaved_writes_and_reads_through_a_slow_journal_ends_as_the_writes_in_arrival_order_say()
    {
        var partition = Start();
        await _journal.OnWrite.PassWithDelay(TimeSpan.FromMilliseconds(3));
        const int Ids = 16;
        var model = new Dictionary<ulong, (float[] Vector, Dictionary<string, int> Payload)>();
        var writes = new List<(Task<IVLinkMessage> Reply, int Applied)>();
        var reads = new List<Task<PointCount>>();
        var timeout = TimeSpan.FromSeconds(30);
        for (int i = 0; i < 120; i++)
        {
            ulong id = (ulong)(i % Ids);
            float[] vector = [i, id];
            writes.Add((partition.Ask<IVLinkMessage>(new UpsertPoints(Partition, Spec, [new PointWrite(id, vector, Json($$"""{"i":{{i}}}"""))]), timeout), 1));
            model[id] = (vector, new() { ["i"] = i });
            if (i % 3 == 2)
            {
                ulong gone = (ulong)(i * 7 % Ids);
                writes.Add((partition.Ask<IVLinkMessage>(new DeletePoints(Partition, [gone]), timeout), model.Remove(gone) ? 1 : 0));
            }
            if (i % 4 == 3)
            {
                ulong changed = (ulong)(i * 5 % Ids);
                bool present = model.TryGetValue(changed, out var point);
                if (present) point.Payload["p"] = i;
                writes.Add((partition.Ask<IVLinkMessage>(new ChangePayload(Partition, PayloadChangeKind.Set, Json($$"""{"p":{{i}}}"""), [], [changed], null), timeout),
                    present ? 1 : 0));
            }
            reads.Add(partition.Ask<PointCount>(new CountPartition(Partition, null), timeout));
        }

        var acks = new List<WriteAck>();
        foreach (var (reply, applied) in writes)
        {
            var ack = Assert.IsType<WriteAck>(await reply);
            // Each delete and payload change saw every write sent before it.
            Assert.Equal(applied, ack.Applied);
            acks.Add(ack);
        }
        Assert.Equal(acks.Select(a => a.SequenceNr).Order(), acks.Select(a => a.SequenceNr));
        Assert.All(await Task.WhenAll(reads), c => Assert.InRange(c.Count, 0, Ids));

        var found = await partition.Ask<PointsFound>(new GetPoints(Partition, [.. Enumerable.Range(0, Ids).Select(i => (PointId)(ulong)i)], WithVector: true), timeout);
        Assert.Equal(model.Keys.Order(), found.Points.Select(p => p.Id.Number).Order());
        foreach (var point in found.Points)
        {
            var (vector, payload) = model[point.Id.Number];
            Assert.Equal(vector, point.Vector);
            Assert.Equal(payload, JsonSerializer.Deserialize<Dictionary<string, int>>(point.Payload));
        }
    }

    private IActorRef Start() => Sys.ActorOf(PartitionEntity.Props(Partition.EntityId, CreateTestProbe().Ref, new PartitionSettings()));

    private static UpsertPoints Upsert(params int[] ids) =>
        new(Partition, Spec, [.. ids.Select(id => new PointWrite((ulong)id, [1f, id], null))]);

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    private static Func<object, bool> PointsUpsertedHolding(ulong id) =>
        e => e is PointsUpserted upserted && upserted.Points.Any(p => p.Id == id);

    /// <summary>
    /// Holds the journal's write of the first event that matches until <see cref="Open"/> (and then stores or refuses
    /// it); everything else passes. The journal writes one partition's batches one after the other, so the writes sent
    /// behind a held one wait too.
    /// </summary>
    private sealed class Gate(Func<object, bool> holds, bool reject = false) : IJournalInterceptor
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        /// <summary>Completes once the held event has reached the journal.</summary>
        public Task Reached => _reached.Task;

        public void Open() => _open.TrySetResult();

        public async Task InterceptAsync(IPersistentRepresentation message)
        {
            if (!holds(message.Payload) || Interlocked.Exchange(ref _held, 1) == 1) return;
            _reached.TrySetResult();
            await _open.Task;
            if (reject) throw new TestJournalRejectionException("refused by the test");
        }
    }
}
