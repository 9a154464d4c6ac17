using Akka.Actor;
using System.Diagnostics;
using VLink.Bench.Cli;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Vectors;

namespace VLink.Bench.Cluster;

/// <summary>
/// <c>gather</c>: the Gather Engine's own cost. Starts a cluster of real ActorSystems on loopback, loads a
/// hash-partitioned collection, and for every query compares the global search's latency with the slowest
/// partition's local search inside it (from the search trace): the difference is what scatter-gather adds.
/// </summary>
public static class GatherCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["nodes", "n", "dim", "partitions", "queries", "k", "seed", "clusters", "probes", "train-size", "ef"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "gather [--nodes 3] [--n 30000] [--dim 64] [--partitions 12] [--queries 2000] [--k 10] [--seed 1]\n" +
        "      prints one JSON line: global search p50/p99, slowest-partition p50/p99, overhead p50/p99, messages per query\n" +
        "gather --probes 1,2,3,4,12 [--clusters 100] [--train-size 20000] [--ef 64] [the flags above]\n" +
        "      region routing: the same clustered data in a hash collection (full scatter) and a region collection; one JSON\n" +
        "      line per probe count and one for full scatter: recall@k against brute force, p50/p99 latency, partitions visited";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ArgSet args)
    {
        if (args.Get("probes") is not null) return await RoutingAsync(args);
        int nodes = args.GetInt("nodes", 3, 1, 16), n = args.GetInt("n", 30000, 100), dim = args.GetInt("dim", 64, 1, 4096);
        int partitions = args.GetInt("partitions", 12, 1, 1024), queries = args.GetInt("queries", 2000, 10), k = args.GetInt("k", 10, 1, 1000);
        var random = new Random(args.GetInt("seed", 1));
        string data = Directory.CreateTempSubdirectory("vlink-bench-gather-").FullName;
        try
        {
            await using var cluster = await LocalCluster.StartAsync(nodes, data, "vlink.gather.timeout = 30s");
            var node = cluster.Nodes[0];
            var spec = new CollectionSpec("bench", dim, DistanceMetric.Euclidean, PartitionScheme.Hash, partitions, new HnswOptions());
            await node.ChangeCatalogAsync(new CreateCollection(spec));
            var clock = Stopwatch.StartNew();
            for (int start = 0; start < n; start += 1000)
            {
                var batch = Enumerable.Range(start, Math.Min(1000, n - start))
                    .Select(i => new PointWrite((ulong)i, RandomVector(random, dim), null)).ToList();
                await cluster.Nodes[start / 1000 % nodes].UpsertAsync("bench", batch, timeout: TimeSpan.FromSeconds(60));
            }
            Console.Error.WriteLine($"gather: loaded {n} x {dim} into {partitions} partitions on {nodes} nodes in {clock.Elapsed.TotalSeconds:F1} s");

            var vectors = Enumerable.Range(0, queries).Select(_ => RandomVector(random, dim)).ToArray();
            for (int i = 0; i < Math.Min(200, queries); i++) await cluster.Nodes[i % nodes].Gather.SearchAsync("bench", vectors[i], k);

            var total = new List<double>(); var slowest = new List<double>(); var overhead = new List<double>(); var summed = new List<double>();
            long messages = 0; int incomplete = 0;
            for (int i = 0; i < queries; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var result = await cluster.Nodes[i % nodes].Gather.SearchAsync("bench", vectors[i], k);
                double micros = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                double partitionMicros = result.Trace.Nodes.SelectMany(x => x.Partitions).Select(p => (double)p.ElapsedMicros).DefaultIfEmpty(0).Max();
                total.Add(micros);
                // On a machine with few cores the partitions of one node queue for CPU: their summed search
                // time shows how much of the "overhead" is that queueing rather than messaging.
                summed.Add(result.Trace.Nodes.SelectMany(x => x.Partitions).Sum(p => (double)p.ElapsedMicros));
                slowest.Add(partitionMicros);
                overhead.Add(micros - partitionMicros);
                messages += result.Trace.Messages;
                if (!result.Complete) incomplete++;
            }
            Json.Line(w =>
            {
                w.WriteString("bench", "gather");
                w.WriteNumber("nodes", nodes);
                w.WriteNumber("partitions", partitions);
                w.WriteNumber("n", n);
                w.WriteNumber("dim", dim);
                w.WriteNumber("k", k);
                w.WriteNumber("queries", queries);
                w.WriteRounded("p50_us", Percentile(total, 50), 1);
                w.WriteRounded("p99_us", Percentile(total, 99), 1);
                w.WriteRounded("slowest_partition_p50_us", Percentile(slowest, 50), 1);
                w.WriteRounded("slowest_partition_p99_us", Percentile(slowest, 99), 1);
                w.WriteRounded("partitions_summed_p50_us", Percentile(summed, 50), 1);
                w.WriteNumber("cores", Environment.ProcessorCount);
                w.WriteRounded("overhead_p50_us", Percentile(overhead, 50), 1);
                w.WriteRounded("overhead_p99_us", Percentile(overhead, 99), 1);
                w.WriteRounded("messages_per_query", messages / (double)queries, 2);
                w.WriteNumber("incomplete", incomplete);
            });
            return 0;
        }
        finally
        {
            TryDelete(data);
        }
    }

    /// <summary>
    /// Region routing against full scatter on one cluster: a hash collection and a region collection of the same
    /// clustered points, searched with the same queries (warmed first), recall@k against the exact answer.
    /// </summary>
    private static async Task<int> RoutingAsync(ArgSet args)
    {
        int nodes = args.GetInt("nodes", 3, 1, 16), n = args.GetInt("n", 200_000, 100), dim = args.GetInt("dim", 64, 1, 4096);
        int partitions = args.GetInt("partitions", 12, 1, 1024), queryCount = args.GetInt("queries", 1000, 10), k = args.GetInt("k", 10, 1, 1000);
        int seed = args.GetInt("seed", 1, 0), clusters = args.GetInt("clusters", 100, 1), ef = args.GetInt("ef", 64, 1, 100_000);
        int trainSize = args.GetInt("train-size", Math.Min(n, 20_000), partitions, n);
        int[] probes = args.GetIntList("probes", [1, 2, 3, partitions], 1, partitions);

        var model = new Synth.SynthCommand.MixtureModel(dim, clusters, (ulong)seed);
        var baseRows = model.Sample(n, new Synth.Rng((ulong)seed, 1));
        var queries = model.Sample(queryCount, new Synth.Rng((ulong)seed, 2));
        var truth = Exact.BruteForce.TopK(baseRows, queries, Exact.BenchMetric.L2, k);
        string data = Directory.CreateTempSubdirectory("vlink-bench-regions-").FullName;
        try
        {
            await using var cluster = await LocalCluster.StartAsync(nodes, data, "vlink.gather.timeout = 60s");
            var node = cluster.Nodes[0];
            var hnsw = new HnswOptions { M = 16, EfConstruction = 100, EfSearch = ef };
            var hashSpec = new CollectionSpec("scatter", dim, DistanceMetric.Euclidean, PartitionScheme.Hash, partitions, hnsw);
            var regionSpec = new CollectionSpec("regions", dim, DistanceMetric.Euclidean, PartitionScheme.Region, partitions, hnsw,
                Regions: new RegionSpec(trainSize, Math.Min(3, partitions)));
            foreach (var spec in new[] { hashSpec, regionSpec })
            {
                await node.ChangeCatalogAsync(new CreateCollection(spec));
                var clock = Stopwatch.StartNew();
                for (int start = 0; start < n; start += 1000)
                {
                    var batch = Enumerable.Range(start, Math.Min(1000, n - start)).Select(i => new PointWrite((ulong)i, baseRows.Row(i).ToArray(), null)).ToList();
                    await cluster.Nodes[start / 1000 % nodes].UpsertAsync(spec.Name, batch, timeout: TimeSpan.FromSeconds(300));
                }
                Console.Error.WriteLine($"gather: loaded {n} x {dim} into {spec.Name} ({partitions} partitions, {nodes} nodes) in {clock.Elapsed.TotalSeconds:F1} s");
            }
            var entry = (await node.CatalogAsync()).Find("regions")!;
            var sizes = await Task.WhenAll(entry.Partitions().Select(p => node.Partitions.Ask<PartitionStats>(new GetPartitionStats(p), TimeSpan.FromSeconds(30))));
            double largest = sizes.Max(s => s.Points) / ((double)n / partitions);
            Console.Error.WriteLine($"gather: regions {string.Join(" ", sizes.Select(s => s.Points))} (largest / mean {largest:F2})");

            var vectors = Enumerable.Range(0, queryCount).Select(i => queries.Row(i).ToArray()).ToArray();
            async Task Measure(string collection, int? probeCount)
            {
                for (int i = 0; i < Math.Min(200, queryCount); i++) await cluster.Nodes[i % nodes].Gather.SearchAsync(collection, vectors[i], k, probes: probeCount);
                var latencies = new List<double>();
                double recall = 0, visited = 0;
                int incomplete = 0;
                for (int i = 0; i < queryCount; i++)
                {
                    long started = Stopwatch.GetTimestamp();
                    var result = await cluster.Nodes[i % nodes].Gather.SearchAsync(collection, vectors[i], k, probes: probeCount);
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    var expected = truth.Row(i)[..k].ToArray().Select(t => (ulong)t).ToHashSet();
                    recall += result.Hits.Count(h => h.Id.IsNumber && expected.Contains(h.Id.Number)) / (double)k;
                    visited += result.Trace.Nodes.SelectMany(x => x.Partitions).Count(p => p.Candidates > 0);
                    if (!result.Complete) incomplete++;
                }
                Json.Line(w =>
                {
                    w.WriteString("bench", "gather-routing");
                    w.WriteString("collection", collection == "scatter" ? "hash (full scatter)" : "regions");
                    if (probeCount is { } p) w.WriteNumber("probes", p);
                    w.WriteNumber("nodes", nodes);
                    w.WriteNumber("partitions", partitions);
                    w.WriteNumber("n", n);
                    w.WriteNumber("dim", dim);
                    w.WriteNumber("clusters", clusters);
                    w.WriteNumber("k", k);
                    w.WriteNumber("ef", ef);
                    w.WriteRounded("recall", recall / queryCount, 4);
                    w.WriteRounded("partitions_visited", visited / queryCount, 2);
                    w.WriteRounded("p50_us", Percentile(latencies, 50), 1);
                    w.WriteRounded("p99_us", Percentile(latencies, 99), 1);
                    w.WriteRounded("largest_region_over_mean", largest, 2);
                    w.WriteNumber("incomplete", incomplete);
                    w.WriteNumber("cores", Environment.ProcessorCount);
                });
            }
            await Measure("scatter", null);
            foreach (int p in probes) await Measure("regions", p);
            return 0;
        }
        finally
        {
            TryDelete(data);
        }
    }

    internal static float[] RandomVector(Random random, int dim)
    {
        var v = new float[dim];
        for (int j = 0; j < dim; j++) v[j] = (float)random.NextDouble();
        return v;
    }

    internal static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(x => x).ToList();
        int rank = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold the file a moment longer; the folder is in the system's temp area.
        }
    }
}
