using Akka.Actor;
using Akka.Event;
using VLink.Cluster.Catalog;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;

namespace VLink.Cluster.Partitions;

// The watermark check: a partition that recovers from a store lacking its history (a per-node SQLite file on a node it
// never lived on, a restored old backup) must not answer short while claiming to be complete. After acknowledged writes
// the partition reports its journal's sequence number to the catalog, which journals the highest it heard; on recovery
// it asks the catalog for that watermark before it serves anything, and below it refuses every read and write.
public sealed partial class PartitionEntity
{
    private const string ReportTimer = "watermark-report";
    private const string CheckTimer = "watermark-check";

    private enum HistoryCheck
    {
        // Recovered; requests wait (stashed) for the catalog's watermark.
        Checking,

        // The journal reaches the watermark: serving, and reporting after writes.
        Confirmed,

        // The catalog did not answer in time: serving without the check (no reports, which could only raise the
        // watermark to what this incarnation wrote), asking again every check timeout until it answers.
        Unchecked,

        // The journal ends below the watermark: every read and write is refused until the partition recovers from a
        // store that holds its history.
        Lost,
    }

    private readonly WatermarkSettings _watermarkSettings = WatermarkSettings.From(Context.System.Settings.Config);
    private HistoryCheck _history = HistoryCheck.Checking;
    private long _recoveredSequenceNr;
    private long _confirmedWatermark;
    private long _reportedSequenceNr;

    // The sequence number of the last event the journal stored (recovered, or written since). Not LastSequenceNr: an
    // event the journal refused (while it was down) uses up a number that no row holds, and a watermark past the
    // journal's last row would fence the partition at its next recovery.
    private long _storedSequenceNr;
    private DateTime _uncheckedSince;

    private sealed class CheckTimedOut
    {
        public static readonly CheckTimedOut Instance = new();
    }

    private sealed class ReportTick
    {
        public static readonly ReportTick Instance = new();
    }

    /// <summary>
    /// The first handlers: while the check runs, requests wait for it; once history is known lost, every request but
    /// the statistics (for operators) fails, and pages a catch-up round fetched are not journalled.
    /// </summary>
    private void GateOnHistory()
    {
        Command<IPartitionMessage>(_ => Stash.Stash(), _ => _history == HistoryCheck.Checking);
        Command<IPartitionMessage>(_ => Sender.Tell(new Status.Failure(new InvalidOperationException(HistoryLostMessage()))),
            m => _history == HistoryCheck.Lost && m is not GetPartitionStats);
        Command<ReplicaSync.Apply>(_ => Sender.Tell(new ReplicaSync.Applied(0, 0, Digest(), [])), _ => _history == HistoryCheck.Lost);
        Command<PartitionWatermark>(HandleWatermark);
        Command<CheckTimedOut>(_ => HandleCheckTimeout());
        Command<ReportTick>(_ => ReportWatermark());
    }

    // Called once recovery is done: one ask of the catalog, with the check timeout.
    private void StartHistoryCheck()
    {
        _recoveredSequenceNr = LastSequenceNr;
        _storedSequenceNr = LastSequenceNr;
        _history = HistoryCheck.Checking;
        AskWatermark();
        Timers.StartSingleTimer(CheckTimer, CheckTimedOut.Instance, _watermarkSettings.CheckTimeout);
    }

    private void AskWatermark() =>
        Context.ActorSelection($"/user/{CatalogActor.Name}-proxy").Tell(new GetWatermark(_partition), Self);

    private void HandleWatermark(PartitionWatermark watermark)
    {
        if (watermark.Partition != _partition || _history is HistoryCheck.Confirmed or HistoryCheck.Lost) return;
        Timers.Cancel(CheckTimer);
        var was = _history;
        _confirmedWatermark = watermark.SequenceNr;
        if (_recoveredSequenceNr < watermark.SequenceNr)
        {
            _history = HistoryCheck.Lost;
            _log.Error("Partition {0} lost history: it recovered from {1} at journal sequence {2}, below its watermark {3} (the sequence the " +
                "catalog confirmed it had acknowledged){4}. It refuses every read and write, so answers name it as missing, until it recovers from a " +
                "store that holds its history.",
                _partition, JournalStore.Describe(Context.System.Settings.Config), _recoveredSequenceNr, watermark.SequenceNr,
                was == HistoryCheck.Unchecked ? $" (it served unchecked for {DateTime.UtcNow - _uncheckedSince:g} while the catalog did not answer)" : "");
            // Registered with the node (so operators see it), never searched: its reads fail.
            EndCatchUp();
        }
        else
        {
            _history = HistoryCheck.Confirmed;
            // A journal that goes further than the catalog knows (written before watermarks existed, or a report lost):
            // the catalog learns it now.
            if (_recoveredSequenceNr > watermark.SequenceNr) ReportWatermark();
            else _reportedSequenceNr = _recoveredSequenceNr;
            if (_storedSequenceNr > _reportedSequenceNr) ArmReport();
        }
        if (was == HistoryCheck.Checking)
        {
            Stash.UnstashAll();
            KeepSyncing(now: true);
        }
    }

    private void HandleCheckTimeout()
    {
        if (_history == HistoryCheck.Checking)
        {
            _log.Warning("Partition {0}: the catalog did not give its watermark within {1}; serving unchecked and asking again every {1}",
                _partition, _watermarkSettings.CheckTimeout);
            _history = HistoryCheck.Unchecked;
            _uncheckedSince = DateTime.UtcNow;
            Stash.UnstashAll();
            KeepSyncing(now: true);
        }
        if (_history != HistoryCheck.Unchecked) return;
        AskWatermark();
        Timers.StartSingleTimer(CheckTimer, CheckTimedOut.Instance, _watermarkSettings.CheckTimeout);
    }

    // After each journalled write (called from its persist handler): report within one report interval (a single timer,
    // so at most one report per interval).
    private void WatermarkAdvanced()
    {
        _storedSequenceNr = Math.Max(_storedSequenceNr, LastSequenceNr);
        ArmReport();
    }

    private void ArmReport()
    {
        if (_history == HistoryCheck.Confirmed && !Timers.IsTimerActive(ReportTimer))
            Timers.StartSingleTimer(ReportTimer, ReportTick.Instance, _watermarkSettings.ReportInterval);
    }

    private void ReportWatermark()
    {
        if (_history != HistoryCheck.Confirmed || _storedSequenceNr <= _reportedSequenceNr) return;
        _reportedSequenceNr = _storedSequenceNr;
        Context.ActorSelection($"/user/{CatalogActor.Name}-proxy").Tell(new ReportWatermark(_partition, _storedSequenceNr), ActorRefs.NoSender);
    }

    // A sibling's catch-up round and this replica's own wait while the check runs, and stop for good once history is lost.
    private bool SyncAllowed => _history is HistoryCheck.Confirmed or HistoryCheck.Unchecked;

    private bool HistoryLost => _history == HistoryCheck.Lost;

    private string HistoryLostMessage() =>
        $"Partition {_partition} lost history: its journal ends at sequence {_recoveredSequenceNr}, below its watermark {_confirmedWatermark} " +
        "(the sequence it had acknowledged); it serves nothing until it recovers from a store that holds its history.";
}
