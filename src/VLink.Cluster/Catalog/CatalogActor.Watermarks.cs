using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Catalog;

// The partitions' watermarks: reports are gathered in memory and journalled as one event per report interval (only the
// ones that rise), so the catalog's journal sees at most one such event per interval however many partitions write.
// Those events would make the catalog's recovery grow with its age, so the catalog snapshots itself every
// CatalogSnapshotEvery entries and recovers from the latest snapshot plus the entries after it.
public sealed partial class CatalogActor : IWithTimers
{
    private const string FlushTimer = "watermarks";

    // Reports of the current interval, highest per partition; not yet durable, so never answered to a GetWatermark.
    private readonly Dictionary<PartitionRef, long> _reported = [];
    private WatermarkSettings _watermarkSettings = WatermarkSettings.Default;
    private long _snapshotAt;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private void ReceiveWatermarks()
    {
        _watermarkSettings = WatermarkSettings.From(Context.System.Settings.Config);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not CatalogStateSnapshot snapshot) return;
            _state = CatalogState.FromDurable(snapshot);
            _snapshotAt = offer.Metadata.SequenceNr;
        });
        Recover<WatermarksConfirmed>(e => _state = _state.Apply(e));
        Command<ReportWatermark>(r =>
        {
            if (r.SequenceNr > _reported.GetValueOrDefault(r.Partition)) _reported[r.Partition] = r.SequenceNr;
            if (!Timers.IsTimerActive(FlushTimer)) Timers.StartSingleTimer(FlushTimer, FlushWatermarks.Instance, _watermarkSettings.ReportInterval);
        });
        Command<GetWatermark>(q => Sender.Tell(new PartitionWatermark(q.Partition, _state.WatermarkOf(q.Partition))));
        Command<FlushWatermarks>(_ => FlushReported());
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Snapshot of the catalog failed; its journal still holds every entry"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "Old snapshots of the catalog were not deleted"));
    }

    private void FlushReported()
    {
        var confirmed = _state.DecideWatermarks(_reported.Select(r => new PartitionWatermark(r.Key, r.Value)));
        _reported.Clear();
        if (confirmed.Count == 0) return;
        Persist(new WatermarksConfirmed(confirmed), e =>
        {
            _state = _state.Apply(e);
            if (LastSequenceNr - _snapshotAt < _watermarkSettings.CatalogSnapshotEvery) return;
            _snapshotAt = LastSequenceNr;
            SaveSnapshot(_state.ToDurable());
        });
    }

    private sealed class FlushWatermarks
    {
        public static readonly FlushWatermarks Instance = new();
    }
}
