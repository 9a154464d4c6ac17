using System.Diagnostics;
using System.Globalization;
using VLink.Bench.Cli;
using VLink.Bench.Exact;
using VLink.Bench.Io;

namespace VLink.Bench.Routing;

/// <summary>
/// <c>routing</c>: how much of the true top-k a query finds when it visits only its <c>probes</c> nearest partitions,
/// for partitions made by k-means regions against partitions made by hashing the id (VLink's scheme today). Each
/// visited partition is assumed to answer exactly, so the figure is the ceiling any routing of that kind can reach.
/// stdout: one JSON line per probe count; stderr: a table.
/// </summary>
public static class RoutingCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["base", "query", "truth", "partitions", "k", "iterations", "sample", "seed", "out"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "routing --base B.fvecs --query Q.fvecs --truth T.ivecs [--partitions 12] [--k 10] [--iterations 15] [--sample 50000]\n" +
        "    [--seed 1] [--out routing.jsonl]\n" +
        "      L2. k-means (Lloyd, k-means++ seeding on a sample) makes the regions; every point goes to its nearest centroid";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args)
    {
        RowMatrix<float> baseRows = TexmexFormat.ReadFvecs(args.Require("base"));
        RowMatrix<float> queries = TexmexFormat.ReadFvecs(args.Require("query"));
        int k = args.GetInt("k", 10, 1);
        RowMatrix<int> truth = TexmexFormat.ReadIvecs(args.Require("truth"), queries.Count);
        int parts = args.GetInt("partitions", 12, 2, 4096);
        int iterations = args.GetInt("iterations", 15, 1, 1000);
        int sample = Math.Min(baseRows.Count, args.GetInt("sample", 50_000, parts));
        int seed = args.GetInt("seed", 1, 0);
        var rng = new Random(seed);
        string? outPath = args.Get("out");
        int n = baseRows.Count, dim = baseRows.Dimension;

        var clock = Stopwatch.StartNew();
        // The router VLink's region collections use: k-means++ seeding and Lloyd rounds over a random sample.
        float[][] picked = [.. Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(sample).Select(i => baseRows.Row(i).ToArray())];
        var router = Core.Indexing.RegionRouter.Train(picked, parts, Core.Vectors.DistanceMetric.Euclidean, iterations, seed);
        var region = new int[n];
        Parallel.For(0, n, i => region[i] = router.RegionOf(baseRows.Row(i)));
        var sizes = new int[parts];
        foreach (int r in region) sizes[r]++;
        Console.Error.WriteLine($"routing: k-means of {n} x {dim} into {parts} regions in {clock.Elapsed.TotalSeconds:F1} s; " +
            $"sizes {sizes.Min()}..{sizes.Max()} (largest / mean {sizes.Max() / ((double)n / parts):F2})");

        // For each query: its regions ordered by centroid distance, and which of its true neighbours each holds.
        var lines = new List<string>();
        var found = new double[parts + 1];
        var scanned = new double[parts + 1];
        var hashFound = new double[parts + 1];
        for (int q = 0; q < queries.Count; q++)
        {
            int[] order = router.Nearest(queries.Row(q), parts);
            var rank = new int[parts];
            for (int i = 0; i < parts; i++) rank[order[i]] = i;
            var truths = truth.Row(q)[..k];
            for (int probes = 1; probes <= parts; probes++)
            {
                int hits = 0, hashHits = 0;
                foreach (int t in truths)
                {
                    if (rank[region[t]] < probes) hits++;
                    // Hash partitioning: the point's partition is unrelated to its vector; visiting `probes` of them
                    // (any, say the first) finds those of its neighbours that happen to live there.
                    if ((int)((uint)Mix(t) % (uint)parts) < probes) hashHits++;
                }
                found[probes] += (double)hits / k;
                hashFound[probes] += (double)hashHits / k;
                for (int i = 0; i < probes; i++) scanned[probes] += sizes[order[i]];
            }
        }

        for (int probes = 1; probes <= parts; probes++)
        {
            double recall = found[probes] / queries.Count, hashRecall = hashFound[probes] / queries.Count;
            double share = scanned[probes] / queries.Count / n;
            lines.Add(Json.Line(w =>
            {
                w.WriteString("command", "routing");
                w.WriteNumber("partitions", parts);
                w.WriteNumber("probes", probes);
                w.WriteNumber("k", k);
                w.WriteNumber("region_recall", Math.Round(recall, 4));
                w.WriteNumber("hash_recall", Math.Round(hashRecall, 4));
                w.WriteNumber("region_points_share", Math.Round(share, 4));
                w.WriteNumber("largest_region_over_mean", Math.Round(sizes.Max() / ((double)n / parts), 3));
                w.WriteNumber("n", n);
                w.WriteNumber("dim", dim);
            }));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"probes {probes,3}: region recall@{k} {recall:F4} (points visited {share:P1}), hash recall@{k} {hashRecall:F4}"));
        }

        foreach (string line in lines)
            Console.WriteLine(line);
        if (outPath is not null)
            File.WriteAllLines(outPath, lines);
        return 0;
    }

    private static uint Mix(int x)
    {
        uint h = (uint)x * 0x9E3779B1u;
        return h ^ (h >> 15);
    }
}
