using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;
using VLink.Cluster.Telemetry;
using VLink.Core.Indexing;

namespace VLink.Cluster.Partitions;

/// <summary>Tuning of partition entities.</summary>
/// <param name="SnapshotEvery">
/// Journal entries after which a snapshot is due whatever their size (<c>vlink.snapshot-every</c>); before that one is
/// due once the entries hold <see cref="SnapshotTailFraction"/> of the last snapshot's bytes.
/// </param>
public sealed record PartitionSettings(int SnapshotEvery = 10_000)
{
    /// <summary>
    /// A snapshot is due once the journal entries written since the last one hold this fraction of its bytes
    /// (<c>vlink.snapshot-tail-fraction</c>, 0.5): snapshot bytes per written byte stay a small constant whatever the
    /// partition's size, and recovery replays at most that fraction.
    /// </summary>
    public double SnapshotTailFraction { get; init; } = 0.5;

    /// <summary>Below this many bytes of journal since the last snapshot none is due (4 MB).</summary>
    public long SnapshotMinBytes { get; init; } = 4L << 20;

    /// <summary>
    /// A partition with at least <see cref="SnapshotMinBytes"/> of journal since its last snapshot takes one once no write
    /// came for this long (<c>vlink.snapshot-idle</c>, 10 s; 0 = never), so a partition loaded and then read recovers from
    /// its snapshot alone.
    /// </summary>
    public TimeSpan SnapshotIdle { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Points replayed after a restart are held unlinked and linked in the background this many at a time
    /// (<c>vlink.link-chunk</c>, 500); a write waits for at most one chunk.
    /// </summary>
    public int LinkChunk { get; init; } = 500;

    /// <summary>How long after its replay a partition starts linking the points it holds unlinked (<c>vlink.link-delay</c>, 0).</summary>
    public TimeSpan LinkDelay { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Large batches are held unlinked and linked behind the writes, at most this many points waiting (writes beyond
    /// wait): <c>vlink.link-backlog</c>, 10,000; 0 links every write before it is acknowledged.
    /// </summary>
    public int LinkBacklog { get; init; } = 10_000;

    /// <summary>
    /// Time between two catch-up rounds of a replica of a collection with more than one replica
    /// (<c>vlink.replication.anti-entropy-interval</c>, 5 s by default).
    /// </summary>
    public TimeSpan AntiEntropyInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Points a sibling wrote less than this long ago are not fetched by a catch-up round (their own write is likely
    /// still on its way to this replica); a later round takes them if they are still missing.
    /// </summary>
    public TimeSpan AntiEntropyGrace { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a catch-up round waits for a sibling's answer before skipping it until the next round.</summary>
    public TimeSpan AntiEntropyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads the settings of the <c>vlink</c> HOCON section (<paramref name="snapshotEvery"/> already read and checked).</summary>
    /// <exception cref="Akka.Configuration.ConfigurationException">The interval is not positive.</exception>
    public static PartitionSettings From(Akka.Configuration.Config vlink, int snapshotEvery)
    {
        ArgumentNullException.ThrowIfNull(vlink);
        var interval = vlink.GetTimeSpan("replication.anti-entropy-interval", TimeSpan.FromSeconds(5));
        if (interval <= TimeSpan.Zero)
            throw new Akka.Configuration.ConfigurationException($"vlink.replication.anti-entropy-interval must be positive, got {interval}.");
        double fraction = vlink.GetDouble("snapshot-tail-fraction", 0.5);
        if (!(fraction > 0))
            throw new Akka.Configuration.ConfigurationException($"vlink.snapshot-tail-fraction must be positive, got {fraction}.");
        var idle = vlink.GetTimeSpan("snapshot-idle", TimeSpan.FromSeconds(10));
        if (idle < TimeSpan.Zero)
            throw new Akka.Configuration.ConfigurationException($"vlink.snapshot-idle must not be negative, got {idle}.");
        int linkChunk = vlink.GetInt("link-chunk", 500);
        if (linkChunk <= 0)
            throw new Akka.Configuration.ConfigurationException($"vlink.link-chunk must be positive, got {linkChunk}.");
        var linkDelay = vlink.GetTimeSpan("link-delay", TimeSpan.Zero);
        if (linkDelay < TimeSpan.Zero)
            throw new Akka.Configuration.ConfigurationException($"vlink.link-delay must not be negative, got {linkDelay}.");
        int linkBacklog = vlink.GetInt("link-backlog", 10_000);
        if (linkBacklog < 0)
            throw new Akka.Configuration.ConfigurationException($"vlink.link-backlog must not be negative, got {linkBacklog}.");
        return new PartitionSettings(snapshotEvery)
        {
            AntiEntropyInterval = interval, SnapshotTailFraction = fraction, SnapshotIdle = idle,
            LinkChunk = linkChunk, LinkDelay = linkDelay, LinkBacklog = linkBacklog,
        };
    }
}

/// <summary>
/// One partition of a collection: a persistent, sharded entity owning an index and its payloads. A write is
/// acknowledged only after its event is journalled; the index is snapshotted in its binary form every
/// <see cref="PartitionSettings.SnapshotEvery"/> entries, so recovery is snapshot load + replay of the tail.
/// On start it registers with its node's agent, which searches the node's partitions for the Gather Engine.
/// A replica of a collection with more than one replica catches up with its siblings (<see cref="ReplicaSync"/>) right
/// after recovery and then every <see cref="PartitionSettings.AntiEntropyInterval"/>, until a few rounds in a row find
/// every sibling equal; a write, or a sibling that shows it holds more, starts the rounds again.
/// After recovery it checks its journal against the watermark the catalog confirmed (<c>PartitionEntity.History.cs</c>).
/// </summary>
public sealed partial class PartitionEntity : ReceivePersistentActor, IWithTimers
{
    // Rounds in a row that found every sibling equal after which a replica stops asking (so idle replicas passivate).
    private const int QuietRoundsBeforeRest = 3;
    private const string SyncTimer = "anti-entropy";

    private readonly PartitionRef _partition;
    private readonly PartitionSettings _settings;
    private readonly IActorRef _nodeAgent;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PartitionState? _state;
    private IDisposable? _gauge;

    // Sealed partitions refuse writes. The seal is the last event such a partition ever journals, so no snapshot is
    // taken after it and recovery always replays it.
    private bool _sealed;

    // Catch-up: the spec a sibling told this replica before it held anything, the child running rounds, and whether
    // one runs now and how many rounds in a row found nothing to do.
    private CollectionSpec? _learntSpec;
    private IActorRef? _sync;
    private bool _roundRunning;

    // A replica of a replicated collection that has just recovered may have missed writes (deletes above all) while it
    // was down or moving: it serves no read until its first catch-up round with its siblings is done, so a search never
    // gets a deleted point back from it. It is searched by its node only once registered, after that round.
    private bool _catchingUp;
    private int _quietRounds;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for a partition entity (used by the shard region's entity factory).</summary>
    public static Props Props(string entityId, IActorRef nodeAgent, PartitionSettings settings) =>
        Akka.Actor.Props.Create(() => new PartitionEntity(PartitionRef.FromEntityId(entityId), nodeAgent, settings));

    /// <summary>Creates the entity.</summary>
    public PartitionEntity(PartitionRef partition, IActorRef nodeAgent, PartitionSettings settings)
    {
        _partition = partition;
        _nodeAgent = nodeAgent;
        _settings = settings;

        Recover<SnapshotOffer>(offer => { RecoverSnapshot(offer); DeferLinkingWhileReplaying(); });
        Recover<PartitionInitialized>(e => { _state ??= PartitionState.Create(e.Spec); DeferLinkingWhileReplaying(); });
        Recover<PointsUpserted>(e => { _state?.Apply(e); CountTail(e); });
        Recover<PointsDeleted>(e => { _state?.Apply(e); CountTail(e); });
        Recover<PayloadChanged>(e => { _state?.Apply(e); CountTail(e); });
        Recover<MarketDataIngested>(e => { _state?.Apply(e, _partition.Key); CountTail(e); });
        Recover<PartitionSealed>(_ => _sealed = true);
        Recover<RecoveryCompleted>(_ =>
        {
            _catchingUp = ReplicatedSpec is not null;
            if (!_catchingUp) _nodeAgent.Tell(new NodeAgent.Register(_partition, Self));
            _gauge ??= VLinkMetrics.TrackPartition(_partition.EntityId, () => _state?.Count ?? 0, () => _state?.MemoryBytes ?? 0);
            _log.Debug("Partition {0} recovered: {1} points ({2}) at sequence {3}", _partition, _state?.Count ?? 0, _state?.IndexKind ?? "empty", LastSequenceNr);
            StartLinkingAfterRecovery();
            StartHistoryCheck();
            KeepSyncing(now: true);
        });

        GateOnHistory();
        // Writes (PartitionEntity.Writes.cs): an upsert is journalled at once; a command that reads the state to decide
        // what to journal waits for the writes in flight. Reads below never wait for the journal.
        Command<UpsertPoints>(cmd => { if (!RefuseWrite() && !HoldUpsert()) HandleUpsert(cmd); });
        Command<DeletePoints>(cmd => { if (!RefuseWrite() && !HoldUntilSettled()) HandleDelete(cmd); });
        Command<DeletePointsByFilter>(cmd => { if (!RefuseWrite() && !HoldUntilSettled()) HandleDeleteByFilter(cmd); });
        Command<ChangePayload>(cmd => { if (!RefuseWrite() && !HoldUntilSettled()) HandleChangePayload(cmd); });
        Command<IngestMarketData>(cmd => { if (!RefuseWrite() && !HoldUntilSettled()) HandleIngest(cmd); });
        Command<SealPartition>(_ => { if (!HoldUntilSettled()) HandleSeal(); });
        Command<FindRegimeVector>(q => Sender.Tell(new PointsFound(_partition, FindRegime(q.At))));
        Command<GetMarketStats>(_ => Sender.Tell(MarketStatsOf()));
        Command<GetBaseRate>(q => ReadAnswer(() => new BaseRate(_partition, _state?.BaseRate(q.From, q.To, q.Horizons) ?? [])));
        Command<ScrollPartition>(q => ReadAnswer(() => new PointsFound(_partition, _state?.Scroll(q.Filter, q.From, q.Limit, q.WithPayload, q.WithVector) ?? [])));
        Command<CountPartition>(q => ReadAnswer(() => new PointCount(_partition, _state?.CountMatching(q.Filter) ?? 0)));
        Command<SearchPartition>(q =>
        {
            if (RefuseWhileCatchingUp()) return;
            try
            {
                Sender.Tell(Search(q.Request));
            }
            catch (ArgumentException e)
            {
                // A malformed filter fails this ask (the partition counts as not answering); the entity lives on.
                Sender.Tell(new Status.Failure(e));
            }
        });
        Command<SearchPartitionBatch>(q =>
        {
            if (RefuseWhileCatchingUp()) return;
            try
            {
                Sender.Tell(new PartitionHitsBatch(_partition, SearchAll(q.Requests)));
            }
            catch (ArgumentException e)
            {
                Sender.Tell(new Status.Failure(e));
            }
        });
        Command<SearchPartitionHybrid>(q => ReadAnswer(() =>
        {
            var clock = Stopwatch.StartNew();
            var rankings = _state?.SearchHybrid(q.Request) ?? [];
            return new PartitionHybridHits(_partition, rankings, (long)clock.Elapsed.TotalMicroseconds);
        }));
        Command<GetPoints>(q => { if (!RefuseWhileCatchingUp()) Sender.Tell(new PointsFound(_partition, ReadPoints(q))); });
        Command<GetPartitionStats>(_ => Sender.Tell(Stats()));
        Command<GetReplicaDigest>(HandleDigestRequest);
        Command<ReplicaSync.Apply>(page => { if (!HoldUntilSettled()) HandleReplicaPage(page); });
        Command<ReplicaSync.RoundDone>(HandleRoundDone);
        Command<SyncTick>(_ => StartRound());
        Command<GetReplicaEntries>(q => Sender.Tell(_state?.EntriesPage(_partition, q.Buckets, q.After, ReplicaPageBytes)
            ?? new ReplicaEntries(_partition, [], [], [], null)));
        SnapshotCommands();
        LinkingCommands();
    }

    /// <inheritdoc />
    public override string PersistenceId => _partition.PersistenceId;

    private bool RefuseWrite()
    {
        if (RefuseWhileJournalDown()) return true;
        if (_sealed) Sender.Tell(new WriteSealed(_partition));
        return _sealed;
    }

    private void HandleSeal()
    {
        var replyTo = Sender;
        if (_sealed)
        {
            replyTo.Tell(new WriteAck(_partition, 0, LastSequenceNr));
            return;
        }
        // Persist, not PersistAsync: until the seal is stored every command waits, so no write slips in after it.
        Persist(PartitionSealed.Instance, _ =>
        {
            _sealed = true;
            replyTo.Tell(new WriteAck(_partition, 0, LastSequenceNr));
        });
    }

    private void HandleUpsert(UpsertPoints cmd)
    {
        var spec = _state?.Spec ?? cmd.Spec;
        if (spec.Dimension != cmd.Spec.Dimension || spec.Metric != cmd.Spec.Metric)
        {
            Sender.Tell(new WriteRejected(_partition, $"Partition {_partition} holds {spec.Dimension}-d {spec.Metric} vectors; the write is for {cmd.Spec.Dimension}-d {cmd.Spec.Metric}."));
            return;
        }
        if (spec.Text?.Embedding?.ModelId != cmd.Spec.Text?.Embedding?.ModelId)
        {
            Sender.Tell(new WriteRejected(_partition, $"Partition {_partition} holds vectors of model '{spec.Text?.Embedding?.ModelId ?? "(given by clients)"}'; the write's are of '{cmd.Spec.Text?.Embedding?.ModelId ?? "(given by clients)"}'. One collection never mixes models."));
            return;
        }
        var (upserted, error) = PartitionState.Validate(spec, cmd.Points);
        if (upserted is null)
        {
            Sender.Tell(new WriteRejected(_partition, error!));
            return;
        }
        var replyTo = Sender;
        if (_state is null) Write(new PartitionInitialized(spec), e => _state ??= PartitionState.Create(e.Spec));
        var clock = Stopwatch.StartNew();
        Write(upserted, e =>
        {
            VLinkMetrics.RecordJournalWrite("upsert", clock.Elapsed);
            long applying = Stopwatch.GetTimestamp();
            int applied = _state!.Apply(e);
            VLinkMetrics.RecordApply("upsert", Stopwatch.GetElapsedTime(applying));
            replyTo.Tell(new WriteAck(_partition, applied, LastSequenceNr));
            MaybeSnapshot(e);
            KeepSyncing(now: false);
        });
    }

    // The input is journalled (one event per batch), then run through the tracker; a retried batch is acknowledged
    // from the producer's watermark without a second event.
    private void HandleIngest(IngestMarketData cmd)
    {
        var spec = _state?.Spec ?? cmd.Spec;
        if (spec.Regime is null || spec != cmd.Spec)
        {
            Sender.Tell(new WriteRejected(_partition, spec.Regime is null
                ? $"Collection '{spec.Name}' is not a regime collection; market data cannot be ingested into it."
                : $"Partition {_partition} was created with a different configuration than this batch's."));
            return;
        }
        try
        {
            cmd.Batch.Validate();
        }
        catch (ArgumentException e)
        {
            Sender.Tell(new WriteRejected(_partition, e.Message));
            return;
        }
        var plan = _state?.Market?.Watermarks.Plan(cmd.Batch.Source, cmd.Batch.Sequences) ?? new Core.Ingest.WatermarkPlan(0, cmd.Batch.Count, 0);
        if (plan.Duplicate)
        {
            Sender.Tell(new MarketIngestAck(_partition, 0, plan.Skip, 0, [], [], 0, 0, LastSequenceNr));
            return;
        }
        var replyTo = Sender;
        if (_state is null) Write(new PartitionInitialized(spec), e => _state ??= PartitionState.Create(e.Spec));
        var clock = Stopwatch.StartNew();
        Write(new MarketDataIngested(cmd.Batch.Skip(plan.Skip)), e =>
        {
            VLinkMetrics.RecordJournalWrite("ingest", clock.Elapsed);
            long applying = Stopwatch.GetTimestamp();
            var applied = _state!.Apply(e, _partition.Key);
            VLinkMetrics.RecordApply("ingest", Stopwatch.GetElapsedTime(applying));
            replyTo.Tell(new MarketIngestAck(_partition, applied.Accepted, plan.Skip, applied.Rejected, applied.RejectedByKind, applied.Errors,
                applied.Updates.Bars.Count, applied.Updates.Vectors.Count, LastSequenceNr));
            MaybeSnapshot(e);
        });
    }

    private IReadOnlyList<PointRecord> FindRegime(long at)
    {
        if (_state?.Market?.WindowEndAt(at) is not { } end) return [];
        var id = Core.Regimes.RegimePoints.IdFor(_partition.Key, end);
        return _state.Index.Contains(id) ? [new PointRecord(id, _state.Index.GetVector(id), _state.Payload(id))] : [];
    }

    private MarketStats MarketStatsOf()
    {
        var market = _state?.Market;
        if (market is null) return new MarketStats(_partition, 0, 0, 0, 0, long.MinValue, long.MinValue, long.MinValue, 0, [], LastSequenceNr);
        var tracker = market.Tracker;
        long lastEnd = tracker.BarCount == 0 ? long.MinValue : tracker.History[tracker.BarCount - 1].End;
        return new MarketStats(_partition, market.Ticks, tracker.BarCount, market.WindowEnds.Count, market.Rejected, market.FirstBarStart, lastEnd,
            tracker.Aggregator.Watermark, tracker.Aggregator.OpenBarCount, [.. market.Watermarks.Entries.OrderBy(e => e.Key, StringComparer.Ordinal)], LastSequenceNr);
    }

    private void HandleDelete(DeletePoints cmd)
    {
        var replyTo = Sender;
        var journalled = _state is null ? [] : ToJournal(_state, cmd);
        if (journalled.Count == 0)
        {
            replyTo.Tell(new WriteAck(_partition, 0, LastSequenceNr));
            return;
        }
        var clock = Stopwatch.StartNew();
        Write(new PointsDeleted(journalled, cmd.Version), e =>
        {
            VLinkMetrics.RecordJournalWrite("delete", clock.Elapsed);
            long applying = Stopwatch.GetTimestamp();
            int applied = _state!.Apply(e);
            VLinkMetrics.RecordApply("delete", Stopwatch.GetElapsedTime(applying));
            replyTo.Tell(new WriteAck(_partition, applied, LastSequenceNr));
            MaybeSnapshot(e);
            KeepSyncing(now: false);
        });
    }

    /// <summary>
    /// The ids of a delete worth journalling: none written later than the delete, and of the others those the partition
    /// holds; a versioned delete in a hash collection also journals absent ids, whose tombstones refuse an older upsert
    /// that arrives after the delete. Key and region collections ask every partition, so there an absent id writes
    /// nothing.
    /// </summary>
    private static List<PointId> ToJournal(PartitionState state, DeletePoints cmd)
    {
        bool keepAbsent = !cmd.Version.IsNone && state.Spec.Scheme == PartitionScheme.Hash;
        return [.. cmd.Ids.Distinct().Where(id => state.Index.Contains(id)
            ? cmd.Version >= state.Versions.Of(id)
            : keepAbsent && cmd.Version > state.Versions.Of(id))];
    }

    private void HandleDeleteByFilter(DeletePointsByFilter cmd)
    {
        IReadOnlyList<PointId> ids;
        try
        {
            ids = _state?.Matching(cmd.Filter, int.MaxValue) ?? [];
        }
        catch (ArgumentException e)
        {
            Sender.Tell(new WriteRejected(_partition, e.Message));
            return;
        }
        HandleDelete(new DeletePoints(_partition, ids, cmd.Version));
    }

    private void HandleChangePayload(ChangePayload cmd)
    {
        var replyTo = Sender;
        PayloadChanged? changed;
        try
        {
            if ((cmd.Ids is null) == (cmd.Filter is null))
                throw new ArgumentException("A payload change selects points by ids or by a filter, exactly one of the two.");
            changed = _state?.Resolve(cmd);
        }
        catch (ArgumentException e)
        {
            replyTo.Tell(new WriteRejected(_partition, e.Message));
            return;
        }
        if (changed is null)
        {
            replyTo.Tell(new WriteAck(_partition, 0, LastSequenceNr));
            return;
        }
        var clock = Stopwatch.StartNew();
        Write(changed, e =>
        {
            VLinkMetrics.RecordJournalWrite("payload", clock.Elapsed);
            long applying = Stopwatch.GetTimestamp();
            int applied = _state!.Apply(e);
            VLinkMetrics.RecordApply("payload", Stopwatch.GetElapsedTime(applying));
            replyTo.Tell(new WriteAck(_partition, applied, LastSequenceNr));
            MaybeSnapshot(e);
            KeepSyncing(now: false);
        });
    }

    // A read of the points, refused while the replica catches up after its recovery.
    private void ReadAnswer(Func<IVLinkMessage> read)
    {
        if (!RefuseWhileCatchingUp()) Answer(read);
    }

    /// <summary>
    /// While a recovered replica catches up, a read fails at once (the asker goes on to a sibling) instead of answering
    /// with what may be stale.
    /// </summary>
    private bool RefuseWhileCatchingUp()
    {
        if (_catchingUp)
            Sender.Tell(new Status.Failure(new InvalidOperationException($"Replica {_partition} is catching up with its siblings after recovering.")));
        return _catchingUp;
    }

    // The first catch-up round after recovery is over (or cannot run): serve reads, and be searched by the node.
    private void EndCatchUp()
    {
        if (!_catchingUp) return;
        _catchingUp = false;
        _nodeAgent.Tell(new NodeAgent.Register(_partition, Self));
    }

    // A read that fails on a malformed filter fails the ask (Status.Failure); the entity lives on.
    private void Answer(Func<IVLinkMessage> read)
    {
        try
        {
            Sender.Tell(read());
        }
        catch (ArgumentException e)
        {
            Sender.Tell(new Status.Failure(e));
        }
    }

    /// <summary>
    /// A batch's searches in order. Without filters they read nothing but the index, whose readers take no lock,
    /// so a large batch spreads over every core; filters evaluate through the payload cache, which is the actor's.
    /// </summary>
    private PartitionHits[] SearchAll(IReadOnlyList<SearchRequest> requests)
    {
        var answers = new PartitionHits[requests.Count];
        if (requests.Count >= 8 && requests.All(r => r.Filter is null))
            Parallel.For(0, requests.Count, i => answers[i] = Search(requests[i]));
        else
            for (int i = 0; i < requests.Count; i++) answers[i] = Search(requests[i]);
        return answers;
    }

    private PartitionHits Search(SearchRequest request)
    {
        var clock = Stopwatch.StartNew();
        if (_state is null || !request.Visits(_partition.Key)) return new PartitionHits(_partition, [], _state?.Count ?? 0, 0);
        var hits = _state.Search(request);
        return new PartitionHits(_partition, hits, _state.Count, (long)clock.Elapsed.TotalMicroseconds);
    }

    private IReadOnlyList<PointRecord> ReadPoints(GetPoints query)
    {
        if (_state is null) return [];
        var found = new List<PointRecord>();
        foreach (var id in query.Ids)
        {
            if (!_state.Index.Contains(id)) continue;
            found.Add(new PointRecord(id, query.WithVector ? _state.Index.GetVector(id) : null, _state.Payload(id), _state.Document(id), _state.Versions.LiveOf(id)));
        }
        return found;
    }

    // A page of ids and versions for a sibling stays well inside the remote frame size (16 MiB).
    private const long ReplicaPageBytes = 4L << 20;

    private ulong[] Digest() => _state?.Versions.Digest() ?? new ulong[ReplicaDigests.Buckets];

    // The spec when this partition has siblings to catch up with, else null.
    private CollectionSpec? ReplicatedSpec => (_state?.Spec ?? _learntSpec) is { ReplicationFactor: > 1 } spec ? spec : null;

    private sealed class SyncTick
    {
        public static readonly SyncTick Instance = new();
    }

    private void HandleDigestRequest(GetReplicaDigest q)
    {
        var own = Digest();
        Sender.Tell(new ReplicaDigest(_partition, own, _state?.Versions.HighWater ?? PointVersion.None));
        // A sibling that holds what this replica lacks: catch up now (learning the spec if this replica was never written).
        if (q.Spec is { ReplicationFactor: > 1 } spec && q.Spec.Name == _partition.Collection && _state is null) _learntSpec ??= spec;
        if (q.Digest is { } theirs && ReplicaDigests.Differing(own, theirs).Length > 0) KeepSyncing(now: true);
    }

    /// <summary>
    /// Keeps catch-up rounds going (for replicated collections): one now, or the next on the timer; a write or a
    /// sibling that holds more resets the count of quiet rounds.
    /// </summary>
    private void KeepSyncing(bool now)
    {
        if (ReplicatedSpec is null) return;
        _quietRounds = 0;
        if (_roundRunning) return;
        if (now) StartRound();
        else if (!Timers.IsTimerActive(SyncTimer)) Timers.StartSingleTimer(SyncTimer, SyncTick.Instance, _settings.AntiEntropyInterval);
    }

    private void StartRound()
    {
        if (_roundRunning || ReplicatedSpec is not { } spec || !SyncAllowed) return;
        Timers.Cancel(SyncTimer);
        if (_sync is null)
        {
            IActorRef region;
            try
            {
                region = Akka.Cluster.Sharding.ClusterSharding.Get(Context.System).ShardRegion(Hosting.VLinkNode.PartitionTypeName);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                _log.Warning("Partition {0} cannot reach its replicas: {1}", _partition, e.Message);
                EndCatchUp();
                return;
            }
            _sync = Context.ActorOf(ReplicaSync.Props(_partition, region, _settings.AntiEntropyTimeout), "replica-sync");
        }
        _roundRunning = true;
        _sync.Tell(new ReplicaSync.Round(spec, Digest()));
    }

    private void HandleRoundDone(ReplicaSync.RoundDone done)
    {
        _roundRunning = false;
        EndCatchUp();
        bool quiet = done.Answered == done.Siblings && done.Differed == 0;
        _quietRounds = quiet ? _quietRounds + 1 : 0;
        if (done.Points + done.Tombstones > 0)
            _log.Info("Partition {0} caught up with its {1} sibling(s) ({2} answered): {3} points and {4} tombstones taken",
                _partition, done.Siblings, done.Answered, done.Points, done.Tombstones);
        if (_quietRounds < QuietRoundsBeforeRest) Timers.StartSingleTimer(SyncTimer, SyncTick.Instance, _settings.AntiEntropyInterval);
    }

    /// <summary>
    /// Journals the entries of a sibling's page that are newer than what this replica holds, as ordinary events with
    /// the entries' own versions (upserts; deletes of the tombstones, one per version), so the last-writer-wins rules
    /// decide and recovery replays them. A replica that held nothing journals its spec first.
    /// </summary>
    private void HandleReplicaPage(ReplicaSync.Apply apply)
    {
        var replyTo = Sender;
        var spec = _state?.Spec ?? _learntSpec;
        if (spec is null || _sealed)
        {
            replyTo.Tell(new ReplicaSync.Applied(0, 0, Digest(), []));
            return;
        }
        long youngerThan = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)_settings.AntiEntropyGrace.TotalMilliseconds;
        var (upserts, wanted, deletes, _) = _state is null
            ? PartitionState.NewerThanNothing(apply.Page, spec.Dimension, youngerThan)
            : _state.Newer(apply.Page, youngerThan);
        if (upserts.Count + deletes.Count == 0)
        {
            replyTo.Tell(new ReplicaSync.Applied(0, 0, Digest(), wanted));
            return;
        }
        var events = new List<IVLinkMessage>();
        if (_state is null) events.Add(new PartitionInitialized(spec));
        if (upserts.Count > 0) events.Add(new PointsUpserted(upserts));
        events.AddRange(deletes);
        int points = 0, tombstones = 0, left = events.Count;
        var clock = Stopwatch.StartNew();
        WriteAll(events, e =>
        {
            switch (e)
            {
                case PartitionInitialized init:
                    _state ??= PartitionState.Create(init.Spec);
                    break;
                case PointsUpserted upserted:
                    points += _state!.Apply(upserted);
                    break;
                case PointsDeleted deleted:
                    _state!.Apply(deleted);
                    tombstones += deleted.Ids.Count;
                    break;
            }
            MaybeSnapshot(e);
            if (--left > 0) return;
            VLinkMetrics.RecordJournalWrite("repair", clock.Elapsed);
            VLinkMetrics.RecordReplicaRepair(points, tombstones);
            _log.Info("Partition {0} took {1} points and {2} tombstones from {3}", _partition, points, tombstones, apply.Page.Partition);
            replyTo.Tell(new ReplicaSync.Applied(points, tombstones, Digest(), wanted));
        });
    }

    private PartitionStats Stats() => _state is null
        ? new PartitionStats(_partition, 0, "empty", 0, LastSequenceNr) { HistoryLost = HistoryLost }
        : new PartitionStats(_partition, _state.Count, _state.IndexKind, _state.MemoryBytes, LastSequenceNr, _state.MappedBytes,
            _state.Versions.CombinedDigest, _state.Versions.HighWater) { HistoryLost = HistoryLost, Unlinked = _state.Unlinked };

    /// <inheritdoc />
    protected override void PostStop()
    {
        _nodeAgent.Tell(new NodeAgent.Unregister(_partition, Self));
        ReportWatermark();
        _gauge?.Dispose();
        StopSnapshot();
        StopLinking();
        _state?.Dispose();
        base.PostStop();
    }
}
