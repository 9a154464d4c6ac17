using System.Diagnostics;
using VLink.Bench.Cli;
using VLink.Bench.Io;

namespace VLink.Bench.Exact;

/// <summary><c>truth</c>: exact top-k neighbours of every query, written as <c>.ivecs</c> (row numbers of the base file).</summary>
public static class TruthCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["base", "query", "metric", "k", "out", "limit-queries"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "truth --base B.fvecs --query Q.fvecs --metric l2|cosine|dot --k 100 --out T.ivecs [--limit-queries N]";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args)
    {
        string basePath = args.Require("base");
        string queryPath = args.Require("query");
        BenchMetric metric = BruteForce.ParseMetric(args.GetChoice("metric", null, "l2", "cosine", "dot"));
        int k = args.GetInt("k", 100, 1);
        string outPath = args.Require("out");
        int limit = args.GetInt("limit-queries", int.MaxValue, 1);

        RowMatrix<float> baseRows = TexmexFormat.ReadFvecs(basePath);
        RowMatrix<float> queries = TexmexFormat.ReadFvecs(queryPath, limit);
        if (baseRows.Dimension != queries.Dimension)
            throw new BenchInputException($"{queryPath}: vector 0: dimension {queries.Dimension}, but the base file {basePath} has dimension {baseRows.Dimension}");

        var clock = Stopwatch.StartNew();
        RowMatrix<int> truth = BruteForce.TopK(baseRows, queries, metric, k, Console.Error.WriteLine);
        Console.Error.WriteLine(
            $"truth: exact top-{truth.Dimension} ({BruteForce.Name(metric)}) of {queries.Count} queries over {baseRows.Count} vectors in {clock.Elapsed.TotalSeconds:F1} s");
        TexmexFormat.WriteIvecs(outPath, truth);

        Json.Line(w =>
        {
            w.WriteString("command", "truth");
            w.WriteString("out", outPath);
            w.WriteString("metric", BruteForce.Name(metric));
            w.WriteNumber("n", baseRows.Count);
            w.WriteNumber("queries", queries.Count);
            w.WriteNumber("dim", baseRows.Dimension);
            w.WriteNumber("k", truth.Dimension);
            w.WriteRounded("seconds", clock.Elapsed.TotalSeconds, 2);
        });
        return 0;
    }
}
