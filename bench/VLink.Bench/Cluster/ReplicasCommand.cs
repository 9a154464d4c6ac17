using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Bench.Cli;
using VLink.Bench.Http;

namespace VLink.Bench.Cluster;

/// <summary>
/// <c>replicas</c>: what replication costs and buys on three <c>vlink node</c> processes sharing one PostgreSQL database.
/// Write latency at write consistency 1, majority and all (R = 3); search latency while a node is killed with SIGKILL,
/// with hedging (the node's default delay) and without (<c>--hedge-delay 0</c>, a second cluster); the time until the
/// dead node's replicas are rebuilt on the survivors (R restored); and availability — the fraction of searches answered
/// complete — over a scripted run in which a node is killed every <c>--kill-every</c> seconds and started again half
/// that later. There is no peer: replication factor 1 answers <c>complete: false</c> for the whole outage (see
/// docs/resilience.md), which is what replicas are for.
/// </summary>
public static class ReplicasCommand
{
    private const int Nodes = 3;

    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["postgres", "phases", "n", "dim", "partitions", "writes", "window", "minutes", "kill-every", "clients", "seed", "server"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "replicas [--postgres CONNECTION (default $VLINK_TEST_POSTGRES)] [--phases write,kill,availability] [--n 5000] [--dim 64]\n" +
        "      [--partitions 6] [--writes 300] [--window 30] [--minutes 3] [--kill-every 60] [--clients 2] [--seed 1] [--server PATH-TO-vlink.dll]\n" +
        "      3 node processes on PostgreSQL: write p50/p99 at W = 1, majority, all (R = 3); search p99 during a SIGKILL with and\n" +
        "      without hedging (R = 2); seconds to restore R; availability with a node killed every --kill-every s for --minutes.\n" +
        "      JSON lines on stdout, the table on stderr";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private sealed record Settings(int N, int Dim, int Partitions, int Writes, int Window, int Minutes, int KillEvery, int Clients, int Seed);

    private static async Task<int> RunAsync(ArgSet args)
    {
        string postgres = args.Get("postgres") ?? Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES")
            ?? throw new UsageException("--postgres: name a PostgreSQL server (a connection string; tests/scripts/postgres.sh starts one), or set VLINK_TEST_POSTGRES");
        string server = ServerProcess.Locate(args.Get("server"));
        if (!Path.GetFileName(server).Equals("vlink.dll", StringComparison.OrdinalIgnoreCase))
            throw new UsageException("--server: replicas runs the CLI's vlink.dll (node flags such as --hedge-delay)");
        var s = new Settings(args.GetInt("n", 5000, 100, 1_000_000), args.GetInt("dim", 64, 1, 4096), args.GetInt("partitions", 6, 1, 64),
            args.GetInt("writes", 300, 10, 100_000), args.GetInt("window", 30, 5, 600), args.GetInt("minutes", 3, 0, 120),
            args.GetInt("kill-every", 60, 10, 3600), args.GetInt("clients", 2, 1, 64), args.GetInt("seed", 1, 0));
        var table = new List<(string Figure, string Value)>();
        string[] known = ["write", "kill", "availability"];
        var phases = (args.Get("phases") ?? string.Join(",", known)).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        if (phases.Count == 0 || phases.Any(p => !known.Contains(p)))
            throw new UsageException($"--phases: expected a list of {string.Join(", ", known)}");

        Console.Error.WriteLine($"replicas: {Nodes} nodes from {server}, journal on PostgreSQL; {s.N} x {s.Dim}, {s.Partitions} partitions");
        // The write latencies on a cluster of their own: its R = 3 collections would share shard families with the
        // R = 2 collection of the kill (a shard b, b#1, b#2 holds partitions of every collection hashed to b), and with
        // two nodes left the allocation can then put both replicas of an R = 2 partition on one node.
        if (phases.Contains("write"))
            await using (var cluster = await ProcessCluster.StartAsync(server, postgres, Nodes, hedgeDelayMs: null))
                table.AddRange(await WriteLatencyAsync(cluster, s));
        if (phases.Contains("kill") || phases.Contains("availability"))
            await using (var cluster = await ProcessCluster.StartAsync(server, postgres, Nodes, hedgeDelayMs: null))
            {
                if (phases.Contains("kill"))
                {
                    var (kill, restore) = await KillAsync(cluster, s, "bench_hedged", hedged: true);
                    table.Add(kill);
                    table.Add(restore);
                }
                if (phases.Contains("availability") && s.Minutes > 0) table.Add(await AvailabilityAsync(cluster, s));
            }
        if (phases.Contains("kill"))
            await using (var cluster = await ProcessCluster.StartAsync(server, postgres, Nodes, hedgeDelayMs: 0))
            {
                var (kill, restore) = await KillAsync(cluster, s, "bench_unhedged", hedged: false);
                table.Add(kill);
                table.Add(restore);
            }

        int width = table.Max(r => r.Figure.Length);
        Console.Error.WriteLine();
        Console.Error.WriteLine($"| {"figure".PadRight(width)} | value |");
        Console.Error.WriteLine($"|{new string('-', width + 2)}|-------|");
        foreach (var (figure, value) in table) Console.Error.WriteLine($"| {figure.PadRight(width)} | {value} |");
        return 0;
    }

    /// <summary>
    /// One client writing batches of 10 points one at a time, round robin over the nodes, to three R = 3 collections of
    /// write consistency 1, majority and all, interleaved (W = 1, majority, all, W = 1, …) so that the machine's noise
    /// falls on all three alike; 50 warm-up writes each first.
    /// </summary>
    private static async Task<List<(string, string)>> WriteLatencyAsync(ProcessCluster cluster, Settings s)
    {
        string[] levels = ["1", "majority", "all"];
        foreach (string w in levels) await CreateAsync(cluster, $"bench_w_{w}", s, replicas: 3, w);
        var random = new Random(s.Seed);
        var latencies = levels.ToDictionary(w => w, _ => new List<double>());
        var acknowledged = levels.ToDictionary(w => w, _ => new List<int>());
        int warmUp = Math.Min(50, s.Writes);
        for (int i = 0; i < warmUp + s.Writes; i++)
            foreach (string w in levels)
            {
                string body = UpsertBody(random, random.Next(Math.Max(1, s.N - 10)), 10, s.Dim);
                long start = Stopwatch.GetTimestamp();
                var answer = await ProcessCluster.SendAsync(cluster.Http, HttpMethod.Put, new Uri(cluster.Url(i % Nodes), $"/collections/bench_w_{w}/points"), body);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (i < warmUp) continue;
                latencies[w].Add(ms);
                if (answer["result"]?["acknowledged"] is JsonValue ack) acknowledged[w].Add((int)ack);
            }
        var rows = new List<(string, string)>();
        foreach (string w in levels)
        {
            double p50 = GatherCommand.Percentile(latencies[w], 50), p99 = GatherCommand.Percentile(latencies[w], 99);
            Json.Line(j =>
            {
                j.WriteString("bench", "replicas");
                j.WriteString("phase", "write");
                j.WriteNumber("replication_factor", 3);
                j.WriteString("write_consistency", w);
                j.WriteNumber("writes", latencies[w].Count);
                j.WriteNumber("points_per_write", 10);
                j.WriteRounded("p50_ms", p50, 3);
                j.WriteRounded("p99_ms", p99, 3);
                j.WriteRounded("acknowledged_mean", acknowledged[w].Count == 0 ? null : acknowledged[w].Average(), 2);
            });
            rows.Add(($"write p50 / p99, R = 3, W = {w} (10 points, one at a time)", $"{F(p50)} / {F(p99)} ms"));
        }
        return rows;
    }

    /// <summary>
    /// An R = 2 collection under steady searches (and one writer); the catalog's node is killed and searches are timed for
    /// --window seconds after; meanwhile the time until every partition has two replicas on the survivors is measured.
    /// The node is started again at the end.
    /// </summary>
    private static async Task<((string, string) Kill, (string, string) Restore)> KillAsync(ProcessCluster cluster, Settings s, string collection, bool hedged)
    {
        await CreateAsync(cluster, collection, s, replicas: 2, "1");
        await LoadAsync(cluster, collection, s);
        await ProcessCluster.PollAsync("every partition with 2 replicas on distinct nodes", TimeSpan.FromSeconds(120), () => cluster.PlacedAsync(collection, s.Partitions, 2));
        await using var load = new Load(cluster, collection, s);
        // Warm-up (connections, JIT, every replica woken), then 10 s of the steady state before the kill.
        await Task.Delay(TimeSpan.FromSeconds(10));
        long steadyFrom = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(10));

        int victim = await cluster.SingletonNodeAsync();
        long killedAt = Stopwatch.GetTimestamp();
        await cluster.KillAsync(victim);
        Console.Error.WriteLine($"replicas: killed node {victim} (the catalog's), hedging {(hedged ? "on" : "off")}");
        double? restore = null;
        try
        {
            await ProcessCluster.PollAsync("R = 2 on the survivors", TimeSpan.FromSeconds(180), () => cluster.PlacedAsync(collection, s.Partitions, 2));
            restore = Stopwatch.GetElapsedTime(killedAt).TotalSeconds;
        }
        catch (TimeoutException e)
        {
            Console.Error.WriteLine($"replicas: {e.Message}");
        }
        var remaining = TimeSpan.FromSeconds(s.Window) - Stopwatch.GetElapsedTime(killedAt);
        if (remaining > TimeSpan.Zero) await Task.Delay(remaining);
        double windowEnd = Stopwatch.GetElapsedTime(killedAt).TotalSeconds;
        await load.StopAsync();

        var answers = load.Answers();
        var before = answers.Where(a => a.SentAt >= steadyFrom && a.SentAt < killedAt && !a.Cut).Select(a => a.Millis).ToList();
        var during = answers.Where(a => a.SentAt >= killedAt && Stopwatch.GetElapsedTime(killedAt, a.SentAt).TotalSeconds <= s.Window && !a.Cut).ToList();
        var latencies = during.Select(a => a.Millis).ToList();
        int incomplete = during.Count(a => !a.Complete);
        Json.Line(j =>
        {
            j.WriteString("bench", "replicas");
            j.WriteString("phase", "kill");
            j.WriteNumber("replication_factor", 2);
            j.WriteBoolean("hedging", hedged);
            j.WriteNumber("clients", s.Clients);
            j.WriteRounded("before_p50_ms", GatherCommand.Percentile(before, 50), 2);
            j.WriteRounded("before_p99_ms", GatherCommand.Percentile(before, 99), 2);
            j.WriteNumber("window_s", s.Window);
            j.WriteNumber("searches", during.Count);
            j.WriteNumber("incomplete", incomplete);
            j.WriteNumber("short", during.Count(a => a.Short));
            j.WriteNumber("cut", answers.Count(a => a.Cut));
            j.WriteNumber("writes_acknowledged", load.WritesAcknowledged);
            j.WriteNumber("writes_refused", load.WritesRefused);
            j.WriteRounded("p50_ms", GatherCommand.Percentile(latencies, 50), 2);
            j.WriteRounded("p99_ms", GatherCommand.Percentile(latencies, 99), 2);
            j.WriteRounded("p999_ms", GatherCommand.Percentile(latencies, 99.9), 2);
            j.WriteRounded("max_ms", latencies.Count == 0 ? null : latencies.Max(), 2);
            j.WriteNumber("over_1s", latencies.Count(ms => ms > 1000));
            j.WriteRounded("restore_r_s", restore, 2);
            j.WriteRounded("measured_s", windowEnd, 1);
        });
        await cluster.RestartAsync(victim);
        string mode = hedged ? "hedging on (100 ms)" : "hedging off (--hedge-delay 0)";
        return (($"search p50 / p99 during a SIGKILL, {mode}, {s.Window} s after it", $"{F(GatherCommand.Percentile(latencies, 50))} / {F(GatherCommand.Percentile(latencies, 99))} ms, max {F(latencies.Count == 0 ? double.NaN : latencies.Max())} ms, {latencies.Count(ms => ms > 1000)} over 1 s (before: {F(GatherCommand.Percentile(before, 50))} / {F(GatherCommand.Percentile(before, 99))}; {incomplete} of {during.Count} incomplete)"),
            ($"seconds from SIGKILL to R = 2 restored, {mode}", restore is { } r ? F(r) : "not within 180 s"));
    }

