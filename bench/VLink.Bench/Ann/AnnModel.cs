using VLink.Bench.Exact;
using VLink.Bench.Io;

namespace VLink.Bench.Ann;

/// <summary>Parameters shared by both engines of one <c>ann</c> run.</summary>
public sealed record AnnSettings(
    BenchMetric Metric,
    int K,
    int M,
    int EfConstruction,
    int[] Efs,
    int[] Threads,
    int Seed,
    int Repeats,
    string Quantization = "none",
    double Oversampling = 3.0,
    int BuildThreads = 1)
{
    /// <summary>A timed pass repeats the query set until it lasts at least this long, so short passes are not all noise.</summary>
    public const double MinPassSeconds = 0.5;

    /// <summary>How many times a pass runs the query set, given the seconds one run took.</summary>
    public static int RoundsFor(double secondsOnce) =>
        secondsOnce >= MinPassSeconds ? 1 : (int)Math.Min(10_000, Math.Ceiling(MinPassSeconds / Math.Max(secondsOnce, 1e-6)));
}

/// <summary>The data of one run: base vectors, queries and the true top-k of every query.</summary>
public sealed record AnnData(RowMatrix<float> Base, RowMatrix<float> Queries, RowMatrix<int> Truth);

/// <summary>One engine at one ef.</summary>
/// <remarks><see cref="Rounds"/>: how many times each timed pass ran the query set.
/// <see cref="Threads"/>: search threads of the timed passes.</remarks>
public sealed record EfPoint(int Ef, double Recall, double Qps, double[] QpsRuns, double? P50Us, double? P99Us, int Rounds, int Threads = 1);

/// <summary>Everything measured for one engine.</summary>
public sealed class EngineRun(string engine)
{
    /// <summary><c>vlink</c> or <c>hnswlib</c>.</summary>
    public string Engine { get; } = engine;

    /// <summary>Wall-clock seconds to insert every base vector (with <see cref="AnnSettings.BuildThreads"/> threads).</summary>
    public double BuildSeconds { get; set; }

    /// <summary>The headline memory figure: VLink's <c>MemoryBytes</c>; hnswlib's RSS growth across build.</summary>
    public long IndexBytes { get; set; }

    /// <summary>VLink only: bytes of full-precision vectors in a memory-mapped file (quantized, originals on disk); not in <see cref="IndexBytes"/>.</summary>
    public long MappedBytes { get; set; }

    /// <summary>Resident-set growth across the build (both engines; null off Linux).</summary>
    public long? RssDeltaBytes { get; set; }

    /// <summary>VLink only: managed-heap growth across the build, after full collections.</summary>
    public long? ManagedDeltaBytes { get; set; }

    /// <summary>hnswlib only: memory predicted from its data layout (vectors, links, labels, locks, id map).</summary>
    public long? FormulaBytes { get; set; }

    /// <summary>One entry per ef, in the order given.</summary>
    public List<EfPoint> Points { get; } = [];

    /// <summary>How p50/p99 were measured, when it differs from "per query inside the timed loop".</summary>
    public string? LatencyNote { get; set; }

    /// <summary>Warnings met while checking results (short or duplicate hits).</summary>
    public List<string> Warnings { get; } = [];
}

/// <summary>Recall and latency arithmetic shared by both engines, so they are scored identically.</summary>
public static class Scoring
{
    /// <summary>
    /// Mean over queries of |returned ∩ true top-k| / k. <paramref name="labels"/> holds k row numbers per query
    /// (−1 = no hit); a row returned twice counts once.
    /// </summary>
    public static double Recall(ReadOnlySpan<int> labels, RowMatrix<int> truth, int k, List<string>? warnings = null)
    {
        int nq = labels.Length / k;
        double sum = 0;
        int shortAnswers = 0, duplicates = 0;
        var seen = new HashSet<int>(k);
        var relevant = new HashSet<int>(k);
        for (int q = 0; q < nq; q++)
        {
            relevant.Clear();
            foreach (int t in truth.Row(q)[..k])
                relevant.Add(t);
            seen.Clear();
            int hits = 0;
            foreach (int label in labels.Slice(q * k, k))
            {
                if (label < 0)
                {
                    shortAnswers++;
                    continue;
                }

                if (!seen.Add(label))
                {
                    duplicates++;
                    continue;
                }

                if (relevant.Contains(label))
                    hits++;
            }

            sum += (double)hits / k;
        }

        if (warnings is not null && shortAnswers > 0)
            warnings.Add($"{shortAnswers} missing hits (fewer than k={k} results) over {nq} queries");
        if (warnings is not null && duplicates > 0)
            warnings.Add($"{duplicates} duplicate ids in results over {nq} queries");
        return nq == 0 ? 0 : sum / nq;
    }

    /// <summary>The median of a non-empty sample.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        double[] sorted = [.. values.Order()];
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile (0 &lt; p ≤ 100) of an ascending sample.</summary>
    public static double Percentile(double[] ascending, double p)
    {
        if (ascending.Length == 0)
            return double.NaN;
        int rank = (int)Math.Ceiling(p / 100 * ascending.Length);
        return ascending[Math.Clamp(rank - 1, 0, ascending.Length - 1)];
    }

    /// <summary>Resident set size of this process from <c>/proc/self/statm</c>, or null where unavailable.</summary>
    public static long? ResidentBytes()
    {
        try
        {
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
