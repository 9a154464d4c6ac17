using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace VLink.Cluster.Partitions;

// Linking behind the writes. A point written into a graph is held at once (vector, id and level: a copy) and searches
// find it by scanning the held points beside the graph walk; a background task links held points into the graph, a
// chunk at a time on every core, while the partition goes on journalling, applying and answering. So:
// - a bulk load's batches are acknowledged once journalled and held, and the next batch is parsed and journalled while
//   the last one is linked; at most vlink.link-backlog points wait unlinked (a write beyond waits in the stash until
//   linking catches up), so a search never scans more than that;
// - recovery stays snapshot + short tail in time, whatever the tail's length: every point the journal replays is held
//   (PartitionState.DeferLinking), the partition answers once the replay ends, and links them afterwards. Writes do not
//   wait for those: the backlog they may fill is vlink.link-backlog on top of the replayed points still unlinked (which
//   are the oldest, linked first).
// Small batches (below PartitionState's parallel batch) and single points link at once, as before. A write waits for
// at most one chunk of linking (the graph's write lock); reads never.
public sealed partial class PartitionEntity
{
    private bool _linkerRunning;
    private CancellationTokenSource? _linking;
    private bool _recovered;
    // Points the replay held that are not linked yet.
    private int _replayedUnlinked;

    /// <summary>A background linking task linked <see cref="Linked"/> points, or ended.</summary>
    private sealed record LinkProgress(int Linked, bool Ended);

    private bool LinkBehindWrites => _settings.LinkBacklog > 0;

    /// <summary>Too many points written since the replay wait unlinked: writes wait until linking catches up.</summary>
    private bool Backlogged => LinkBehindWrites && _state is { } state && state.Unlinked >= _settings.LinkBacklog + _replayedUnlinked;

    private void DeferLinkingWhileReplaying()
    {
        if (_state is null) return;
        _state.DeferLinking = true;
        _state.LinkLater = LinkBehindWrites;
    }

    private void LinkingCommands() => Command<LinkProgress>(HandleLinkProgress);

    private void StartLinkingAfterRecovery()
    {
        _recovered = true;
        if (_state is null) return;
        _state.DeferLinking = false;
        _state.LinkLater = LinkBehindWrites;
        int held = _replayedUnlinked = _state.Unlinked;
        if (held == 0) return;
        _log.Info("Partition {0} answers with {1} replayed points held unlinked (searched by a scan) and links them in the background", _partition, held);
        EnsureLinking(_settings.LinkDelay);
    }

    /// <summary>Starts the background linking unless it runs or nothing is held. Every applied write passes here.</summary>
    private void EnsureLinking(TimeSpan delay = default)
    {
        var state = _state;
        if (_linkerRunning || !_recovered || state is null) return;
        state.LinkLater = LinkBehindWrites;
        if (state.Unlinked == 0) return;
        _linkerRunning = true;
        var cancel = _linking = new CancellationTokenSource();
        var self = Self;
        var log = _log;
        var partition = _partition;
        int chunk = _settings.LinkChunk;
        Task.Run(async () =>
        {
            try
            {
                if (delay > TimeSpan.Zero) await Task.Delay(delay, cancel.Token).ConfigureAwait(false);
                var clock = Stopwatch.StartNew();
                int linked = 0;
                while (!cancel.IsCancellationRequested)
                {
                    int before = state.Unlinked;
                    int left = state.LinkPending(chunk);
                    // Writes may hold more meanwhile; deletes may drop held points: count what went at most.
                    int done = Math.Max(0, Math.Min(chunk, before - left));
                    linked += done;
                    if (left == 0) break;
                    self.Tell(new LinkProgress(done, Ended: false));
                }
                if (linked >= 100_000 && !cancel.IsCancellationRequested)
                    log.Info("Partition {0} linked {1} held points in {2:F1} s", partition, linked, clock.Elapsed.TotalSeconds);
            }
            catch (OperationCanceledException)
            {
                // The partition stopped before linking began.
            }
            catch (Exception e)
            {
                log.Error(e, "Partition {0} failed to link its held points; searches go on scanning them", partition);
            }
            if (!cancel.IsCancellationRequested) self.Tell(new LinkProgress(0, Ended: true));
        });
    }

    private void HandleLinkProgress(LinkProgress progress)
    {
        _replayedUnlinked = Math.Max(0, Math.Min(_replayedUnlinked - progress.Linked, _state?.Unlinked ?? 0));
        if (progress.Ended)
        {
            _linkerRunning = false;
            _linking = null;
            // Writes applied after the task's last look may have held more.
            EnsureLinking();
        }
        if (!Backlogged) ReleaseHeld();
    }

    private void StopLinking()
    {
        _linking?.Cancel();
        _linking = null;
    }
}
