using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VLink.Bench.Cli;
using VLink.Bench.Cluster;

namespace VLink.Bench.Http;

/// <summary>
/// <c>hybrid</c>: end-to-end latency of <c>POST /collections/{name}/search/text</c> (exact match, BM25 and vector search
/// fused with RRF) against real node processes on loopback. The collection embeds its text with the offline default
/// model (each node finds the model file in its data folder, where <c>vlink embeddings fetch</c> puts it); the
/// documents and queries are the labelled corpus of the retrieval-quality tests, loaded as text (the receiving node
/// embeds them), then the queries are sent one at a time, the coordinator turning from node to node. Besides p50/p99
/// per method set, it prints the load rate (documents/s embedded and journalled through the server) and, when the
/// corpus is loaded once, the answers' nDCG@10 against the labels.
/// </summary>
public static class HybridCommand
{
    private const string Collection = "bench_hybrid";
    private const string Key = "bench-admin-key";

    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["nodes", "partitions", "queries", "k", "copies", "model", "corpus", "server"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "hybrid --model FILE.vlwv [--nodes 1] [--partitions 4] [--queries 1000] [--k 10] [--copies 1] [--corpus DIR] [--server PATH]\n" +
        "      loads the labelled text corpus (DIR/tech-docs.tsv, DIR/queries.tsv; default tests/VLink.Embeddings.Tests/Corpus)\n" +
        "      --copies times into a text collection embedded with the offline model (FILE: as `vlink embeddings fetch`\n" +
        "      writes it), and prints JSON lines: load documents/s, then p50/p99 of /search/text one request at a time for\n" +
        "      the three methods fused (and with the soft term match re-ranking) and for each alone, with nDCG@10 of the answers when --copies is 1";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ArgSet args)
    {
        int nodes = args.GetInt("nodes", 1, 1, 9), partitions = args.GetInt("partitions", 4, 1, 1024);
        int queryCount = args.GetInt("queries", 1000, 10), k = args.GetInt("k", 10, 1, 1000), copies = args.GetInt("copies", 1, 1, 10_000);
        string model = args.Require("model");
        if (!File.Exists(model)) throw new UsageException($"--model: {model} does not exist (run `vlink embeddings fetch --data DIR`; the file is DIR/embeddings/glove-6b-100d.vlwv)");
        string corpus = args.Get("corpus") ?? LocateCorpus();
        string server = ServerProcess.Locate(args.Get("server"));

        var docs = ReadTsv(Path.Combine(corpus, "tech-docs.tsv")).Select(r => (Topic: r[0], Text: r[1])).ToList();
        var queries = ReadTsv(Path.Combine(corpus, "queries.tsv")).Select(r => (Text: r[0], Topic: r[1])).ToList();
        if (docs.Count == 0 || queries.Count == 0) throw new BenchInputException($"{corpus} holds no documents or no queries");
        int n = docs.Count * copies;
        Console.Error.WriteLine($"hybrid: {n} documents ({docs.Count} x {copies}), {queries.Count} queries, {nodes} node(s) from {Path.GetFileName(server)}");

        string root = Directory.CreateTempSubdirectory("vlink-bench-hybrid-").FullName;
        string keys = Path.Combine(root, "api-keys.json");
        await File.WriteAllTextAsync(keys, $$"""[{"key":"{{Key}}","role":"admin"}]""");
        var processes = new List<ServerProcess>();
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("api-key", Key);
        try
        {
            for (int i = 0; i < nodes; i++)
            {
                string data = Path.Combine(root, $"node{i}");
                InstallModel(model, Path.Combine(data, "embeddings", "glove-6b-100d.vlwv"));
                processes.Add(ServerProcess.Start(server, data, i == 0 ? null : processes[0].AkkaPort, keys));
                if (i == 0) await processes[0].WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            }
            foreach (var p in processes) await p.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            var urls = processes.Select(p => p.Url).ToArray();

            await SendAsync(http, HttpMethod.Put, new Uri(urls[0], $"/collections/{Collection}"),
                $$"""{"text_fields":["text"],"embedding":{"provider":"default"},"shard_number":{{partitions}}}""");
            // Each node loads the model on first use: a search through every node first, so the load rate is the steady one.
            foreach (var url in urls) await SearchAsync(http, url, SearchBody("warm up", null, k));
            var clock = Stopwatch.StartNew();
            const int batch = 100;
            for (int start = 0; start < n; start += batch)
            {
                int count = Math.Min(batch, n - start);
                await SendAsync(http, HttpMethod.Put, new Uri(urls[start / batch % urls.Length], $"/collections/{Collection}/points?wait=true"), UpsertBody(docs, start, count));
            }
            double loadSeconds = clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"hybrid: loaded {n} documents in {loadSeconds:F1} s ({n / loadSeconds:F0} documents/s, embedded by the receiving node)");
            Json.Line(w =>
            {
                w.WriteString("bench", "hybrid-search");
                w.WriteString("phase", "load");
                w.WriteNumber("nodes", nodes);
                w.WriteNumber("partitions", partitions);
                w.WriteNumber("documents", n);
                w.WriteRounded("documents_per_s", n / loadSeconds, 0);
                w.WriteNumber("batch", batch);
            });

            var sets = new (string Name, string? Method)[]
            {
                ("exact+bm25+semantic", null), ("exact+bm25+semantic+soft", "exact,bm25,semantic,soft"), ("exact", "exact"), ("bm25", "bm25"), ("semantic", "semantic"),
            };
            // Warm-up, every method set before any is measured: JIT on every node, connections, partitions woken.
            foreach (var (_, method) in sets)
                for (int i = 0; i < 300; i++) await SearchAsync(http, urls[i % urls.Length], SearchBody(queries[i % queries.Count].Text, method, k));
            foreach (var (name, methods) in sets)
            {
                var bodies = Enumerable.Range(0, queryCount).Select(q => SearchBody(queries[q % queries.Count].Text, methods, k)).ToArray();
                var latencies = new List<double>(queryCount);
                var answers = new List<ulong>[queryCount];
                bool semanticEverywhere = true;
                for (int q = 0; q < queryCount; q++)
                {
                    long started = Stopwatch.GetTimestamp();
                    (answers[q], bool semantic) = await SearchAsync(http, urls[q % urls.Length], bodies[q]);
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    semanticEverywhere &= semantic || methods is "bm25" or "exact";
                }
                double? ndcg = copies == 1
                    ? Enumerable.Range(0, Math.Min(queries.Count, queryCount)).Average(q => NdcgAt10(answers[q], [.. Enumerable.Range(0, docs.Count).Where(d => docs[d].Topic == queries[q].Topic).Select(d => (ulong)d)]))
                    : null;
                Json.Line(w =>
                {
                    w.WriteString("bench", "hybrid-search");
                    w.WriteString("phase", "sequential");
                    w.WriteString("methods", name);
                    w.WriteNumber("nodes", nodes);
                    w.WriteNumber("partitions", partitions);
                    w.WriteNumber("documents", n);
                    w.WriteNumber("k", k);
                    w.WriteNumber("queries", queryCount);
                    w.WriteRounded("p50_ms", GatherCommand.Percentile(latencies, 50) / 1000, 3);
                    w.WriteRounded("p99_ms", GatherCommand.Percentile(latencies, 99) / 1000, 3);
                    w.WriteRounded("ndcg_at_10", ndcg, 3);
                    w.WriteBoolean("semantic_executed", semanticEverywhere);
                    w.WriteNumber("cores", Environment.ProcessorCount);
                });
            }
            return 0;
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
            GatherCommand.TryDelete(root);
        }
    }

    /// <summary>The corpus folder of the checkout this bench was built in, else of the one the current folder is in.</summary>
    private static string LocateCorpus()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "VLink.sln"))) continue;
                string corpus = Path.Combine(dir.FullName, "tests", "VLink.Embeddings.Tests", "Corpus");
                if (Directory.Exists(corpus)) return corpus;
                break;
            }
        }
        throw new UsageException("no corpus found: pass --corpus DIR (a folder with tech-docs.tsv and queries.tsv)");
    }

    private static List<string[]> ReadTsv(string path)
    {
        if (!File.Exists(path)) throw new BenchInputException($"{path} does not exist");
        var rows = new List<string[]>();
        foreach (var (line, number) in File.ReadLines(path).Select((l, i) => (l, i + 1)))
        {
            if (line.Length == 0) continue;
            var fields = line.Split('\t');
            if (fields.Length != 2) throw new BenchInputException($"{path}:{number}: expected two tab-separated fields");
            rows.Add(fields);
        }
        return rows;
    }

    /// <summary>Links the model file into a node's data folder (copies it where links cannot be made).</summary>
    private static void InstallModel(string model, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            File.CreateSymbolicLink(target, Path.GetFullPath(model));
        }
        catch (IOException)
        {
            File.Copy(model, target, overwrite: true);
        }
        catch (UnauthorizedAccessException)
        {
            File.Copy(model, target, overwrite: true);
        }
    }

    private static double NdcgAt10(IReadOnlyList<ulong> ranked, HashSet<ulong> relevant)
    {
        double dcg = 0, ideal = 0;
        for (int i = 0; i < Math.Min(10, ranked.Count); i++)
            if (relevant.Contains(ranked[i])) dcg += 1 / Math.Log2(i + 2);
        for (int i = 0; i < Math.Min(10, relevant.Count); i++) ideal += 1 / Math.Log2(i + 2);
        return ideal == 0 ? 0 : dcg / ideal;
    }

    private static async Task<(List<ulong> Ids, bool SemanticExecuted)> SearchAsync(HttpClient http, Uri node, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(node, $"/collections/{Collection}/search/text"), content);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"text search answered {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        var ids = doc.RootElement.GetProperty("result").EnumerateArray().Select(h => h.GetProperty("id").GetUInt64()).ToList();
        return (ids, doc.RootElement.TryGetProperty("semantic_executed", out var s) && s.ValueKind == JsonValueKind.True);
    }

    private static async Task SendAsync(HttpClient http, HttpMethod method, Uri uri, string body)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} {uri.AbsolutePath} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Points <paramref name="start"/>.. of the corpus repeated: point i is document i mod the corpus size.</summary>
    private static string UpsertBody(List<(string Topic, string Text)> docs, int start, int count)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("points");
            for (int i = start; i < start + count; i++)
            {
                var (topic, text) = docs[i % docs.Count];
                w.WriteStartObject();
                w.WriteNumber("id", i);
                w.WriteStartObject("payload");
                w.WriteString("text", text);
                w.WriteString("topic", topic);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string SearchBody(string query, string? method, int k)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("query", query);
            if (method is not null)
            {
                w.WriteStartArray("methods");
                foreach (var name in method.Split(',')) w.WriteStringValue(name);
                w.WriteEndArray();
            }
            w.WriteNumber("limit", k);
            w.WriteBoolean("with_payload", false);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
