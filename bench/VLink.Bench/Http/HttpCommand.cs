using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VLink.Bench.Cli;
using VLink.Bench.Cluster;
using VLink.Bench.Exact;
using VLink.Bench.Io;
using VLink.Bench.Synth;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Bench.Http;

/// <summary>
/// <c>http</c>: end-to-end latency of <c>POST /collections/{name}/points/search</c> against real node processes on
/// loopback, one by one (p50/p99) and at rising concurrency (requests/s at saturation). The peer measured in the
/// same run is VLink's own HNSW searched in this process on the same data: the ratio is what the server, HTTP,
/// JSON and scatter-gather add on top of the index.
/// </summary>
public static class HttpCommand
{
    private const string Collection = "bench_http";
    private const string Key = "bench-admin-key";

    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["nodes", "n", "dim", "partitions", "queries", "k", "concurrency", "seconds", "seed", "server", "postgres"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "http [--nodes 1] [--n 10000] [--dim 1536] [--partitions 4] [--queries 1000] [--k 10] [--concurrency 1,4,16,32]\n" +
        "      [--seconds 5] [--seed 1] [--server PATH-TO-vlink.dll] [--postgres CONN]\n" +
        "      --nodes above 1 runs the nodes on a fresh database of the PostgreSQL server CONN (default: $VLINK_TEST_POSTGRES)\n" +
        "      prints JSON lines: sequential p50/p99 of /points/search, requests/s and p50/p99 per concurrency, and the ratio\n" +
        "      to the same search on an in-process HNSW of the same data";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ArgSet args)
    {
        int nodes = args.GetInt("nodes", 1, 1, 9), n = args.GetInt("n", 10_000, 100), dim = args.GetInt("dim", 1536, 1, 65_536);
        int partitions = args.GetInt("partitions", 4, 1, 1024), queryCount = args.GetInt("queries", 1000, 10), k = args.GetInt("k", 10, 1, 1000);
        int seconds = args.GetInt("seconds", 5, 1, 600), seed = args.GetInt("seed", 1, 0);
        int[] levels = args.GetIntList("concurrency", [1, 4, 16, 32], 1, 1024);
        string server = ServerProcess.Locate(args.Get("server"));
        // A cluster shares one journal (a node on a SQLite file of its own refuses to join others).
        string? postgres = args.Get("postgres") ?? Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES");
        if (nodes > 1 && string.IsNullOrWhiteSpace(postgres))
        {
            Console.Error.WriteLine("http: --nodes above 1 needs --postgres CONN (or VLINK_TEST_POSTGRES): the nodes of a cluster share one PostgreSQL journal.");
            return 2;
        }

        var model = new SynthCommand.MixtureModel(dim, 100, (ulong)seed);
        var baseRows = model.Sample(n, new Rng((ulong)seed, 1));
        var queryRows = model.Sample(queryCount, new Rng((ulong)seed, 2));
        Console.Error.WriteLine($"http: {n} x {dim} base vectors, {queryCount} queries, {nodes} node(s) from {Path.GetFileName(server)}");

        string root = Directory.CreateTempSubdirectory("vlink-bench-http-").FullName;
        string keys = Path.Combine(root, "api-keys.json");
        await File.WriteAllTextAsync(keys, $$"""[{"key":"{{Key}}","role":"admin"}]""");
        var processes = new List<ServerProcess>();
        Cluster.ProcessCluster? cluster = null;
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("api-key", Key);
        try
        {
            Uri[] urls;
            if (nodes == 1)
            {
                processes.Add(ServerProcess.Start(server, Path.Combine(root, "node0"), null, keys));
                await processes[0].WaitReadyAsync(http, TimeSpan.FromSeconds(90));
                urls = [processes[0].Url];
            }
            else
            {
                cluster = await Cluster.ProcessCluster.StartAsync(server, postgres!, nodes, hedgeDelayMs: null);
                urls = [.. Enumerable.Range(0, nodes).Select(cluster.Url)];
                http.DefaultRequestHeaders.Remove("api-key");
                http.DefaultRequestHeaders.Add("api-key", Cluster.ProcessCluster.AdminKey);
            }

            await SendAsync(http, HttpMethod.Put, new Uri(urls[0], $"/collections/{Collection}"),
                $$"""{"vectors":{"size":{{dim}},"distance":"Euclid"},"shard_number":{{partitions}}}""");
            var clock = Stopwatch.StartNew();
            const int batch = 250;
            for (int start = 0; start < n; start += batch)
            {
                int count = Math.Min(batch, n - start);
                await SendAsync(http, HttpMethod.Put, new Uri(urls[start / batch % urls.Length], $"/collections/{Collection}/points?wait=true"), UpsertBody(baseRows, start, count));
                if (start / batch % 8 == 0) Console.Error.Write($"\rhttp: loading {start + count}/{n}");
            }
            double loadSeconds = clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"\rhttp: loaded {n} points in {loadSeconds:F1} s ({n / loadSeconds:F0} points/s)");

            var bodies = Enumerable.Range(0, queryCount).Select(q => SearchBody(queryRows.Row(q), k)).ToArray();
            // Warm-up: JIT, connections, partitions woken on every node.
            for (int i = 0; i < Math.Min(300, queryCount); i++) await SearchAsync(http, urls[i % urls.Length], bodies[i]);

            var sequential = new List<double>(queryCount);
            var answers = new ulong[queryCount][];
            for (int q = 0; q < queryCount; q++)
            {
                long started = Stopwatch.GetTimestamp();
                answers[q] = await SearchAsync(http, urls[q % urls.Length], bodies[q]);
                sequential.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            double recall = Recall(baseRows, queryRows, answers, k);

            // The peer: one HNSW of the same data in this process, searched one query at a time.
            var index = new HnswIndex(dim, DistanceMetric.Euclidean, new HnswOptions());
            for (int i = 0; i < n; i++) index.Upsert((ulong)i, baseRows.Row(i));
            var local = new List<double>(queryCount);
            var options = new SearchOptions();
            for (int q = 0; q < Math.Min(300, queryCount); q++) index.Search(queryRows.Row(q), k, options);
            for (int q = 0; q < queryCount; q++)
            {
                long started = Stopwatch.GetTimestamp();
                index.Search(queryRows.Row(q), k, options);
                local.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            index.Dispose();

            double p50 = GatherCommand.Percentile(sequential, 50), localP50 = GatherCommand.Percentile(local, 50);
            Json.Line(w =>
            {
                w.WriteString("bench", "http-search");
                w.WriteString("phase", "sequential");
                w.WriteNumber("nodes", nodes);
                w.WriteNumber("partitions", partitions);
                w.WriteNumber("n", n);
                w.WriteNumber("dim", dim);
                w.WriteNumber("k", k);
                w.WriteNumber("queries", queryCount);
                w.WriteRounded("recall", recall, 4);
                w.WriteRounded("p50_ms", p50 / 1000, 3);
                w.WriteRounded("p99_ms", GatherCommand.Percentile(sequential, 99) / 1000, 3);
                w.WriteString("peer", "in-process HnswIndex (same data, one index)");
                w.WriteRounded("peer_p50_ms", localP50 / 1000, 3);
                w.WriteRounded("peer_p99_ms", GatherCommand.Percentile(local, 99) / 1000, 3);
                w.WriteRounded("ratio_p50", p50 / localP50, 2);
                w.WriteRounded("load_points_per_s", n / loadSeconds, 0);
                w.WriteNumber("cores", Environment.ProcessorCount);
            });

            foreach (int concurrency in levels)
            {
                var (rate, latencies) = await SaturateAsync(http, urls, bodies, concurrency, TimeSpan.FromSeconds(seconds));
                Json.Line(w =>
                {
                    w.WriteString("bench", "http-search");
                    w.WriteString("phase", "saturation");
                    w.WriteNumber("nodes", nodes);
                    w.WriteNumber("concurrency", concurrency);
                    w.WriteRounded("requests_per_s", rate, 1);
                    w.WriteRounded("p50_ms", GatherCommand.Percentile(latencies, 50) / 1000, 3);
                    w.WriteRounded("p99_ms", GatherCommand.Percentile(latencies, 99) / 1000, 3);
                });
            }
            return 0;
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
            if (cluster is not null) await cluster.DisposeAsync();
            GatherCommand.TryDelete(root);
        }
    }

    private static async Task<(double Rate, List<double> Latencies)> SaturateAsync(HttpClient http, Uri[] urls, string[] bodies, int concurrency, TimeSpan length)
    {
        var all = new List<double>[concurrency];
        var stop = Stopwatch.StartNew();
        int next = 0;
        var workers = Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = all[w] = [];
            while (stop.Elapsed < length)
            {
                int q = Interlocked.Increment(ref next);
                long started = Stopwatch.GetTimestamp();
                await SearchAsync(http, urls[q % urls.Length], bodies[q % bodies.Length]);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        double elapsed = stop.Elapsed.TotalSeconds;
        var latencies = all.SelectMany(x => x).ToList();
        return (latencies.Count / elapsed, latencies);
    }

    private static async Task<ulong[]> SearchAsync(HttpClient http, Uri node, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(node, $"/collections/{Collection}/points/search"), content);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"search answered {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return [.. doc.RootElement.GetProperty("result").EnumerateArray().Select(h => h.GetProperty("id").GetUInt64())];
    }

    internal static async Task SendAsync(HttpClient http, HttpMethod method, Uri uri, string body)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} {uri.AbsolutePath} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>An upsert body of rows start..start+count, with ids shifted by <paramref name="idOffset"/>.</summary>
    internal static string UpsertBody(RowMatrix<float> rows, int start, int count, long idOffset = 0)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            for (int i = start; i < start + count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", i + idOffset);
                w.WriteStartArray("vector");
                foreach (float x in rows.Row(i)) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    internal static string SearchBody(ReadOnlySpan<float> vector, int k)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("vector");
            foreach (float x in vector) w.WriteNumberValue(x);
            w.WriteEndArray();
            w.WriteNumber("limit", k);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static double Recall(RowMatrix<float> baseRows, RowMatrix<float> queries, ulong[][] answers, int k)
    {
        int sample = Math.Min(200, queries.Count);
        var subset = new RowMatrix<float>(queries.Data[..(sample * queries.Dimension)], sample, queries.Dimension);
        var truth = BruteForce.TopK(baseRows, subset, BenchMetric.L2, k, _ => { });
        long found = 0;
        for (int q = 0; q < sample; q++)
        {
            var expected = new HashSet<ulong>();
            for (int j = 0; j < k; j++) expected.Add((ulong)truth.Row(q)[j]);
            found += answers[q].Count(expected.Contains);
        }
        return found / (double)(sample * k);
    }
}