    /// <summary>Searches and one writer for --minutes; every --kill-every seconds the next node is killed, and started again half that later.</summary>
    private static async Task<(string, string)> AvailabilityAsync(ProcessCluster cluster, Settings s)
    {
        const string collection = "bench_available";
        await CreateAsync(cluster, collection, s, replicas: 2, "1");
        await LoadAsync(cluster, collection, s);
        await ProcessCluster.PollAsync("every partition with 2 replicas on distinct nodes", TimeSpan.FromSeconds(120), () => cluster.PlacedAsync(collection, s.Partitions, 2));
        await using var load = new Load(cluster, collection, s);
        var clock = Stopwatch.StartNew();
        var length = TimeSpan.FromMinutes(s.Minutes);
        var restores = new List<double>();
        int kills = 0;
        for (int cycle = 0; clock.Elapsed < length; cycle++)
        {
            kills++;
            var cycleStart = clock.Elapsed;
            int victim = cycle % Nodes;
            await cluster.KillAsync(victim);
            long killedAt = Stopwatch.GetTimestamp();
            var restartAt = cycleStart + TimeSpan.FromSeconds(s.KillEvery / 2.0);
            // R restored, measured while the node is down (a poll until the restart time).
            while (clock.Elapsed < restartAt)
            {
                try
                {
                    if (await cluster.PlacedAsync(collection, s.Partitions, 2))
                    {
                        restores.Add(Stopwatch.GetElapsedTime(killedAt).TotalSeconds);
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    // Not yet.
                }
                await Task.Delay(250);
            }
            if (clock.Elapsed < restartAt) await Task.Delay(restartAt - clock.Elapsed);
            await cluster.RestartAsync(victim);
            Console.Error.WriteLine($"replicas: cycle {cycle}: node {victim} down {F((clock.Elapsed - cycleStart).TotalSeconds)} s, {load.Count} searches so far");
            var next = cycleStart + TimeSpan.FromSeconds(s.KillEvery);
            if (clock.Elapsed < next) await Task.Delay(next - clock.Elapsed);
        }
        await load.StopAsync();
        var answers = load.Answers().Where(a => !a.Cut).ToList();
        int complete = answers.Count(a => a.Complete);
        double availability = answers.Count == 0 ? double.NaN : complete / (double)answers.Count;
        var latencies = answers.Select(a => a.Millis).ToList();
        Json.Line(j =>
        {
            j.WriteString("bench", "replicas");
            j.WriteString("phase", "availability");
            j.WriteNumber("replication_factor", 2);
            j.WriteNumber("minutes", s.Minutes);
            j.WriteNumber("kill_every_s", s.KillEvery);
            j.WriteNumber("kills", kills);
            j.WriteNumber("restored_while_down", restores.Count);
            j.WriteNumber("searches", answers.Count);
            j.WriteNumber("complete", complete);
            j.WriteNumber("short", answers.Count(a => a.Short));
            j.WriteNumber("cut", load.Answers().Count(a => a.Cut));
            j.WriteRounded("availability", availability, 5);
            j.WriteRounded("p50_ms", GatherCommand.Percentile(latencies, 50), 2);
            j.WriteRounded("p99_ms", GatherCommand.Percentile(latencies, 99), 2);
            j.WriteRounded("restore_r_median_s", restores.Count == 0 ? null : GatherCommand.Percentile(restores, 50), 2);
            j.WriteNumber("writes_acknowledged", load.WritesAcknowledged);
            j.WriteNumber("writes_refused", load.WritesRefused);
        });
        return ($"availability, {s.Minutes} min, a node killed every {s.KillEvery} s and restarted {s.KillEvery / 2} s later",
            $"{availability:P3} ({complete} of {answers.Count} searches complete; p99 {F(GatherCommand.Percentile(latencies, 99))} ms)");
    }

    private static async Task CreateAsync(ProcessCluster cluster, string collection, Settings s, int replicas, string w)
    {
        string consistency = int.TryParse(w, CultureInfo.InvariantCulture, out int number) ? $"\"write_consistency_factor\":{number}" : $"\"write_consistency\":\"{w}\"";
        await ProcessCluster.SendAsync(cluster.Http, HttpMethod.Put, new Uri(cluster.Url(cluster.Live[0]), $"/collections/{collection}"),
            $$"""{"vectors":{"size":{{s.Dim}},"distance":"Euclid"},"shard_number":{{s.Partitions}},"replication_factor":{{replicas}},{{consistency}}}""");
    }

    /// <summary>Loads --n points (ids 0 … n−1) in batches of 500, each sent again while it is answered 503 (a cold partition).</summary>
    private static async Task LoadAsync(ProcessCluster cluster, string collection, Settings s)
    {
        var random = new Random(s.Seed);
        for (int start = 0; start < s.N; start += 500)
        {
            string body = UpsertBody(random, start, Math.Min(500, s.N - start), s.Dim);
            await ProcessCluster.PollAsync("an acknowledged load batch", TimeSpan.FromSeconds(120), async () =>
            {
                await ProcessCluster.SendAsync(cluster.Http, HttpMethod.Put, new Uri(cluster.Url(start / 500 % Nodes), $"/collections/{collection}/points"), body);
                return true;
            });
        }
    }

    private static string UpsertBody(Random random, int first, int count, int dim)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            for (int i = first; i < first + count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", i);
                w.WriteStartArray("vector");
                for (int d = 0; d < dim; d++) w.WriteNumberValue((float)(random.NextDouble() * 2 - 1));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string F(double value) => value.ToString(value >= 100 ? "0" : "0.##", CultureInfo.InvariantCulture);

    /// <summary>One search answer: when sent, how long, complete or not, or cut (the node asked was killed under it).</summary>
    private sealed record Answer(long SentAt, double Millis, bool Complete, bool Cut)
    {
        /// <summary>Said complete but held fewer than k hits (counted as not complete).</summary>
        public bool Short { get; init; }
    }

    /// <summary>--clients searchers and one writer (10 points a write), each round robin over the live nodes, until stopped.</summary>
    private sealed class Load : IAsyncDisposable
    {
        private readonly ProcessCluster _cluster;
        private readonly List<Answer> _answers = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _tasks = [];
        private int _acknowledged, _refused;

        public Load(ProcessCluster cluster, string collection, Settings s)
        {
            _cluster = cluster;
            for (int c = 0; c < s.Clients; c++)
            {
                int client = c;
                _tasks.Add(Task.Run(() => SearchAsync(collection, s, client)));
            }
            _tasks.Add(Task.Run(() => WriteAsync(collection, s)));
        }

        public int WritesAcknowledged => Volatile.Read(ref _acknowledged);

        public int WritesRefused => Volatile.Read(ref _refused);

        public int Count
        {
            get
            {
                lock (_answers) return _answers.Count;
            }
        }

        public List<Answer> Answers()
        {
            lock (_answers) return [.. _answers.OrderBy(a => a.SentAt)];
        }

        public async Task StopAsync()
        {
            if (!_stop.IsCancellationRequested) await _stop.CancelAsync();
            await Task.WhenAll(_tasks);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }

        private async Task SearchAsync(string collection, Settings s, int client)
        {
            using var http = ProcessCluster.Client(TimeSpan.FromSeconds(30));
            var random = new Random(s.Seed * 100 + client);
            for (int n = 0; !_stop.IsCancellationRequested; n++)
            {
                var live = _cluster.Live;
                int node = live[(client + n) % live.Count];
                var body = new StringBuilder("{\"limit\":10,\"vector\":[");
                for (int d = 0; d < s.Dim; d++) body.Append(d == 0 ? "" : ",").Append(((float)(random.NextDouble() * 2 - 1)).ToString(CultureInfo.InvariantCulture));
                body.Append("]}");
                long sent = Stopwatch.GetTimestamp();
                Answer answer;
                try
                {
                    using var content = new StringContent(body.ToString(), Encoding.UTF8, "application/json");
                    using var response = await http.PostAsync(new Uri(_cluster.Url(node), $"/collections/{collection}/points/search"), content);
                    string text = await response.Content.ReadAsStringAsync();
                    var json = response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(text) : null;
                    bool complete = json?["complete"] is JsonValue c && (bool)c;
                    // A complete answer has k hits (the collection holds far more than k points).
                    bool full = json?["result"] is JsonArray hits && hits.Count == 10;
                    answer = new Answer(sent, Stopwatch.GetElapsedTime(sent).TotalMilliseconds, complete && full, false) { Short = complete && !full };
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    if (_stop.IsCancellationRequested) break;
                    // Cut: the node asked was killed under the request; a client would ask another node.
                    answer = new Answer(sent, Stopwatch.GetElapsedTime(sent).TotalMilliseconds, false, !_cluster.Live.Contains(node));
                }
                lock (_answers) _answers.Add(answer);
            }
        }

        private async Task WriteAsync(string collection, Settings s)
        {
            using var http = ProcessCluster.Client(TimeSpan.FromSeconds(30));
            var random = new Random(s.Seed * 1000);
            for (int n = 0; !_stop.IsCancellationRequested; n++)
            {
                var live = _cluster.Live;
                try
                {
                    await ProcessCluster.SendAsync(http, HttpMethod.Put, new Uri(_cluster.Url(live[n % live.Count]), $"/collections/{collection}/points"),
                        UpsertBody(random, random.Next(Math.Max(1, s.N - 10)), 10, s.Dim));
                    Interlocked.Increment(ref _acknowledged);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref _refused);
                }
                await Task.Delay(50, CancellationToken.None);
            }
        }
    }
}
