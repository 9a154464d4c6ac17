using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace VLink.Cluster.Telemetry;

/// <summary>
/// VLink's own instruments, on the meter named <see cref="MeterName"/>: searches, their latency, the journal's write
/// latency, and the partitions and vectors this process hosts. Any OpenTelemetry (or dotnet-counters) listener of
/// the meter sees them; the server exports them at <c>/metrics</c>.
/// </summary>
public static class VLinkMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "VLink";

    private static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly ConcurrentDictionary<PartitionGauge, byte> Hosted = new();
    private static readonly ConcurrentDictionary<Func<bool>, byte> Journals = new();

    /// <summary>The meter.</summary>
    public static readonly Meter Meter = new(MeterName, typeof(VLinkMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>Global searches answered by this node's Gather Engine (tags: collection, complete).</summary>
    public static readonly Counter<long> Searches = Meter.CreateCounter<long>(
        "vlink.searches", "{search}", "Global searches answered by this node's Gather Engine");

    /// <summary>Wall time of one global search, scatter to merge (tags: collection, complete).</summary>
    public static readonly Histogram<double> SearchDuration = Meter.CreateHistogram(
        "vlink.search.duration", "s", "Wall time of one global search, scatter to merge", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Time from a partition's persist call to its journalled write (tag: operation = upsert, delete or payload).</summary>
    public static readonly Histogram<double> JournalWriteDuration = Meter.CreateHistogram(
        "vlink.journal.write.duration", "s", "Time from a partition's persist call until its write is journalled", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Time a partition spends applying one journalled write to its index and payloads (tag: operation).</summary>
    public static readonly Histogram<double> ApplyDuration = Meter.CreateHistogram(
        "vlink.partition.apply.duration", "s", "Time a partition spends applying one journalled write to its index and payloads", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Entries a replica took from its siblings while catching up (tag: kind = point or tombstone).</summary>
    public static readonly Counter<long> ReplicaRepaired = Meter.CreateCounter<long>(
        "vlink.replica.repaired", "{entry}", "Points and tombstones a partition replica took from its siblings while catching up");

    /// <summary>Bytes of partition snapshots serialized for the snapshot store (what snapshots cost the store).</summary>
    public static readonly Counter<long> SnapshotBytes = Meter.CreateCounter<long>(
        "vlink.snapshot.written", "By", "Bytes of partition snapshots serialized for the snapshot store");

    static VLinkMetrics()
    {
        Meter.CreateObservableGauge("vlink.partitions", () => Hosted.Count, "{partition}", "Partitions hosted by this process");
        Meter.CreateObservableGauge("vlink.vectors", () => Hosted.Keys.Sum(p => (long)p.Count()), "{vector}", "Vectors held by the partitions this process hosts");
        Meter.CreateObservableGauge("vlink.memory", () => Hosted.Keys.Sum(p => p.Memory()), "By",
            "Memory held by the partitions this process hosts (indices, payloads, documents; not memory-mapped vectors)");
        Meter.CreateObservableGauge("vlink.partition.memory",
            () => Hosted.Keys.Select(p => new Measurement<long>(p.Memory(), new KeyValuePair<string, object?>("partition", p.Name))), "By",
            "Memory held by one partition (index, payloads, documents), by partition entity id");
        Meter.CreateObservableGauge("vlink.journal.up", () => Journals.Keys.All(up => up()) ? 1 : 0, "{journal}",
            "1 while this process reaches its journal's database, 0 while writes are refused because it does not");
    }

    /// <summary>Records one global search.</summary>
    public static void RecordSearch(string collection, bool complete, TimeSpan elapsed)
    {
        var tags = new KeyValuePair<string, object?>[] { new("collection", collection), new("complete", complete) };
        Searches.Add(1, tags);
        SearchDuration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>Records what one catch-up page repaired.</summary>
    public static void RecordReplicaRepair(int points, int tombstones)
    {
        if (points > 0) ReplicaRepaired.Add(points, new KeyValuePair<string, object?>("kind", "point"));
        if (tombstones > 0) ReplicaRepaired.Add(tombstones, new KeyValuePair<string, object?>("kind", "tombstone"));
    }

    /// <summary>Records one journalled write of a partition.</summary>
    public static void RecordJournalWrite(string operation, TimeSpan elapsed) =>
        JournalWriteDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>Records one journalled write applied by a partition.</summary>
    public static void RecordApply(string operation, TimeSpan elapsed) =>
        ApplyDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>
    /// Counts a partition as hosted here until the returned handle is disposed; <paramref name="count"/> tells its
    /// vectors and <paramref name="memory"/> its bytes (they are called on the collecting thread, so they must only read).
    /// </summary>
    public static IDisposable TrackPartition(string name, Func<int> count, Func<long> memory)
    {
        var gauge = new PartitionGauge(name, count, memory);
        Hosted.TryAdd(gauge, 0);
        return gauge;
    }

    /// <summary>Reports the journal as up or down (<c>vlink.journal.up</c>) until the returned handle is disposed.</summary>
    public static IDisposable TrackJournal(Func<bool> up)
    {
        Journals.TryAdd(up, 0);
        return new Untrack(() => Journals.TryRemove(up, out _));
    }

    private sealed class Untrack(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }

    private sealed class PartitionGauge(string name, Func<int> count, Func<long> memory) : IDisposable
    {
        public string Name => name;

        public int Count() => count();

        public long Memory() => memory();

        public void Dispose() => Hosted.TryRemove(this, out _);
    }
}
