using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using VLink.Cluster.Protocol;
using VLink.Cluster.Snapshots;
using VLink.Cluster.Telemetry;

namespace VLink.Cluster.Partitions;

// Snapshots whose cost does not grow with the partition and that stay off the write path:
// - a snapshot is due once the journal entries since the last one hold a fraction of its bytes
//   (PartitionSettings.SnapshotTailFraction), or once they are SnapshotEvery entries, or when the partition has been idle
//   a while with some megabytes of tail, so snapshot bytes per written byte stay bounded whatever the partition size;
// - the state is written to memory chunks on a pool thread while the actor goes on answering reads (writes wait, as
//   the image must not change under it), then the chunks go to the chunk table while writes run again, and only then
//   does the snapshot store get the small manifest (ChunkedSnapshot) at the image's sequence number;
// - recovery reads the chunks one at a time (so partitions above 2 GB snapshot and recover) and replays the tail.
public sealed partial class PartitionEntity
{
    private const string IdleSnapshotTimer = "idle-snapshot";
    private const long LargeImageBytes = 64L << 20;

    private SnapshotChunkStore? _chunkStore;

    // Bytes of the last snapshot (0 before the first), and of the journal entries written since.
    private long _snapshotBytes;
    private long _tailBytes;
    private long _tailEntries;

    // The snapshot being taken, if any; and whether one is due, to start once no write is in flight.
    private SnapshotRun? _snapshot;
    private bool _snapshotDue;

    // While the image is taken, writes wait (PartitionEntity.Writes.cs); reads do not.
    private bool Imaging => _snapshot is { Imaging: true };

    private SnapshotChunkStore ChunkStore => _chunkStore ??= SnapshotChunks.Of(Context.System);

    private sealed class SnapshotRun(long sequenceNr)
    {
        public long SequenceNr { get; } = sequenceNr;
        public CancellationTokenSource Cancel { get; } = new();
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public Task? Image { get; set; }
        public bool Imaging { get; set; } = true;
        public TimeSpan ImageTime { get; set; }
        public long Bytes { get; set; }
    }

    private sealed record ImageTaken(long SequenceNr, IReadOnlyList<ReadOnlyMemory<byte>> Chunks, long Bytes);

    private sealed record ChunksStored(long SequenceNr, int Chunks, long Bytes);

    private sealed record SnapshotFailed(long SequenceNr, Exception Cause);

    private sealed class IdleSnapshot
    {
        public static readonly IdleSnapshot Instance = new();
    }

    private void SnapshotCommands()
    {
        Command<ImageTaken>(HandleImageTaken);
        Command<ChunksStored>(HandleChunksStored);
        Command<SnapshotFailed>(HandleSnapshotFailed);
        Command<IdleSnapshot>(_ =>
        {
            if (_tailEntries == 0) return;
            if (_inFlight == 0) StartSnapshot();
            else _snapshotDue = true;
        });
        Command<SaveSnapshotSuccess>(HandleSnapshotSaved);
        Command<SaveSnapshotFailure>(f =>
        {
            _log.Warning(f.Cause, "Snapshot of partition {0} failed; the journal still holds every entry", _partition);
            if (_snapshot?.SequenceNr == f.Metadata.SequenceNr)
            {
                _snapshot = null;
                ChunkStore.DeleteAsync(PersistenceId, f.Metadata.SequenceNr);
            }
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "Old snapshots of partition {0} were not deleted", _partition));
    }

    // The state a snapshot offered to recovery describes.
    private void RecoverSnapshot(SnapshotOffer offer)
    {
        _state?.Dispose();
        _state = null;
        switch (offer.Snapshot)
        {
            case ChunkedSnapshot chunked:
            {
                var clock = Stopwatch.StartNew();
                long sequenceNr = offer.Metadata.SequenceNr;
                var store = ChunkStore;
                using (var chunks = new ChunkReader(i => store.Read(PersistenceId, sequenceNr, i), chunked.Chunks, chunked.Bytes))
                    _state = PartitionState.ReadSnapshot(chunks);
                _snapshotBytes = chunked.Bytes;
                if (clock.Elapsed > TimeSpan.FromSeconds(1))
                    _log.Info("Partition {0} loaded its snapshot ({1:F0} MB in {2} chunks) in {3:F1} s", _partition, chunked.Bytes / 1e6, chunked.Chunks, clock.Elapsed.TotalSeconds);
                break;
            }
            case PartitionSnapshot whole:
                _state = PartitionState.FromSnapshot(whole);
                _snapshotBytes = whole.Index.LongLength;
                break;
        }
        _tailBytes = 0;
        _tailEntries = 0;
    }

    // Every journalled entry passes here, during recovery too.
    private void CountTail(object entry)
    {
        _tailEntries++;
        _tailBytes += entry switch
        {
            PointsUpserted e => e.Points.Sum(p => 32L + sizeof(float) * (long)(p.Vector?.Length ?? 0) + (p.Payload?.Length ?? 0) + 2L * (p.Document?.Length ?? 0)),
            PointsDeleted e => 16L * e.Ids.Count + 16,
            PayloadChanged e => (e.Payload?.Length ?? 0) + 16L * e.Ids.Count + 16,
            MarketDataIngested e => 24L * e.Batch.Count + 16,
            _ => 16,
        };
    }

