using Akka.Actor;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Catalog;

// The partitions' watermarks: reports are gathered in memory and journalled as one event per report interval (only the
// ones that rise), so the catalog's journal sees at most one such event per interval however many partitions write.
public sealed partial class CatalogActor : IWithTimers
{
    private const string FlushTimer = "watermarks";

    // Reports of the current interval, highest per partition; not yet durable, so never answered to a GetWatermark.
    private readonly Dictionary<PartitionRef, long> _reported = [];
    private TimeSpan _reportInterval = WatermarkSettings.Default.ReportInterval;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private void ReceiveWatermarks()
    {
        _reportInterval = WatermarkSettings.From(Context.System.Settings.Config).ReportInterval;
        Recover<WatermarksConfirmed>(e => _state = _state.Apply(e));
        Command<ReportWatermark>(r =>
        {
            if (r.SequenceNr > _reported.GetValueOrDefault(r.Partition)) _reported[r.Partition] = r.SequenceNr;
            if (!Timers.IsTimerActive(FlushTimer)) Timers.StartSingleTimer(FlushTimer, FlushWatermarks.Instance, _reportInterval);
        });
        Command<GetWatermark>(q => Sender.Tell(new PartitionWatermark(q.Partition, _state.WatermarkOf(q.Partition))));
        Command<FlushWatermarks>(_ => FlushReported());
    }

    private void FlushReported()
    {
        var confirmed = _state.DecideWatermarks(_reported.Select(r => new PartitionWatermark(r.Key, r.Value)));
        _reported.Clear();
        if (confirmed.Count == 0) return;
        Persist(new WatermarksConfirmed(confirmed), e => _state = _state.Apply(e));
    }

    private sealed class FlushWatermarks
    {
        public static readonly FlushWatermarks Instance = new();
    }
}
