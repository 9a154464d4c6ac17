using Microsoft.Extensions.Options;

namespace VLink.Server.Hosting;

/// <summary>
/// Gives memory the garbage collector keeps but does not use back to the operating system. Bulk loads and snapshots of
/// large partitions allocate large, short-lived arrays; they die young, but the collector rarely needs a full collection
/// to find room, so their memory stays committed and a node holding 100 MB of data sat at 700 MB. Every
/// <see cref="VLinkServerOptions.MemoryTrimSeconds"/> this checks how far the collector's committed memory grew since the
/// last trim and, past <see cref="VLinkServerOptions.MemoryTrimSlackMb"/>, runs one aggressive collection that compacts
/// the large-object heap and decommits what is free (one blocking pause, at most once per interval).
/// </summary>
public sealed partial class MemoryTrimmer(IOptions<VLinkServerOptions> options, ILogger<MemoryTrimmer> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.MemoryTrimSeconds <= 0) return;
        long slack = (long)o.MemoryTrimSlackMb << 20;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(o.MemoryTrimSeconds));
        long baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                long committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                if (committed - baseline < slack) continue;
                long before = Environment.WorkingSet;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
                LogTrimmed(logger, committed >> 20, baseline >> 20, clock.Elapsed.TotalMilliseconds, before >> 20, Environment.WorkingSet >> 20);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Memory trimmed: GC committed {CommittedMb} -> {AfterCommittedMb} MiB in {Ms:0.0} ms, working set {BeforeMb} -> {AfterMb} MiB")]
    private static partial void LogTrimmed(ILogger logger, long committedMb, long afterCommittedMb, double ms, long beforeMb, long afterMb);
}
