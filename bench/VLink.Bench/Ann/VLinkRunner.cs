using System.Diagnostics;
using VLink.Bench.Exact;
using VLink.Bench.Io;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Bench.Ann;

/// <summary>Builds VLink's <see cref="HnswIndex"/> on the base set and times queries at every ef.</summary>
public static class VLinkRunner
{
    private const int WarmupPoints = 2_000;

    /// <summary>The VLink metric for a bench metric.</summary>
    public static DistanceMetric ToVLink(BenchMetric metric) => metric switch
    {
        BenchMetric.L2 => DistanceMetric.Euclidean,
        BenchMetric.Cosine => DistanceMetric.Cosine,
        _ => DistanceMetric.Dot,
    };

    /// <summary>Runs the whole measurement.</summary>
    public static EngineRun Run(AnnData data, AnnSettings s)
    {
        var run = new EngineRun("vlink");
        RowMatrix<float> baseRows = data.Base;
        RowMatrix<float> queries = data.Queries;
        int dim = baseRows.Dimension;
        DistanceMetric metric = ToVLink(s.Metric);
        var options = new HnswOptions
        {
            M = s.M,
            EfConstruction = s.EfConstruction,
            Seed = s.Seed,
            Quantization = s.Quantization == "int8" ? new ScalarQuantization { Oversampling = s.Oversampling } : null,
        };

        // JIT warm-up (tiered compilation, PGO): a small throw-away index exercising insert and search. Untimed.
        using (var warm = new HnswIndex(dim, metric, options))
        {
            int wn = Math.Min(baseRows.Count, WarmupPoints);
            for (int i = 0; i < wn; i++)
                warm.Upsert((ulong)i, baseRows.Row(i));
            var warmOptions = new SearchOptions { Ef = s.Efs[0] };
            for (int i = 0; i < Math.Min(queries.Count, 500); i++)
                warm.Search(queries.Row(i), s.K, warmOptions);
            if (s.BuildThreads > 1)
                warm.UpsertMany([.. Enumerable.Range(wn, 200).Select(i => new PointId((ulong)i))],
                    [.. Enumerable.Range(0, 200).Select(i => new ReadOnlyMemory<float>(baseRows.Data, (i % wn) * dim, dim))], s.BuildThreads);
        }

        FullCollect();
        long? rss0 = Scoring.ResidentBytes();
        long heap0 = GC.GetTotalMemory(forceFullCollection: true);

        var index = new HnswIndex(dim, metric, options);
        try
        {
            Console.Error.WriteLine($"vlink: building HNSW (M={s.M}, efConstruction={s.EfConstruction}, quantization={s.Quantization}, " +
                $"{s.BuildThreads} thread(s)) over {baseRows.Count} vectors...");
            var clock = Stopwatch.StartNew();
            long nextReport = 10_000;
            if (s.BuildThreads == 1)
            {
                for (int i = 0; i < baseRows.Count; i++)
                {
                    index.Upsert((ulong)i, baseRows.Row(i));
                    if ((i & 1023) == 1023 && clock.ElapsedMilliseconds > nextReport)
                    {
                        nextReport = clock.ElapsedMilliseconds + 10_000;
                        Console.Error.WriteLine($"vlink: {i + 1}/{baseRows.Count} inserted, {clock.Elapsed.TotalSeconds:F0} s");
                    }
                }
            }
            else
            {
                // Slices of 50,000 through the parallel insert, so progress shows; each slice uses every build thread.
                const int slice = 50_000;
                for (int start = 0; start < baseRows.Count; start += slice)
                {
                    int end = Math.Min(baseRows.Count, start + slice);
                    index.UpsertMany([.. Enumerable.Range(start, end - start).Select(i => new PointId((ulong)i))],
                        [.. Enumerable.Range(start, end - start).Select(i => new ReadOnlyMemory<float>(baseRows.Data, i * dim, dim))], s.BuildThreads);
                    if (clock.ElapsedMilliseconds > nextReport)
                    {
                        nextReport = clock.ElapsedMilliseconds + 10_000;
                        Console.Error.WriteLine($"vlink: {end}/{baseRows.Count} inserted, {clock.Elapsed.TotalSeconds:F0} s");
                    }
                }
            }

            run.BuildSeconds = clock.Elapsed.TotalSeconds;
            if (index.Count != baseRows.Count)
                run.Warnings.Add($"index.Count = {index.Count} after inserting {baseRows.Count} vectors");

            run.IndexBytes = index.MemoryBytes;
            run.MappedBytes = index.MappedBytes;
            FullCollect();
            long? rss1 = Scoring.ResidentBytes();
            run.ManagedDeltaBytes = GC.GetTotalMemory(forceFullCollection: true) - heap0;
            run.RssDeltaBytes = rss1 - rss0;
            Console.Error.WriteLine($"vlink: built in {run.BuildSeconds:F2} s, MemoryBytes = {run.IndexBytes:N0}, MappedBytes = {run.MappedBytes:N0}");

            int nq = queries.Count;
            var results = new IReadOnlyList<SearchHit>[nq];
            var latencyTicks = new long[nq];

            // Query warm-up: one untimed pass at the first ef.
            RunPass(index, queries, s.K, new SearchOptions { Ef = s.Efs[0] }, s.Threads[0], results, latencyTicks, 1);

            foreach (int ef in s.Efs)
            foreach (int threads in s.Threads)
            {
                var searchOptions = new SearchOptions { Ef = ef };

                // Calibration (untimed, also this ef's warm-up): a pass repeats the query set until it lasts MinPassSeconds.
                double once = RunPass(index, queries, s.K, searchOptions, threads, results, latencyTicks, 1);
                int rounds = AnnSettings.RoundsFor(once);
                var qpsRuns = new double[s.Repeats];
                var latencies = new double[nq * s.Repeats];
                int[]? labels = null;
                for (int r = 0; r < s.Repeats; r++)
                {
                    double seconds = RunPass(index, queries, s.K, searchOptions, threads, results, latencyTicks, rounds);
                    qpsRuns[r] = (double)nq * rounds / seconds;
                    for (int q = 0; q < nq; q++)
                        latencies[(r * nq) + q] = latencyTicks[q] * 1e6 / Stopwatch.Frequency;
                    labels ??= Labels(results, s.K);
                }

                Array.Sort(latencies);
                double recall = Scoring.Recall(labels, data.Truth, s.K, run.Warnings);
                run.Points.Add(new EfPoint(ef, recall, Scoring.Median(qpsRuns), qpsRuns,
                    Scoring.Percentile(latencies, 50), Scoring.Percentile(latencies, 99), rounds, threads));
                Console.Error.WriteLine($"vlink: ef={ef} threads={threads} recall={recall:F4} qps={Scoring.Median(qpsRuns):F0}");
            }
        }
        finally
        {
            index.Dispose();
        }

        FullCollect();
        return run;
    }

