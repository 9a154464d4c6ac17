using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using VLink.Bench.Cli;
using VLink.Bench.Http;
using VLink.Bench.Io;
using VLink.Bench.Synth;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;

namespace VLink.Bench.Cluster;

/// <summary>
/// <c>load</c>: the storage path end to end. One node process (SQLite, or PostgreSQL with <c>--postgres</c>) takes a
/// bulk load through REST into a one-partition collection, beside the same data built by one in-process
/// <see cref="HnswIndex"/> on all cores (the peer); then single-point upserts into the large partition and into a
/// 1,000-point one, interleaved; then the bytes snapshots wrote, the data's size on disk, the node's RSS and index bytes,
/// and the time to the first complete answer after a SIGKILL. With <c>--mixed W,S</c> it runs instead a read-only phase
/// and a mixed phase (W writers beside S searchers) on a cluster of <c>--nodes</c> processes on PostgreSQL.
/// </summary>
public static class LoadCommand
{
    /// <summary>Flags.</summary>
    public static readonly string[] Flags = ["n", "dim", "batch", "singles", "postgres", "mixed", "nodes", "seconds", "seed", "server", "partitions", "write-batch"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "load [--n 300000] [--dim 128] [--batch 1000] [--singles 600] [--postgres CONN] [--seed 1] [--server PATH-TO-vlink.dll]\n" +
        "      [--mixed WRITERS,SEARCHERS --nodes 3 [--seconds 15] [--partitions 6] [--write-batch 50]]\n" +
        "      prints one JSON line: load_points_per_s (until every point is acknowledged and linked into the graph) beside\n" +
        "      inprocess_build_points_per_s (HnswIndex.UpsertMany, all cores, same data)\n" +
        "      and their ratio, single_upsert_small/_large (p50/p99/max/mean ms), snapshot_bytes_written, data_dir_bytes, rss_bytes,\n" +
        "      index_bytes, recovery_s; with --mixed, one line per phase (read-only, mixed) of searches/s and p50/p99 on a real cluster";

    private const string Large = "large";
    private const string Small = "small";
    private const string Key = "bench-load-admin";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ArgSet args)
    {
        int n = args.GetInt("n", 300_000, 1000), dim = args.GetInt("dim", 128, 1, 65_536), batch = args.GetInt("batch", 1000, 1, 100_000);
        int singles = args.GetInt("singles", 600, 0, 1_000_000), seed = args.GetInt("seed", 1, 0);
        string server = ServerProcess.Locate(args.Get("server"));
        string? postgres = args.Get("postgres");
        var model = new SynthCommand.MixtureModel(dim, 100, (ulong)seed);
        var rows = model.Sample(n, new Rng((ulong)seed, 1));
        if (args.Get("mixed") is { } mixed)
        {
            int[] counts = args.GetIntList("mixed", [6, 6], 0, 256);
            if (counts.Length != 2) throw new UsageException($"--mixed takes WRITERS,SEARCHERS, got '{mixed}'");
            postgres ??= Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(postgres)) throw new UsageException("--mixed runs a cluster, which needs --postgres CONN (or VLINK_TEST_POSTGRES)");
            return await MixedAsync(server, postgres, rows, args.GetInt("nodes", 3, 1, 9), counts[0], counts[1],
                args.GetInt("seconds", 15, 1, 3600), args.GetInt("partitions", 6, 1, 1024), args.GetInt("write-batch", 50, 1, 10_000), model, seed);
        }
        return await SingleNodeAsync(server, postgres, rows, batch, singles, seed);
    }

    private static async Task<int> SingleNodeAsync(string server, string? postgres, RowMatrix<float> rows, int batch, int singles, int seed)
    {
        int n = rows.Count, dim = rows.Dimension;
        Console.Error.WriteLine($"load: {n} x {dim} vectors in batches of {batch}, then {singles} single upserts into each of two collections");

        // The peer first, so its memory is gone before the node starts.
        double inProcess = InProcessBuildRate(rows);
        Console.Error.WriteLine($"load: in-process HnswIndex.UpsertMany on {Environment.ProcessorCount} cores: {inProcess:F0} points/s");
        double applySeconds = InProcessApplySeconds(rows, batch);
        Console.Error.WriteLine($"load: in-process PartitionState.Apply of the same batches: {applySeconds:F1} s");

        string root = Directory.CreateTempSubdirectory("vlink-bench-load-").FullName;
        string keys = Path.Combine(root, "api-keys.json");
        await File.WriteAllTextAsync(keys, $$"""[{"key":"{{Key}}","role":"admin"}]""");
        string? database = postgres is null ? null : await CreateDatabaseAsync(postgres);
        string data = Path.Combine(root, "node");
        var node = ServerProcess.Start(server, new ServerSettings(data, ServerProcess.FreePort(), ServerProcess.FreePort(), [], keys)
        {
            Postgres = database,
            ServerGc = false,
        });
        using var http = ProcessCluster.Client(TimeSpan.FromMinutes(5));
        http.DefaultRequestHeaders.Remove("api-key");
        http.DefaultRequestHeaders.Add("api-key", Key);
        try
        {
            await node.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            foreach (string name in new[] { Large, Small })
                await SendAsync(http, HttpMethod.Put, new Uri(node.Url, $"/collections/{name}"),
                    $$"""{"vectors":{"size":{{dim}},"distance":"Euclid"},"shard_number":1}""");

            // 1. The bulk load, one batch at a time as a client with wait=true sends it. The bodies are written first: the
            // client shares this machine's cores with the node, and its JSON writing is not the node's cost.
            var bodies = new List<byte[]>((n + batch - 1) / batch);
            for (int start = 0; start < n; start += batch) bodies.Add(Encoding.UTF8.GetBytes(UpsertBody(rows, start, Math.Min(batch, n - start), 0)));
            long snapshotsBefore = await SnapshotBytesAsync(http, node.Url);
            var stagesBefore = await StagesAsync(http, node.Url);
            var clock = Stopwatch.StartNew();
            var step = Stopwatch.StartNew();
            for (int start = 0; start < n; start += batch)
            {
                int count = Math.Min(batch, n - start);
                await SendAsync(http, HttpMethod.Put, new Uri(node.Url, $"/collections/{Large}/points?wait=true"), bodies[start / batch]);
                if (step.Elapsed > TimeSpan.FromSeconds(2) || start + count == n)
                {
                    Console.Error.Write($"\rload: {start + count}/{n} points, {(start + count) / clock.Elapsed.TotalSeconds:F0} points/s   ");
                    step.Restart();
                }
            }
            double ackedSeconds = clock.Elapsed.TotalSeconds;
            bodies.Clear();
            // Large batches are acknowledged once journalled and linked behind the writes: the load is done once the
            // collection's points are all indexed (linked into the graph), and its rate counts that time.
            long indexedAtAck = await IndexedAsync(http, node.Url);
            while (await IndexedAsync(http, node.Url) < n) await Task.Delay(50);
            double loadSeconds = clock.Elapsed.TotalSeconds, loadRate = n / loadSeconds;
            var stagesAfter = await StagesAsync(http, node.Url);
            Console.Error.WriteLine();
            await SendAsync(http, HttpMethod.Put, new Uri(node.Url, $"/collections/{Small}/points?wait=true"), UpsertBody(rows, 0, Math.Min(1000, n), 0));
            long snapshotsLoad = await SnapshotBytesAsync(http, node.Url) - snapshotsBefore;

            // 2. Single-point upserts (new ids), alternating between the large and the small partition.
            long snapshotsSingles = await SnapshotBytesAsync(http, node.Url);
            long diskBefore = await DataBytesAsync(data, database);
            var large = new List<double>(singles);
            var small = new List<double>(singles);
            for (int i = 0; i < singles; i++)
            {
                int row = i % n;
                foreach (var (name, times) in new[] { (Large, large), (Small, small) })
                {
                    long started = Stopwatch.GetTimestamp();
                    await SendAsync(http, HttpMethod.Put, new Uri(node.Url, $"/collections/{name}/points?wait=true"), UpsertBody(rows, row, 1, n + 1_000_000));
                    times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                if (i % 100 == 99) Console.Error.Write($"\rload: {i + 1}/{singles} single upserts into each collection   ");
            }
            Console.Error.WriteLine();
            long snapshotBytes = await SnapshotBytesAsync(http, node.Url) - snapshotsSingles;
            long diskAfter = await DataBytesAsync(data, database);
            long rss = RssBytes(node.ProcessId);
            long gcHeap = await MetricSumAsync(http, node.Url, "dotnet_gc_last_collection_heap_size_bytes");
            long gcCommitted = await MetricSumAsync(http, node.Url, "dotnet_gc_last_collection_memory_committed_size_bytes");
            long indexBytes = await IndexBytesAsync(http, node.Url);

            // 3. SIGKILL, start again, time to the first complete answer with k hits.
            await node.KillAsync();
            clock.Restart();
            node = node.Restart();
            await node.WaitReadyAsync(http, TimeSpan.FromMinutes(5));
            string query = SearchBody(rows.Row(n / 2), 10);
            while (!await CompleteAsync(http, node.Url, Large, query, 10))
            {
                if (clock.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException("no complete answer within 10 minutes of the restart");
                await Task.Delay(100);
            }
            double recovery = clock.Elapsed.TotalSeconds;
            // The replayed tail is held unlinked (scanned by searches) and linked in the background meanwhile.
            long unlinkedAtRecovery = await UnlinkedAsync(http, node.Url);
            while (await UnlinkedAsync(http, node.Url) > 0) await Task.Delay(100);
            double recoveryLinked = clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"load: first complete answer {recovery:F1} s after the restart ({unlinkedAtRecovery} replayed points unlinked), all linked after {recoveryLinked:F1} s");

            Json.Line(w =>
            {
                w.WriteString("bench", "load");
                w.WriteString("store", database is null ? "sqlite" : "postgres");
                w.WriteNumber("n", n);
                w.WriteNumber("dim", dim);
                w.WriteNumber("batch", batch);
                w.WriteRounded("load_points_per_s", loadRate, 0);
                w.WriteRounded("load_acked_points_per_s", n / ackedSeconds, 0);
                w.WriteNumber("unlinked_at_last_ack", n - indexedAtAck);
                w.WriteString("peer", "in-process HnswIndex.UpsertMany (same data, all cores)");
                w.WriteRounded("inprocess_build_points_per_s", inProcess, 0);
                w.WriteRounded("ratio", loadRate / inProcess, 3);
                // Where the bulk load's time went: the client's wall time, the node's time answering the upsert requests
                // (JSON parse, routing, journal, apply), the partition's journal writes (persist call to stored) and its
                // applies, and the same batches applied to a PartitionState in this process (the apply, on its own).
                w.WriteRounded("stage_client_s", loadSeconds, 2);
                w.WriteRounded("stage_requests_s", stagesAfter.Requests - stagesBefore.Requests, 2);
                w.WriteRounded("stage_journal_s", stagesAfter.Journal - stagesBefore.Journal, 2);
                w.WriteRounded("stage_node_apply_s", stagesAfter.Apply - stagesBefore.Apply, 2);
                w.WriteRounded("stage_apply_s", applySeconds, 2);
                Latency(w, "single_upsert_small", small);
                Latency(w, "single_upsert_large", large);
                w.WriteRounded("single_upsert_mean_ratio", large.Count == 0 ? null : large.Average() / small.Average(), 2);
                w.WriteNumber("singles", singles);
                w.WriteNumber("snapshot_bytes_written", snapshotBytes);
                w.WriteNumber("snapshot_bytes_written_load", snapshotsLoad);
                w.WriteNumber("data_dir_bytes", diskAfter);
                w.WriteNumber("data_dir_growth_singles_bytes", diskAfter - diskBefore);
                w.WriteNumber("rss_bytes", rss);
                w.WriteNumber("gc_heap_bytes", gcHeap);
                w.WriteNumber("gc_committed_bytes", gcCommitted);
                w.WriteNumber("index_bytes", indexBytes);
                w.WriteRounded("recovery_s", recovery, 2);
                w.WriteNumber("recovery_unlinked", unlinkedAtRecovery);
                w.WriteRounded("recovery_all_linked_s", recoveryLinked, 2);
                w.WriteNumber("cores", Environment.ProcessorCount);
            });
            return 0;
        }
        finally
        {
            await node.DisposeAsync();
            if (database is not null) await DropDatabaseAsync(postgres!, database);
            GatherCommand.TryDelete(root);
        }
    }

    private static async Task<int> MixedAsync(string server, string postgres, RowMatrix<float> rows, int nodes, int writers, int searchers, int seconds,
        int partitions, int writeBatch, SynthCommand.MixtureModel model, int seed)
    {
        int n = rows.Count, dim = rows.Dimension;
        Console.Error.WriteLine($"load --mixed: {nodes} nodes on PostgreSQL, {n} x {dim} in {partitions} partitions; {searchers} searchers alone, then beside {writers} writers");
        await using var cluster = await ProcessCluster.StartAsync(server, postgres, nodes, hedgeDelayMs: null);
        var http = cluster.Http;
        var urls = Enumerable.Range(0, nodes).Select(cluster.Url).ToArray();
        await SendAsync(http, HttpMethod.Put, new Uri(urls[0], $"/collections/{Large}"),
            $$"""{"vectors":{"size":{{dim}},"distance":"Euclid"},"shard_number":{{partitions}}}""");
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < n; start += 1000)
        {
            int count = Math.Min(1000, n - start);
            string body = UpsertBody(rows, start, count, 0);
            for (int attempt = 1; !await TryUpsertAsync(http, new Uri(urls[start / 1000 % nodes], $"/collections/{Large}/points?wait=true"), body); attempt++)
            {
                if (attempt == 5) throw new InvalidOperationException($"points {start}..{start + count - 1}: the cluster did not answer in time {attempt} times");
                await Task.Delay(TimeSpan.FromSeconds(attempt));
            }
            if (start % 20_000 == 0) Console.Error.Write($"\rload --mixed: {start + count}/{n} points   ");
        }
        Console.Error.WriteLine($"\rload --mixed: loaded {n} points in {clock.Elapsed.TotalSeconds:F1} s");
        var queries = model.Sample(1000, new Rng((ulong)seed, 2));
        string[] bodies = [.. Enumerable.Range(0, queries.Count).Select(q => SearchBody(queries.Row(q), 10))];
        // Warm-up: every partition started, JIT done.
        for (int i = 0; i < 100; i++) await CompleteAsync(http, urls[i % nodes], Large, bodies[i], 10);

        var readOnly = await PhaseAsync(http, urls, bodies, searchers, 0, writeBatch, rows, TimeSpan.FromSeconds(seconds));
        var both = await PhaseAsync(http, urls, bodies, searchers, writers, writeBatch, rows, TimeSpan.FromSeconds(seconds));
        foreach (var (phase, result) in new[] { ("read-only", readOnly), ("mixed", both) })
            Json.Line(w =>
            {
                w.WriteString("bench", "load-mixed");
                w.WriteString("phase", phase);
                w.WriteNumber("nodes", nodes);
                w.WriteNumber("n", n);
                w.WriteNumber("dim", dim);
                w.WriteNumber("searchers", searchers);
                w.WriteNumber("writers", phase == "mixed" ? writers : 0);
                w.WriteRounded("searches_per_s", result.Searches.Count / result.Seconds, 1);
                w.WriteRounded("search_p50_ms", GatherCommand.Percentile(result.Searches, 50), 2);
                w.WriteRounded("search_p99_ms", GatherCommand.Percentile(result.Searches, 99), 2);
                w.WriteNumber("incomplete_searches", result.Incomplete);
                w.WriteNumber("writes_not_answered_in_time", result.Unanswered);
                w.WriteRounded("write_points_per_s", result.Writes.Count * writeBatch / result.Seconds, 0);
                w.WriteRounded("write_p50_ms", result.Writes.Count == 0 ? null : GatherCommand.Percentile(result.Writes, 50), 2);
                w.WriteRounded("write_p99_ms", result.Writes.Count == 0 ? null : GatherCommand.Percentile(result.Writes, 99), 2);
                if (phase == "mixed")
                {
                    w.WriteRounded("throughput_kept", result.Searches.Count / result.Seconds / (readOnly.Searches.Count / readOnly.Seconds), 3);
                    w.WriteRounded("p50_ratio", GatherCommand.Percentile(result.Searches, 50) / GatherCommand.Percentile(readOnly.Searches, 50), 2);
                }
                w.WriteNumber("cores", Environment.ProcessorCount);
            });
        return 0;
    }

    private sealed record Phase(List<double> Searches, List<double> Writes, int Incomplete, int Unanswered, double Seconds);

    private static async Task<Phase> PhaseAsync(HttpClient http, Uri[] urls, string[] bodies, int searchers, int writers, int writeBatch,
        RowMatrix<float> rows, TimeSpan length)
    {
        var clock = Stopwatch.StartNew();
        var searches = new List<double>[searchers];
        var writes = new List<double>[writers];
        int incomplete = 0, unanswered = 0, next = 0, written = 0;
        var tasks = new List<Task>();
        for (int s = 0; s < searchers; s++)
        {
            var mine = searches[s] = [];
            tasks.Add(Task.Run(async () =>
            {
                while (clock.Elapsed < length)
                {
                    int q = Interlocked.Increment(ref next);
                    long started = Stopwatch.GetTimestamp();
                    if (!await CompleteAsync(http, urls[q % urls.Length], Large, bodies[q % bodies.Length], 10)) Interlocked.Increment(ref incomplete);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }));
        }
        for (int wr = 0; wr < writers; wr++)
        {
            var mine = writes[wr] = [];
            tasks.Add(Task.Run(async () =>
            {
                while (clock.Elapsed < length)
                {
                    // Overwrites of existing points with their own vectors: the index's size stays the same across phases.
                    int start = Interlocked.Add(ref written, writeBatch) % Math.Max(1, rows.Count - writeBatch);
                    long started = Stopwatch.GetTimestamp();
                    if (await TryUpsertAsync(http, new Uri(urls[start % urls.Length], $"/collections/{Large}/points?wait=true"), UpsertBody(rows, start, writeBatch, 0)))
                        mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    else
                        Interlocked.Increment(ref unanswered);
                }
            }));
        }
        await Task.WhenAll(tasks);
        return new Phase([.. searches.SelectMany(x => x)], [.. writes.SelectMany(x => x)], incomplete, unanswered, clock.Elapsed.TotalSeconds);
    }

    private static double InProcessBuildRate(RowMatrix<float> rows)
    {
        var ids = Enumerable.Range(0, rows.Count).Select(i => new PointId((ulong)i)).ToArray();
        var vectors = Enumerable.Range(0, rows.Count).Select(i => (ReadOnlyMemory<float>)rows.Data.AsMemory(i * rows.Dimension, rows.Dimension)).ToArray();
        using var index = new HnswIndex(rows.Dimension, VLink.Core.Vectors.DistanceMetric.Euclidean, new HnswOptions());
        var clock = Stopwatch.StartNew();
        index.UpsertMany(ids, vectors);
        return rows.Count / clock.Elapsed.TotalSeconds;
    }

    // The bulk load's batches applied to one PartitionState as the partition applies its journalled upserts.
    private static double InProcessApplySeconds(RowMatrix<float> rows, int batch)
    {
        var spec = new VLink.Cluster.Protocol.CollectionSpec(Large, rows.Dimension, VLink.Core.Vectors.DistanceMetric.Euclidean,
            VLink.Cluster.Protocol.PartitionScheme.Hash, 1, new HnswOptions());
        using var state = VLink.Cluster.Partitions.PartitionState.Create(spec);
        var elapsed = TimeSpan.Zero;
        for (int start = 0; start < rows.Count; start += batch)
        {
            int count = Math.Min(batch, rows.Count - start);
            var points = new VLink.Cluster.Protocol.PointWrite[count];
            for (int i = 0; i < count; i++) points[i] = new((ulong)(start + i), rows.Row(start + i).ToArray(), null);
            long started = Stopwatch.GetTimestamp();
            state.Apply(new VLink.Cluster.Protocol.PointsUpserted(points));
            elapsed += Stopwatch.GetElapsedTime(started);
        }
        return elapsed.TotalSeconds;
    }

    private sealed record Stages(double Requests, double Journal, double Apply);

    // Seconds the node spent answering upsert requests and journalling upserts, from its Prometheus page.
    private static async Task<Stages> StagesAsync(HttpClient http, Uri node)
    {
        string text = await http.GetStringAsync(new Uri(node, "/metrics"));
        return new Stages(
            MetricSum(text, "http_server_request_duration_seconds_sum", "http_request_method=\"PUT\"", "/points\""),
            MetricSum(text, "vlink_journal_write_duration_seconds_sum", "operation=\"upsert\""),
            MetricSum(text, "vlink_partition_apply_duration_seconds_sum", "operation=\"upsert\""));
    }

    private static void Latency(Utf8JsonWriter w, string name, List<double> ms)
    {
        w.WriteStartObject(name);
        if (ms.Count > 0)
        {
            w.WriteRounded("p50_ms", GatherCommand.Percentile(ms, 50), 2);
            w.WriteRounded("p99_ms", GatherCommand.Percentile(ms, 99), 2);
            w.WriteRounded("max_ms", ms.Max(), 2);
            w.WriteRounded("mean_ms", ms.Average(), 2);
        }
        w.WriteEndObject();
    }

    // The node's counter of snapshot bytes (vlink.snapshot.written) from its Prometheus page.
    private static Task<long> SnapshotBytesAsync(HttpClient http, Uri node) => MetricSumAsync(http, node, "vlink_snapshot_written");

    // The sum of the series of a metric on the node's Prometheus page whose name starts with the prefix.
    private static async Task<long> MetricSumAsync(HttpClient http, Uri node, string prefix) =>
        (long)MetricSum(await http.GetStringAsync(new Uri(node, "/metrics")), prefix);

    // The sum of the series of a Prometheus page whose name starts with the prefix and whose labels hold every part given.
    private static double MetricSum(string page, string prefix, params string[] labels)
    {
        double sum = 0;
        foreach (string line in page.Split('\n'))
            if (line.StartsWith(prefix, StringComparison.Ordinal) && labels.All(l => line.Contains(l, StringComparison.Ordinal))
                && line.LastIndexOf(' ') is int space and > 0
                && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                sum += value;
        return sum;
    }

    private static async Task<long> DataBytesAsync(string folder, string? database)
    {
        if (database is null)
            return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".log", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var size = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection);
        return (long)(await size.ExecuteScalarAsync())!;
    }

    private static long RssBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }

    // The large collection's points linked into its graph (indexed_vectors_count of GET /collections/{name}).
    private static async Task<long> IndexedAsync(HttpClient http, Uri node)
    {
        var body = JsonNode.Parse(await http.GetStringAsync(new Uri(node, $"/collections/{Large}")))!;
        return (long?)body["result"]!["indexed_vectors_count"] ?? 0;
    }

    // The large collection's points not linked into its graph yet (0 once all are, or while the count is unknown).
    private static async Task<long> UnlinkedAsync(HttpClient http, Uri node)
    {
        var body = JsonNode.Parse(await http.GetStringAsync(new Uri(node, $"/collections/{Large}")))!;
        return ((long?)body["result"]!["points_count"] ?? 0) - ((long?)body["result"]!["indexed_vectors_count"] ?? 0);
    }

    // Memory of the large collection's partitions, as GET /cluster/shards reports it.
    private static async Task<long> IndexBytesAsync(HttpClient http, Uri node)
    {
        var body = JsonNode.Parse(await http.GetStringAsync(new Uri(node, "/cluster/shards")))!;
        return body["result"]!["nodes"]!.AsArray()
            .SelectMany(n => n!["partitions"]!.AsArray())
            .Where(p => (string?)p!["collection"] == Large)
            .Sum(p => (long?)p!["memory_bytes"] ?? 0);
    }

    private static async Task<bool> CompleteAsync(HttpClient http, Uri node, string collection, string body, int k)
    {
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri(node, $"/collections/{collection}/points/search"), content);
            if (!response.IsSuccessStatusCode) return false;
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return (!doc.RootElement.TryGetProperty("complete", out var complete) || complete.GetBoolean())
                && doc.RootElement.GetProperty("result").GetArrayLength() == k;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static Task SendAsync(HttpClient http, HttpMethod method, Uri uri, string body) => HttpCommand.SendAsync(http, method, uri, body);

    private static async Task SendAsync(HttpClient http, HttpMethod method, Uri uri, byte[] body)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} {uri.AbsolutePath} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    // An upsert; false when the cluster did not answer it in time (503), which on a busy machine happens to a write as
    // it may to any (an upsert by id may be sent again); any other failure throws.
    private static async Task<bool> TryUpsertAsync(HttpClient http, Uri uri, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request);
        if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable) return false;
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"PUT {uri.AbsolutePath} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return true;
    }

    private static string UpsertBody(RowMatrix<float> rows, int start, int count, long idOffset) => HttpCommand.UpsertBody(rows, start, count, idOffset);

    private static string SearchBody(ReadOnlySpan<float> vector, int k) => HttpCommand.SearchBody(vector, k);

    private static async Task<string> CreateDatabaseAsync(string server)
    {
        string name = "vlink_load_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    private static async Task DropDatabaseAsync(string server, string database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        string name = new NpgsqlConnectionStringBuilder(database).Database!;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