    // Every journalled write passes here (after it is applied).
    private void MaybeSnapshot(object journalled)
    {
        WatermarkAdvanced();
        CountTail(journalled);
        if (_state is null || _sealed) return;
        bool due = _tailEntries >= _settings.SnapshotEvery
            || _tailBytes >= Math.Max(_settings.SnapshotMinBytes, _settings.SnapshotTailFraction * _snapshotBytes);
        // The image starts once no write is in flight (Settled, right after this handler).
        if (due) _snapshotDue = _snapshot is null;
        else if (_tailBytes >= _settings.SnapshotMinBytes && _settings.SnapshotIdle > TimeSpan.Zero)
            Timers.StartSingleTimer(IdleSnapshotTimer, IdleSnapshot.Instance, _settings.SnapshotIdle);
    }

    private void StartSnapshot()
    {
        _snapshotDue = false;
        // A sealed partition's last entry is its seal: recovery always replays it.
        if (_snapshot is not null || _state is not { } state || _sealed || _inFlight > 0) return;
        Timers.Cancel(IdleSnapshotTimer);
        var run = new SnapshotRun(LastSequenceNr);
        _snapshot = run;
        _tailBytes = 0;
        _tailEntries = 0;
        var self = Self;
        run.Image = Task.Run(() =>
        {
            var chunks = new ChunkWriter(cancellation: run.Cancel.Token);
            state.WriteSnapshot(chunks);
            return chunks;
        }).ContinueWith(t => self.Tell(t.IsCompletedSuccessfully
            ? new ImageTaken(run.SequenceNr, t.Result.Chunks, t.Result.Length)
            : new SnapshotFailed(run.SequenceNr, t.Exception?.GetBaseException() ?? new OperationCanceledException())), TaskScheduler.Default);
    }

    private void HandleImageTaken(ImageTaken image)
    {
        if (_snapshot is not { } run || run.SequenceNr != image.SequenceNr) return;
        run.Imaging = false;
        run.ImageTime = run.Clock.Elapsed;
        run.Bytes = image.Bytes;
        _snapshotBytes = image.Bytes;
        ReleaseHeld();
        var self = Self;
        ChunkStore.WriteAsync(PersistenceId, image.SequenceNr, image.Chunks, run.Cancel.Token).ContinueWith(t => self.Tell(t.IsCompletedSuccessfully
            ? new ChunksStored(image.SequenceNr, image.Chunks.Count, image.Bytes)
            : new SnapshotFailed(image.SequenceNr, t.Exception?.GetBaseException() ?? new OperationCanceledException())), TaskScheduler.Default);
    }

    private void HandleChunksStored(ChunksStored stored)
    {
        if (_snapshot?.SequenceNr != stored.SequenceNr) return;
        VLinkMetrics.SnapshotBytes.Add(stored.Bytes);
        // The image's chunks just died, all in the large-object heap, which only a full collection frees: ask for one in
        // the background (no pause of the threads) rather than keep that much memory committed until the heap grows.
        if (stored.Bytes >= LargeImageBytes) GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false);
        // The manifest goes in at the image's sequence number, not the partition's current one.
        SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata(SnapshotterId, stored.SequenceNr, DateTime.UtcNow), new ChunkedSnapshot(stored.Chunks, stored.Bytes)), Self);
    }

    private void HandleSnapshotSaved(SaveSnapshotSuccess saved)
    {
        long sequenceNr = saved.Metadata.SequenceNr;
        DeleteSnapshots(new SnapshotSelectionCriteria(sequenceNr - 1));
        var log = _log;
        var partition = _partition;
        ChunkStore.DeleteBeforeAsync(PersistenceId, sequenceNr).ContinueWith(
            t => log.Warning(t.Exception?.GetBaseException(), "Chunks of old snapshots of partition {0} were not deleted", partition),
            TaskContinuationOptions.OnlyOnFaulted);
        if (_snapshot is { } run && run.SequenceNr == sequenceNr)
        {
            _snapshot = null;
            var total = run.Clock.Elapsed;
            if (total > TimeSpan.FromSeconds(1))
                _log.Info("Partition {0} snapshot at {1}: {2:F0} MB, image {3:F2} s (writes waited), stored in {4:F1} s", _partition, sequenceNr,
                    run.Bytes / 1e6, run.ImageTime.TotalSeconds, total.TotalSeconds);
        }
    }

    private void HandleSnapshotFailed(SnapshotFailed failed)
    {
        if (_snapshot is not { } run || run.SequenceNr != failed.SequenceNr) return;
        _snapshot = null;
        if (run.Imaging) ReleaseHeld();
        if (failed.Cause is not OperationCanceledException)
            _log.Warning(failed.Cause, "Snapshot of partition {0} at {1} failed; the journal still holds every entry", _partition, failed.SequenceNr);
        ChunkStore.DeleteAsync(PersistenceId, failed.SequenceNr);
    }

    // Before the state is disposed: a snapshot image still being written stops reading it.
    private void StopSnapshot()
    {
        if (_snapshot is not { } run) return;
        run.Cancel.Cancel();
        try
        {
            run.Image?.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Cancelled or failed: either way it no longer reads the state.
        }
    }
}