    /// <summary>
    /// One pass: every query, <paramref name="rounds"/> times over; returns wall-clock seconds. With one thread the
    /// queries run in a plain loop on the calling thread; with more, each thread takes an interleaved share and the
    /// clock spans all of them. Results and latencies are those of the last round.
    /// </summary>
    private static double RunPass(HnswIndex index, RowMatrix<float> queries, int k, SearchOptions options, int threads,
        IReadOnlyList<SearchHit>[] results, long[] latencyTicks, int rounds)
    {
        if (threads <= 1)
        {
            long start = Stopwatch.GetTimestamp();
            for (int round = 0; round < rounds; round++)
                Slice(index, queries, k, options, results, latencyTicks, 0, 1);
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        using var gate = new ManualResetEventSlim(false);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int first = t;
            workers[t] = new Thread(() =>
            {
                gate.Wait();
                for (int round = 0; round < rounds; round++)
                    Slice(index, queries, k, options, results, latencyTicks, first, threads);
            })
            { IsBackground = true, Name = $"vlink-query-{t}" };
            workers[t].Start();
        }

        long t0 = Stopwatch.GetTimestamp();
        gate.Set();
        foreach (Thread w in workers)
            w.Join();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static void Slice(HnswIndex index, RowMatrix<float> queries, int k, SearchOptions options,
        IReadOnlyList<SearchHit>[] results, long[] latencyTicks, int first, int stride)
    {
        for (int q = first; q < queries.Count; q += stride)
        {
            long t0 = Stopwatch.GetTimestamp();
            results[q] = index.Search(queries.Row(q), k, options);
            latencyTicks[q] = Stopwatch.GetTimestamp() - t0;
        }
    }

    private static int[] Labels(IReadOnlyList<SearchHit>[] results, int k)
    {
        var labels = new int[results.Length * k];
        Array.Fill(labels, -1);
        for (int q = 0; q < results.Length; q++)
        {
            IReadOnlyList<SearchHit> hits = results[q];
            for (int j = 0; j < Math.Min(k, hits.Count); j++)
            {
                PointId id = hits[j].Id;
                labels[(q * k) + j] = id.IsNumber && id.Number <= int.MaxValue ? (int)id.Number : -2;
            }
        }

        return labels;
    }

    private static void FullCollect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
