using System.Diagnostics;
using Microsoft.Data.Sqlite;
using VLink.Bench.Cli;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Vectors;

namespace VLink.Bench.Cluster;

/// <summary>
/// <c>recovery</c>: how long one large partition takes to come back after a restart — replaying its whole journal
/// (every upsert re-inserted into a fresh graph), loading a snapshot that covers every entry (taken once the partition
/// was idle), and as the default snapshot policy leaves it right after the load (its last snapshot plus the journal
/// after it, at most <c>vlink.snapshot-tail-fraction</c> of the snapshot's bytes).
/// </summary>
public static class RecoveryCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["n", "dim", "batch", "seed", "modes"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "recovery [--n 100000] [--dim 128] [--batch 1000] [--seed 1] [--modes journal,snapshot,tail]\n" +
        "      prints one JSON line per mode (journal, snapshot, tail): time from restart to the partition's first complete\n" +
        "      answer, the replayed points then held unlinked, one search's time meanwhile, and the time until all are linked";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ArgSet args)
    {
        int n = args.GetInt("n", 100_000, 100), dim = args.GetInt("dim", 128, 1, 4096), batch = args.GetInt("batch", 1000, 1, 100_000);
        int batches = (n + batch - 1) / batch;
        string[] known = ["journal", "snapshot", "tail"];
        var modes = (args.Get("modes") ?? string.Join(',', known)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (modes.FirstOrDefault(m => !known.Contains(m)) is { } unknown)
            throw new UsageException($"--modes: unknown mode '{unknown}' (known: {string.Join(", ", known)}).");
        foreach (string mode in modes)
        {
            var random = new Random(args.GetInt("seed", 1));
            string data = Directory.CreateTempSubdirectory("vlink-bench-recovery-").FullName;
            try
            {
                // The partition journals one init entry plus one entry per batch. journal: never a snapshot; snapshot: the
                // default policy, then one covering every entry once the partition is idle for a second; tail: the
                // default policy, stopped right after the load.
                string policy = mode switch
                {
                    "journal" => "vlink.snapshot-every = 2147483647\nvlink.snapshot-tail-fraction = 1e9\nvlink.snapshot-idle = 0s",
                    "snapshot" => "vlink.snapshot-idle = 1s",
                    _ => "vlink.snapshot-idle = 0s",
                };
                string hocon = $"{policy}\nvlink.gather.timeout = 600s\nakka.cluster.sharding.handoff-timeout = 600s";
                var spec = new CollectionSpec("recovery", dim, DistanceMetric.Euclidean, PartitionScheme.Key, 0, new HnswOptions());
                var probe = GatherCommand.RandomVector(random, dim);
                var clock = Stopwatch.StartNew();
                await using (var cluster = await LocalCluster.StartAsync(1, data, hocon))
                {
                    var node = cluster.Nodes[0];
                    await node.ChangeCatalogAsync(new CreateCollection(spec));
                    for (int b = 0; b < batches; b++)
                    {
                        var points = Enumerable.Range(b * batch, Math.Min(batch, n - b * batch))
                            .Select(i => new PointWrite((ulong)i, GatherCommand.RandomVector(random, dim), null)).ToList();
                        await node.UpsertAsync("recovery", points, key: "big", timeout: TimeSpan.FromSeconds(600));
                    }
                    Console.Error.WriteLine($"recovery/{mode}: wrote {n} x {dim} in {batches} entries, {clock.Elapsed.TotalSeconds:F1} s");
                    if (mode == "snapshot") await WaitForSnapshotAsync(data, batches + 1);
                }

                await using (var restarted = await LocalCluster.StartAsync(1, data, hocon))
                {
                    var node = restarted.Nodes[0];
                    await node.CatalogAsync(TimeSpan.FromSeconds(60));
                    clock.Restart();
                    long snapshotAt = await SnapshotAtAsync(data);
                    clock.Restart();
                    var result = await node.Gather.SearchAsync("recovery", probe, 10);
                    double seconds = clock.Elapsed.TotalSeconds;
                    if (!result.Complete || result.Hits.Count != 10)
                        throw new InvalidOperationException($"the recovered partition answered incompletely ({result.Hits.Count} hits)");
                    // The replayed points are held unlinked (searched by a scan) until the background linking is done.
                    var entry = (await node.CatalogAsync()).Collections.Single(c => c.Spec.Name == "recovery");
                    long unlinked = (await node.PartitionStatsAsync(entry)).Sum(p => (long)p.Unlinked);
                    var searchClock = Stopwatch.StartNew();
                    await node.Gather.SearchAsync("recovery", GatherCommand.RandomVector(random, dim), 10);
                    double searchWhileLinkingMs = searchClock.Elapsed.TotalMilliseconds;
                    while ((await node.PartitionStatsAsync(entry)).Sum(p => (long)p.Unlinked) > 0) await Task.Delay(200);
                    double linkedSeconds = clock.Elapsed.TotalSeconds;
                    Console.Error.WriteLine($"recovery/{mode}: first answer after {seconds:F1} s with {unlinked} replayed points unlinked; all linked after {linkedSeconds:F1} s");
                    Json.Line(w =>
                    {
                        w.WriteString("bench", "recovery");
                        w.WriteString("mode", mode);
                        w.WriteNumber("n", n);
                        w.WriteNumber("dim", dim);
                        w.WriteNumber("journal_entries", batches + 1);
                        w.WriteNumber("snapshot_at", snapshotAt);
                        w.WriteRounded("recovery_s", seconds, 3);
                        w.WriteNumber("unlinked_at_first_answer", unlinked);
                        w.WriteRounded("search_while_linking_ms", searchWhileLinkingMs, 1);
                        w.WriteRounded("all_linked_s", linkedSeconds, 3);
                    });
                }
            }
            finally
            {
                GatherCommand.TryDelete(data);
            }
        }
        return 0;
    }

    // Waits until the partition's snapshot covers its entry sequenceNr.
    private static async Task WaitForSnapshotAsync(string data, long sequenceNr)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            if (await SnapshotAtAsync(data) >= sequenceNr) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"the partition's snapshot did not reach entry {sequenceNr} within 5 minutes");
    }

    // The journal entry the partition's latest snapshot covers (0: none).
    private static async Task<long> SnapshotAtAsync(string data)
    {
        await using var connection = new SqliteConnection(VLinkConfig.SqliteConnection(data).Replace("Pooling=True", "Pooling=False"));
        await connection.OpenAsync();
        await using var tables = new SqliteCommand("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'snapshot'", connection);
        if (Convert.ToInt64(await tables.ExecuteScalarAsync()) == 0) return 0;
        await using var latest = new SqliteCommand("SELECT COALESCE(MAX(sequence_number), 0) FROM snapshot WHERE persistence_id LIKE 'partition-%'", connection);
        return Convert.ToInt64(await latest.ExecuteScalarAsync());
    }
}
