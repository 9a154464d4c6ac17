using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VLink.Bench.Cli;
using VLink.Bench.Exact;
using VLink.Bench.Io;

namespace VLink.Bench.Ann;

/// <summary>
/// <c>ann</c>: VLink's HNSW against hnswlib on the same files with the same M, ef_construction and ef.
/// stdout: one JSON line per (engine, ef), then one ratio line. stderr: progress and a table.
/// </summary>
public static class AnnCommand
{
    /// <summary>The recall at which the QPS ratio is taken.</summary>
    public const double RecallTarget = 0.95;

    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags =
        ["base", "query", "truth", "metric", "k", "m", "efc", "ef", "threads", "peer", "limit-queries", "out", "seed", "repeats", "python",
         "quantization", "oversampling", "build-threads"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "ann --base B.fvecs --query Q.fvecs [--truth T.ivecs] --metric l2|cosine|dot [--k 10] [--m 16] [--efc 200]\n" +
        "    [--ef 16,32,64,128,256] [--threads 1[,2,...]] [--peer hnswlib|none] [--limit-queries N] [--out results.jsonl]\n" +
        "    [--seed 42] [--repeats 3] [--python /usr/bin/python3] [--quantization none|int8] [--oversampling 3]\n" +
        "    [--build-threads 1]\n" +
        "      --threads: search threads (a list measures each); --build-threads: inserting threads, both engines\n" +
        "      --quantization int8: VLink walks int8 codes and re-scores k*oversampling candidates on the originals (memory-mapped)\n" +
        "      without --truth, exact ground truth is computed (parallel brute force) before the run";

    private static readonly string RecallKey = RecallTarget.ToString("0.0#", CultureInfo.InvariantCulture);

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args)
    {
        string basePath = args.Require("base");
        string queryPath = args.Require("query");
        string? truthPath = args.Get("truth");
        BenchMetric metric = BruteForce.ParseMetric(args.GetChoice("metric", null, "l2", "cosine", "dot"));
        var settings = new AnnSettings(
            metric,
            K: args.GetInt("k", 10, 1),
            M: args.GetInt("m", 16, 2, 256),
            EfConstruction: args.GetInt("efc", 200, 1),
            Efs: args.GetIntList("ef", [16, 32, 64, 128, 256], 1),
            Threads: args.GetIntList("threads", [1], 1, 1024),
            Seed: args.GetInt("seed", 42, 0),
            Repeats: args.GetInt("repeats", 3, 1, 100),
            Quantization: args.GetChoice("quantization", "none", "none", "int8"),
            Oversampling: args.GetDouble("oversampling", 3.0, 1.0, 100.0),
            BuildThreads: args.GetInt("build-threads", 1, 1, 1024));
        string peer = args.GetChoice("peer", "hnswlib", "hnswlib", "none");
        int limit = args.GetInt("limit-queries", int.MaxValue, 1);
        string? outPath = args.Get("out");
        string python = args.Get("python") ?? HnswlibPeer.DefaultPython;

        AnnData data = Load(basePath, queryPath, truthPath, settings, limit);
        int n = data.Base.Count, dim = data.Base.Dimension, nq = data.Queries.Count;
        Console.Error.WriteLine(
            $"ann: n={n} dim={dim} queries={nq} metric={BruteForce.Name(metric)} k={settings.K} M={settings.M} " +
            $"efConstruction={settings.EfConstruction} ef={string.Join(',', settings.Efs)} threads={string.Join(',', settings.Threads)} " +
            $"build-threads={settings.BuildThreads} quantization={settings.Quantization} repeats={settings.Repeats} peer={peer}");

        var runs = new List<EngineRun>();
        EngineRun vlink = VLinkRunner.Run(data, settings);
        runs.Add(vlink);

        EngineRun? hnswlib = null;
        string? peerError = null;
        if (peer == "hnswlib")
        {
            try
            {
                hnswlib = HnswlibPeer.Run(python, basePath, queryPath, data, settings);
                runs.Add(hnswlib);
            }
            catch (Exception e) when (e is PeerException or BenchInputException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                peerError = e.Message;
                Console.Error.WriteLine($"error: hnswlib peer: {e.Message}");
            }
        }
        else
        {
            peerError = "peer disabled (--peer none)";
        }

        var lines = new List<string>();
        foreach (EngineRun run in runs)
        {
            foreach (string w in run.Warnings.Distinct())
                Console.Error.WriteLine($"warning: {run.Engine}: {w}");
            foreach (EfPoint p in run.Points)
                lines.Add(Json.Line(w => WritePoint(w, run, p, data, settings)));
        }

        lines.Add(Json.Line(w => WriteRatio(w, vlink, hnswlib, n, peerError, settings)));
        if (outPath is not null)
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(outPath));
            if (dir is not null)
                Directory.CreateDirectory(dir);
            File.WriteAllLines(outPath, lines);
        }

        PrintTable(runs, n);
        if (peerError is not null && peer == "hnswlib")
            Console.Error.WriteLine($"note: no hnswlib figures, ratio is null: {peerError}");
        return 0;
    }

    private static AnnData Load(string basePath, string queryPath, string? truthPath, AnnSettings s, int limit)
    {
        var clock = Stopwatch.StartNew();
        RowMatrix<float> baseRows = TexmexFormat.ReadFvecs(basePath);
        RowMatrix<float> queries = TexmexFormat.ReadFvecs(queryPath, limit);
        if (queries.Dimension != baseRows.Dimension)
            throw new BenchInputException($"{queryPath}: vector 0: dimension {queries.Dimension}, but the base file {basePath} has dimension {baseRows.Dimension}");
        if (s.K > baseRows.Count)
            throw new UsageException($"--k {s.K} exceeds the {baseRows.Count} base vectors of {basePath}");
        Console.Error.WriteLine($"ann: read {baseRows.Count}+{queries.Count} vectors in {clock.Elapsed.TotalSeconds:F1} s");

        RowMatrix<int> truth;
        if (truthPath is not null)
        {
            truth = TexmexFormat.ReadIvecs(truthPath, queries.Count);
            if (truth.Count < queries.Count)
                throw new BenchInputException($"{truthPath}: vector {truth.Count}: missing; the ground truth has {truth.Count} rows for {queries.Count} queries");
            if (truth.Dimension < s.K)
                throw new BenchInputException($"{truthPath}: vector 0: {truth.Dimension} neighbours, fewer than --k {s.K}");
            for (int q = 0; q < truth.Count; q++)
            {
                foreach (int id in truth.Row(q)[..s.K])
                {
                    if ((uint)id >= (uint)baseRows.Count)
                        throw new BenchInputException($"{truthPath}: vector {q}: neighbour id {id} outside the {baseRows.Count} base vectors");
                }
            }
        }
        else
        {
            clock.Restart();
            truth = BruteForce.TopK(baseRows, queries, s.Metric, s.K, Console.Error.WriteLine);
            Console.Error.WriteLine($"ann: exact top-{s.K} ({BruteForce.Name(s.Metric)}) computed in {clock.Elapsed.TotalSeconds:F1} s");
        }

        return new AnnData(baseRows, queries, truth);
    }

    private static void WritePoint(Utf8JsonWriter w, EngineRun run, EfPoint p, AnnData data, AnnSettings s)
    {
        int n = data.Base.Count;
        w.WriteString("engine", run.Engine);
        w.WriteNumber("ef", p.Ef);
        w.WriteRounded("recall", p.Recall, 4);
        w.WriteRounded("qps", p.Qps, 1);
        w.WriteRounded("build_s", run.BuildSeconds, 3);
        w.WriteNumber("threads", p.Threads);
        w.WriteNumber("build_threads", s.BuildThreads);
        w.WriteString("quantization", run.Engine == "vlink" ? s.Quantization : "none");
        if (run.Engine == "vlink" && s.Quantization != "none")
            w.WriteNumber("oversampling", s.Oversampling);
        w.WriteNumber("mapped_bytes", run.MappedBytes);
        w.WriteNumber("n", n);
        w.WriteNumber("dim", data.Base.Dimension);
        w.WriteNumber("index_bytes", run.IndexBytes);
        w.WriteRounded("bytes_per_vector", (double)run.IndexBytes / n, 1);
        w.WriteRounded("p50_us", p.P50Us, 1);
        w.WriteRounded("p99_us", p.P99Us, 1);
        w.WriteNumber("k", s.K);
        w.WriteNumber("queries", data.Queries.Count);
        w.WriteString("metric", BruteForce.Name(s.Metric));
        w.WriteNumber("m", s.M);
        w.WriteNumber("efc", s.EfConstruction);
        w.WriteNumber("rounds_per_pass", p.Rounds);
        w.WriteStartArray("qps_runs");
        foreach (double q in p.QpsRuns)
            w.WriteNumberValue(Math.Round(q, 1));
        w.WriteEndArray();
        w.WriteString("index_bytes_source", run.FormulaBytes is null ? "MemoryBytes" : "rss_delta");
        w.WriteNullable("rss_delta_bytes", run.RssDeltaBytes);
        if (run.ManagedDeltaBytes is not null)
            w.WriteNumber("managed_delta_bytes", run.ManagedDeltaBytes.Value);
        if (run.FormulaBytes is not null)
        {
            w.WriteNumber("formula_bytes", run.FormulaBytes.Value);
            w.WriteRounded("formula_bytes_per_vector", (double)run.FormulaBytes.Value / n, 1);
        }

        if (run.LatencyNote is not null)
            w.WriteString("latency_note", run.LatencyNote);
    }

    private static void WriteRatio(Utf8JsonWriter w, EngineRun vlink, EngineRun? hnswlib, int n, string? peerError, AnnSettings s)
    {
        EfPoint? v = FirstReaching(vlink, s.Threads[0]);
        EfPoint? h = hnswlib is null ? null : FirstReaching(hnswlib, s.Threads[0]);
        w.WriteString("ratio", "vlink/hnswlib");
        w.WriteNumber("recall_target", RecallTarget);
        w.WriteRounded($"qps_at_recall_{RecallKey}", v is not null && h is not null ? v.Qps / h.Qps : null, 3);
        w.WriteRounded("build_s", hnswlib is null ? null : vlink.BuildSeconds / hnswlib.BuildSeconds, 3);
        w.WriteRounded("bytes_per_vector", hnswlib is null || hnswlib.IndexBytes <= 0 ? null : (double)vlink.IndexBytes / hnswlib.IndexBytes, 3);
        w.WriteRounded("bytes_per_vector_vs_formula", hnswlib?.FormulaBytes is long f ? (double)vlink.IndexBytes / f : null, 3);
        w.WriteString("qps_method", "QPS at the smallest ef whose recall >= target, no interpolation; null when an engine never reaches the target");
        w.WriteNullable($"vlink_ef_at_recall_{RecallKey}", v?.Ef);
        w.WriteRounded($"vlink_qps_at_recall_{RecallKey}", v?.Qps, 1);
        w.WriteNullable($"hnswlib_ef_at_recall_{RecallKey}", h?.Ef);
        w.WriteRounded($"hnswlib_qps_at_recall_{RecallKey}", h?.Qps, 1);
        w.WriteRounded("vlink_build_s", vlink.BuildSeconds, 3);
        w.WriteRounded("hnswlib_build_s", hnswlib?.BuildSeconds, 3);
        w.WriteRounded("vlink_bytes_per_vector", (double)vlink.IndexBytes / n, 1);
        w.WriteRounded("hnswlib_bytes_per_vector", hnswlib is null ? null : (double)hnswlib.IndexBytes / n, 1);
        w.WriteNumber("threads", s.Threads[0]);
        w.WriteString("quantization", s.Quantization);
        // Every thread count measured: the QPS of each engine at the target recall and their ratio.
        w.WriteStartObject("by_threads");
        foreach (int t in s.Threads)
        {
            EfPoint? vt = FirstReaching(vlink, t);
            EfPoint? ht = hnswlib is null ? null : FirstReaching(hnswlib, t);
            w.WriteStartObject(t.ToString(CultureInfo.InvariantCulture));
            w.WriteRounded("vlink_qps", vt?.Qps, 1);
            w.WriteRounded("hnswlib_qps", ht?.Qps, 1);
            w.WriteRounded("ratio", vt is not null && ht is not null ? vt.Qps / ht.Qps : null, 3);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (peerError is null)
            w.WriteNull("peer_error");
        else
            w.WriteString("peer_error", peerError);
    }

    private static EfPoint? FirstReaching(EngineRun run, int threads) =>
        run.Points.Where(p => p.Threads == threads).OrderBy(p => p.Ef).FirstOrDefault(p => p.Recall >= RecallTarget);

    private static void PrintTable(List<EngineRun> runs, int n)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"engine",-8} {"ef",5} {"thr",3} {"recall",7} {"qps",10} {"p50_us",9} {"p99_us",9} {"build_s",8} {"bytes/vec",10}");
        foreach (EngineRun run in runs)
        {
            foreach (EfPoint p in run.Points)
            {
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"{run.Engine,-8} {p.Ef,5} {p.Threads,3} {p.Recall,7:F4} {p.Qps,10:F0} {Fmt(p.P50Us),9} {Fmt(p.P99Us),9} {run.BuildSeconds,8:F2} {(double)run.IndexBytes / n,10:F1}");
            }
        }

        EngineRun? h = runs.FirstOrDefault(r => r.Engine == "hnswlib");
        if (h is not null)
        {
            sb.AppendLine("(hnswlib: qps from batch knn_query calls; p50/p99 from single-query calls in a Python loop,");
            sb.AppendLine(CultureInfo.InvariantCulture,
                $" so they include Python overhead; bytes/vec = RSS growth, formula {(double)(h.FormulaBytes ?? 0) / n:F1})");
        }

        Console.Error.Write(sb.ToString());

        static string Fmt(double? x) => x is null ? "-" : x.Value.ToString("F1", CultureInfo.InvariantCulture);
    }
}
