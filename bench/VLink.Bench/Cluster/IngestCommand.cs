using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using VLink.Bench.Cli;
using VLink.Cluster.Ingest;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Telemetry;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Bench.Cluster;

/// <summary>
/// <c>ingest</c>: end-to-end ingestion throughput — ticks per second from a tick file to durable regime vectors on one
/// node with SQLite, through the Akka.Streams pipeline and the market partitions — with the peer (the Core parser
/// alone, the ceiling) and a breakdown of where the time goes, all in one run on the same file.
/// </summary>
public static class IngestCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["file", "ticks", "markets", "spacing-ms", "interval-s", "batch", "seed"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "ingest [--file ticks.csv] [--ticks 4000000] [--markets 8] [--spacing-ms 100] [--interval-s 60] [--batch 32768] [--seed 1]\n" +
        "      without --file, writes a synthetic random-walk tick file (bench/data/ticks/); prints one JSON line:\n" +
        "      end-to-end ticks/s, the parser-only peer, and per-stage seconds (parse, tracker, index, encoding, journal)";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ArgSet args)
    {
        int ticks = args.GetInt("ticks", 4_000_000, 1000), markets = args.GetInt("markets", 8, 1, 1000);
        int spacingMs = args.GetInt("spacing-ms", 100, 1), intervalS = args.GetInt("interval-s", 60, 1);
        int batch = args.GetInt("batch", 32_768, 16, 1_000_000), seed = args.GetInt("seed", 1);
        string file = args.Get("file") ?? Synthetic(ticks, markets, spacingMs, seed);
        if (!File.Exists(file)) throw new BenchInputException($"no such file: {file}");
        var interval = TimeSpan.FromSeconds(intervalS);
        var regime = RegimeSpec.Default(interval);
        long bytes = new FileInfo(file).Length;

        // Peer: the Core parser alone (the ceiling of any pipeline that reads this file).
        var (rows, parseSeconds) = ParseOnly(file);
        Console.Error.WriteLine($"ingest: {file}: {rows:N0} ticks, {bytes / 1e6:F1} MB; parse only {parseSeconds:F2} s = {rows / parseSeconds:N0} ticks/s");

        // Stages in isolation, single-threaded, on the same rows (batched by market like the pipeline).
        var batches = Batches(file, batch);
        var stages = Stages(batches, regime);
        Console.Error.WriteLine($"ingest: tracker {stages.Tracker:F2} s, index+payloads {stages.Index:F2} s, event encoding {stages.Encode:F2} s ({stages.EventBytes / 1e6:F1} MB), {stages.Vectors:N0} vectors");

        // End to end: file → pipeline → market partitions (journal in SQLite) → vectors.
        string data = Directory.CreateTempSubdirectory("vlink-bench-ingest-").FullName;
        double journalSeconds = 0;
        long journalWrites = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == VLinkMetrics.MeterName && instrument.Name == "vlink.journal.write.duration") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "operation" && (string?)tag.Value == "ingest")
                {
                    journalSeconds += value;
                    journalWrites++;
                }
            }
        });
        listener.Start();
        IngestReport report;
        double wall, cpu;
        long allocated;
        int gen2;
        long vectorsStored;
        try
        {
            await using var cluster = await LocalCluster.StartAsync(1, data, "vlink.gather.timeout = 120s");
            var node = cluster.Nodes[0];
            var ingest = new MarketIngest(node);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            allocated = GC.GetTotalAllocatedBytes();
            gen2 = GC.CollectionCount(2);
            var clock = Stopwatch.StartNew();
            await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            {
                report = await ingest.IngestAsync(stream, Path.GetFileName(file), new IngestOptions
                {
                    Collection = "bench-regimes",
                    NewCollection = regime,
                    Format = MarketFileOptions.FormatOf(file),
                    BatchRows = batch,
                    AskTimeout = TimeSpan.FromSeconds(120),
                });
            }
            wall = clock.Elapsed.TotalSeconds;
            cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            allocated = GC.GetTotalAllocatedBytes() - allocated;
            gen2 = GC.CollectionCount(2) - gen2;
            vectorsStored = await node.CountAsync("bench-regimes", null, TimeSpan.FromSeconds(120));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            GatherCommand.TryDelete(data);
        }
        listener.Dispose();
        if (report.Accepted != rows || vectorsStored != report.Vectors)
            throw new InvalidOperationException($"the pipeline applied {report.Accepted} of {rows} ticks and stores {vectorsStored} of {report.Vectors} vectors");
        // Journal: from the persist call to its callback, minus nothing (apply runs after it); summed over partitions.
        double tickRate = rows / wall;
        Console.Error.WriteLine($"ingest: end to end {wall:F2} s = {tickRate:N0} ticks/s ({report.Batches} batches, journal {journalSeconds:F2} s summed over {journalWrites} writes); " +
            $"{tickRate / (rows / parseSeconds):P0} of the parser alone; the process used {cpu:F2} CPU-s ({cpu / wall:F2} cores, {Environment.ProcessorCount} available), allocated {allocated / 1e6:F0} MB, {gen2} gen-2 collections");
        Json.Line(w =>
        {
            w.WriteString("bench", "ingest");
            w.WriteString("file", Path.GetFileName(file));
            w.WriteNumber("ticks", rows);
            w.WriteNumber("markets", report.Markets.Count);
            w.WriteNumber("bytes", bytes);
            w.WriteString("bar_interval", interval.ToString("c", CultureInfo.InvariantCulture));
            w.WriteNumber("batch_rows", batch);
            w.WriteNumber("batches", report.Batches);
            w.WriteNumber("bars", report.Bars);
            w.WriteNumber("vectors", report.Vectors);
            w.WriteRounded("e2e_s", wall, 3);
            w.WriteRounded("e2e_cpu_s", cpu, 3);
            w.WriteNumber("e2e_allocated_bytes", allocated);
            w.WriteNumber("e2e_gen2_collections", gen2);
            w.WriteRounded("ticks_per_s", tickRate, 0);
            w.WriteRounded("peer_parse_only_s", parseSeconds, 3);
            w.WriteRounded("peer_parse_only_ticks_per_s", rows / parseSeconds, 0);
            w.WriteRounded("ratio_vs_parse_only", tickRate / (rows / parseSeconds), 3);
            w.WriteRounded("stage_parse_s", parseSeconds, 3);
            w.WriteRounded("stage_tracker_s", stages.Tracker, 3);
            w.WriteRounded("stage_index_payloads_s", stages.Index, 3);
            w.WriteRounded("stage_event_encoding_s", stages.Encode, 3);
            w.WriteNumber("event_bytes", stages.EventBytes);
            w.WriteRounded("journal_persist_s_summed", journalSeconds, 3);
            w.WriteNumber("journal_writes", journalWrites);
        });
        return 0;
    }

    private static (long Rows, double Seconds) ParseOnly(string file)
    {
        // Twice; the second (warm) pass counts.
        (long, double) last = default;
        for (int pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            using var reader = TickReader.Open(file);
            long n = 0;
            while (reader.TryRead(out _)) n++;
            last = (n, clock.Elapsed.TotalSeconds);
        }
        return last;
    }

    private static List<(string Market, MarketBatch Batch)> Batches(string file, int batchRows)
    {
        var result = new List<(string, MarketBatch)>();
        var open = new Dictionary<string, (List<Tick> Ticks, List<long> Seqs)>(StringComparer.Ordinal);
        using var reader = TickReader.Open(file);
        while (reader.TryRead(out var tick))
        {
            string market = reader.LastRowMarket ?? "X";
            if (!open.TryGetValue(market, out var b)) open[market] = b = ([], []);
            b.Ticks.Add(tick);
            b.Seqs.Add(reader.LastRowLine);
            if (b.Ticks.Count == batchRows) Flush(market, b);
        }
        foreach (var (market, b) in open) if (b.Ticks.Count > 0) Flush(market, b);
        return result;

        void Flush(string market, (List<Tick> Ticks, List<long> Seqs) b)
        {
            result.Add((market, new MarketBatch("bench", [.. b.Seqs], [.. b.Ticks], [])));
            b.Ticks.Clear();
            b.Seqs.Clear();
        }
    }

    private sealed record StageTimes(double Tracker, double Index, double Encode, long EventBytes, long Vectors);

    private static StageTimes Stages(List<(string Market, MarketBatch Batch)> batches, RegimeSpec regime)
    {
        // Tracker alone.
        var clock = Stopwatch.StartNew();
        var trackers = new Dictionary<string, RegimeTracker>(StringComparer.Ordinal);
        var updates = new RegimeUpdates();
        foreach (var (market, batch) in batches)
        {
            if (!trackers.TryGetValue(market, out var tracker)) trackers[market] = tracker = new RegimeTracker(market, regime.Features(), regime.BarInterval, regime.Policy);
            foreach (var t in batch.Ticks) tracker.AddTick(t, updates);
            updates.Clear();
        }
        double tracker_s = clock.Elapsed.TotalSeconds;

        // The partition's apply (tracker + index upserts + payloads and outcomes) minus the tracker alone.
        var spec = regime.Collection("bench");
        var states = new Dictionary<string, PartitionState>(StringComparer.Ordinal);
        long vectors = 0;
        clock.Restart();
        foreach (var (market, batch) in batches)
        {
            if (!states.TryGetValue(market, out var state)) states[market] = state = PartitionState.Create(spec);
            vectors += state.Apply(new MarketDataIngested(batch), market).Updates.Vectors.Count;
        }
        double apply_s = clock.Elapsed.TotalSeconds;
        foreach (var s in states.Values) s.Dispose();

        // Encoding of the journal events by the one serializer.
        using var system = Akka.Actor.ActorSystem.Create("bench-encode", VLink.Cluster.Hosting.VLinkConfig.Build(
            new VLink.Cluster.Hosting.NodeAddress("127.0.0.1", 0, [], VLink.Cluster.Hosting.PersistenceKind.Sqlite, "Data Source=:memory:"),
            "akka.cluster.seed-nodes = []\nakka.loglevel = ERROR"));
        var serializer = system.Serialization.FindSerializerForType(typeof(MarketDataIngested));
        long eventBytes = 0;
        clock.Restart();
        foreach (var (_, batch) in batches) eventBytes += serializer.ToBinary(new MarketDataIngested(batch)).Length;
        double encode_s = clock.Elapsed.TotalSeconds;
        system.Terminate().Wait();
        return new StageTimes(tracker_s, Math.Max(0, apply_s - tracker_s), encode_s, eventBytes, vectors);
    }

    /// <summary>Writes (once) a deterministic tick file: random walks, one tick per market every spacing on average.</summary>
    private static string Synthetic(int ticks, int markets, int spacingMs, int seed)
    {
        string dir = Path.Combine("bench", "data", "ticks");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"synthetic-{ticks}-{markets}-{spacingMs}ms-{seed}.csv");
        if (File.Exists(path)) return path;
        var rng = new Random(seed);
        var prices = Enumerable.Range(0, markets).Select(i => 50.0 + 10 * i).ToArray();
        var names = Enumerable.Range(0, markets).Select(i => $"SYN{i:D3}").ToArray();
        var time = new DateTime(2024, 1, 2, 0, 0, 0, DateTimeKind.Utc);
        string tmp = path + ".tmp";
        using (var writer = new StreamWriter(tmp, false, new UTF8Encoding(false), 1 << 20))
        {
            writer.Write("time,market,price,size\n");
            // All markets tick in turn; the clock moves spacing / markets per tick, jittered.
            double step = spacingMs / (double)markets;
            double ms = 0;
            for (int i = 0; i < ticks; i++)
            {
                int m = i % markets;
                ms += step * (0.5 + rng.NextDouble());
                prices[m] *= Math.Exp(0.0004 * (rng.NextDouble() - 0.5) * 3.46);
                writer.Write(time.AddMilliseconds(Math.Floor(ms)).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(names[m]);
                writer.Write(',');
                writer.Write(prices[m].ToString("F4", CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write((1 + rng.Next(500)).ToString(CultureInfo.InvariantCulture));
                writer.Write('\n');
            }
        }
        File.Move(tmp, path, overwrite: true);
        return path;
    }
}
