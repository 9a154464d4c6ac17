using System.Diagnostics;
using VLink.Bench.Cli;
using VLink.Bench.Exact;
using VLink.Bench.Io;

namespace VLink.Bench.Synth;

/// <summary>
/// <c>synth</c>: a clustered Gaussian-mixture data set with held-out queries from the same distribution and exact
/// L2 ground truth.
/// </summary>
/// <remarks>
/// Model: <c>clusters</c> centres drawn from N(0, I). Each cluster has a random weight in [0.5, 1.5] (normalised),
/// a random permutation of the axes and a scale σₖ ∈ [0.5, 1.5]·σ; a point is centre + σₖ·sᵢ·zᵢ with zᵢ ~ N(0, 1) and
/// the decaying spectrum sᵢ = 1/√(1 + i/4) applied along the permuted axes, so each cluster has a low effective
/// dimension (≈ 4·ln(d/4): 14 at d = 128, 24 at d = 1536), as real embeddings do, with a different principal
/// subspace per cluster. σ puts the mean cluster radius at 0.35 of the typical distance between two centres.
/// Base points and queries come from independent random streams of the same seed.
/// </remarks>
public static class SynthCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["n", "dim", "clusters", "queries", "seed", "out-dir", "name", "k"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "synth --n 100000 --dim 128 --clusters 100 --queries 1000 --seed 1 --out-dir DIR [--name NAME] [--k 100]\n" +
        "      writes DIR/NAME_base.fvecs, DIR/NAME_query.fvecs, DIR/NAME_groundtruth.ivecs (exact top-k by L2)";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args)
    {
        int n = args.RequireInt("n", 1);
        int dim = args.RequireInt("dim", 1, 65_536);
        int clusters = args.GetInt("clusters", 100, 1);
        int nq = args.GetInt("queries", 1000, 1);
        int seed = args.GetInt("seed", 1, 0);
        int k = args.GetInt("k", 100, 1);
        string outDir = args.Require("out-dir");
        string name = args.Get("name") ?? "synth";
        if ((long)n * dim > Array.MaxLength || (long)nq * dim > Array.MaxLength)
            throw new UsageException("--n/--queries times --dim exceeds one array");

        var clock = Stopwatch.StartNew();
        var model = new MixtureModel(dim, clusters, (ulong)seed);
        RowMatrix<float> baseRows = model.Sample(n, new Rng((ulong)seed, 1));
        RowMatrix<float> queries = model.Sample(nq, new Rng((ulong)seed, 2));
        Console.Error.WriteLine($"synth: generated {n} base + {nq} query vectors of dimension {dim} in {clock.Elapsed.TotalSeconds:F1} s");

        clock.Restart();
        RowMatrix<int> truth = BruteForce.TopK(baseRows, queries, BenchMetric.L2, k, Console.Error.WriteLine);
        Console.Error.WriteLine($"synth: exact top-{truth.Dimension} (L2) in {clock.Elapsed.TotalSeconds:F1} s");

        Directory.CreateDirectory(outDir);
        string basePath = Path.Combine(outDir, $"{name}_base.fvecs");
        string queryPath = Path.Combine(outDir, $"{name}_query.fvecs");
        string truthPath = Path.Combine(outDir, $"{name}_groundtruth.ivecs");
        TexmexFormat.WriteFvecs(basePath, baseRows);
        TexmexFormat.WriteFvecs(queryPath, queries);
        TexmexFormat.WriteIvecs(truthPath, truth);

        Json.Line(w =>
        {
            w.WriteString("command", "synth");
            w.WriteString("base", basePath);
            w.WriteString("query", queryPath);
            w.WriteString("truth", truthPath);
            w.WriteNumber("n", n);
            w.WriteNumber("queries", nq);
            w.WriteNumber("dim", dim);
            w.WriteNumber("clusters", clusters);
            w.WriteNumber("seed", seed);
            w.WriteNumber("k", truth.Dimension);
        });
        return 0;
    }

    internal sealed class MixtureModel
    {
        private readonly int _dim;
        private readonly float[] _centres;
        private readonly int[] _axes;
        private readonly float[] _scale;
        private readonly double[] _cumulative;
        private readonly float[] _spectrum;

        public MixtureModel(int dim, int clusters, ulong seed)
        {
            _dim = dim;
            var rng = new Rng(seed, 0);
            _centres = new float[clusters * dim];
            for (int i = 0; i < _centres.Length; i++)
                _centres[i] = (float)rng.NextGaussian();

            _spectrum = new float[dim];
            double energy = 0;
            for (int i = 0; i < dim; i++)
            {
                _spectrum[i] = (float)(1 / Math.Sqrt(1 + (i / 4.0)));
                energy += _spectrum[i] * (double)_spectrum[i];
            }

            // Two N(0, I) centres lie √(2d) apart on average; a cluster of scale σ has RMS radius σ·√energy.
            double sigma = 0.35 * Math.Sqrt(2.0 * dim) / Math.Sqrt(energy);

            _axes = new int[clusters * dim];
            _scale = new float[clusters];
            _cumulative = new double[clusters];
            double total = 0;
            for (int c = 0; c < clusters; c++)
            {
                Span<int> axes = _axes.AsSpan(c * dim, dim);
                for (int i = 0; i < dim; i++)
                    axes[i] = i;
                for (int i = dim - 1; i > 0; i--)
                {
                    int j = rng.NextInt(i + 1);
                    (axes[i], axes[j]) = (axes[j], axes[i]);
                }

                _scale[c] = (float)(sigma * (0.5 + rng.NextDouble()));
                total += 0.5 + rng.NextDouble();
                _cumulative[c] = total;
            }

            for (int c = 0; c < clusters; c++)
                _cumulative[c] /= total;
        }

        public RowMatrix<float> Sample(int count, Rng rng)
        {
            var data = new float[count * _dim];
            for (int p = 0; p < count; p++)
            {
                int c = Array.BinarySearch(_cumulative, rng.NextDouble());
                c = c < 0 ? ~c : c;
                c = Math.Min(c, _scale.Length - 1);
                Span<float> row = data.AsSpan(p * _dim, _dim);
                ReadOnlySpan<float> centre = _centres.AsSpan(c * _dim, _dim);
                ReadOnlySpan<int> axes = _axes.AsSpan(c * _dim, _dim);
                float scale = _scale[c];
                centre.CopyTo(row);
                for (int i = 0; i < _dim; i++)
                    row[axes[i]] += scale * _spectrum[i] * (float)rng.NextGaussian();
            }

            return new RowMatrix<float>(data, count, _dim);
        }
    }
}
