using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>A generated data set: indexed points and held-out queries drawn from the same distribution.</summary>
internal sealed record Dataset(float[][] Points, int[] Labels, float[][] Queries, int[] QueryLabels);

/// <summary>One entry of a brute-force ground truth, computed in double precision.</summary>
internal readonly record struct Truth(PointId Id, double Distance);

/// <summary>
/// Shared helpers: seeded data generators, a double-precision brute-force reference and recall.
/// Nothing here calls the code under test to compute an expected value.
/// </summary>
internal static class TestData
{
    /// <summary>Standard normal sample (Box–Muller).</summary>
    public static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(); // (0, 1]
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Uniform values in [min, max).</summary>
    public static float[] Uniform(Random rng, int dimension, float min = -1f, float max = 1f)
    {
        var v = new float[dimension];
        for (int i = 0; i < v.Length; i++)
            v[i] = (float)(min + (max - min) * rng.NextDouble());
        return v;
    }

    /// <summary>
    /// A Gaussian mixture. Cluster centres are N(0, 1) per component. Each cluster has a diagonal covariance whose
    /// standard deviations decay geometrically, σᵢ = spread·s·exp(-i / (decay·dimension)), with a randomly permuted
    /// profile and a random scale s ∈ [0.7, 1.3] per cluster. The defaults (spread 1.5, decay 1) give wide, overlapping,
    /// nearly isotropic clusters, so neighbourhoods are not trivially separated. Points get a random cluster, so ids
    /// are not correlated with clusters. Queries are fresh samples of the same mixture.
    /// </summary>
    public static Dataset Clustered(int count, int queryCount, int dimension, int clusters, int seed, double spread = 1.5, double decay = 1.0)
    {
        var rng = new Random(seed);
        var centres = new double[clusters][];
        var sigmas = new double[clusters][];
        for (int c = 0; c < clusters; c++)
        {
            centres[c] = new double[dimension];
            for (int i = 0; i < dimension; i++)
                centres[c][i] = Gaussian(rng);

            double scale = spread * (0.7 + 0.6 * rng.NextDouble());
            var profile = new double[dimension];
            for (int i = 0; i < dimension; i++)
                profile[i] = scale * Math.Exp(-i / (dimension * decay));
            rng.Shuffle(profile);
            sigmas[c] = profile;
        }

        float[] Sample(out int label)
        {
            label = rng.Next(clusters);
            var v = new float[dimension];
            for (int i = 0; i < dimension; i++)
                v[i] = (float)(centres[label][i] + sigmas[label][i] * Gaussian(rng));
            return v;
        }

        var points = new float[count][];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
            points[n] = Sample(out labels[n]);

        var queries = new float[queryCount][];
        var queryLabels = new int[queryCount];
        for (int q = 0; q < queryCount; q++)
            queries[q] = Sample(out queryLabels[q]);

        return new Dataset(points, labels, queries, queryLabels);
    }

    // ---------------------------------------------------------------- reference distances (double precision)

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += (double)a[i] * b[i];
        return s;
    }

    public static double SquaredEuclidean(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            s += d * d;
        }
        return s;
    }

    public static double Norm(ReadOnlySpan<float> a) => Math.Sqrt(Dot(a, a));

    public static double CosineDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        1.0 - Dot(a, b) / (Norm(a) * Norm(b));

    public static double Manhattan(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += Math.Abs((double)a[i] - b[i]);
        return s;
    }

    /// <summary>Reference distances as delegates over arrays.</summary>
    public static readonly Func<float[], float[], double> L2 = (a, b) => SquaredEuclidean(a, b);
    public static readonly Func<float[], float[], double> L1 = (a, b) => Manhattan(a, b);
    public static readonly Func<float[], float[], double> Cos = (a, b) => CosineDistance(a, b);

    /// <summary>A custom metric for the indices, computed independently of the library's kernels.</summary>
    public static float ManhattanFloat(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++)
            s += MathF.Abs(a[i] - b[i]);
        return s;
    }

    /// <summary>The documented distance of each metric, in double precision, on the raw (unnormalised) vectors.</summary>
    public static Func<float[], float[], double> Reference(DistanceMetric metric) => metric switch
    {
        DistanceMetric.Cosine => (a, b) => CosineDistance(a, b),
        DistanceMetric.Dot => (a, b) => 1.0 - Dot(a, b),
        DistanceMetric.Euclidean => (a, b) => SquaredEuclidean(a, b),
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    /// <summary>
    /// How far a float32 computation of the distance may stray from the double reference: relative to the size of the
    /// terms summed (rounding error of a dot product scales with Σ|aᵢbᵢ|, not with the possibly cancelled result).
    /// </summary>
    public static double Tolerance(DistanceMetric metric, float[] a, float[] b)
    {
        double scale = metric switch
        {
            DistanceMetric.Cosine => 1.0,
            DistanceMetric.Dot => AbsDot(a, b),
            DistanceMetric.Euclidean => SquaredEuclidean(a, b) + AbsDot(a, a) + AbsDot(b, b),
            _ => Manhattan(a, b) + AbsSum(a) + AbsSum(b),
        };
        return 1e-4 * (1.0 + scale);
    }

    private static double AbsDot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += Math.Abs((double)a[i] * b[i]);
        return s;
    }

    private static double AbsSum(float[] a)
    {
        double s = 0;
        foreach (float x in a)
            s += Math.Abs(x);
        return s;
    }

    // ---------------------------------------------------------------- brute force and recall

    /// <summary>Exact top-k by the reference distance, ordered by (distance, id).</summary>
    public static Truth[] BruteForce(
        IEnumerable<KeyValuePair<PointId, float[]>> points,
        float[] query,
        int k,
        Func<float[], float[], double> distance,
        Func<PointId, bool>? filter = null)
    {
        var all = new List<Truth>();
        foreach (var (id, vector) in points)
        {
            if (filter is null || filter(id))
                all.Add(new Truth(id, distance(query, vector)));
        }
        all.Sort((x, y) =>
        {
            int c = x.Distance.CompareTo(y.Distance);
            return c != 0 ? c : x.Id.CompareTo(y.Id);
        });
        return all.Take(k).ToArray();
    }

    /// <summary>Points keyed by their numeric id = position.</summary>
    public static Dictionary<PointId, float[]> ById(float[][] points)
    {
        var map = new Dictionary<PointId, float[]>(points.Length);
        for (int i = 0; i < points.Length; i++)
            map[new PointId((ulong)i)] = points[i];
        return map;
    }

    /// <summary>|returned ∩ truth| / |truth|; 1 when the truth is empty and nothing was returned.</summary>
    public static double Recall(IReadOnlyList<SearchHit> returned, IReadOnlyList<Truth> truth)
    {
        if (truth.Count == 0)
            return returned.Count == 0 ? 1.0 : 0.0;
        var expected = truth.Select(t => t.Id).ToHashSet();
        int found = returned.Count(h => expected.Contains(h.Id));
        return (double)found / truth.Count;
    }

    /// <summary>Mean recall of an index over queries, against the brute-force truth.</summary>
    public static double MeanRecall(
        IVectorIndex index,
        IReadOnlyDictionary<PointId, float[]> live,
        IReadOnlyList<float[]> queries,
        int k,
        Func<float[], float[], double> distance,
        SearchOptions? options = null,
        Func<PointId, bool>? filter = null)
    {
        double sum = 0;
        foreach (var q in queries)
        {
            var hits = index.Search(q, k, options);
            var truth = BruteForce(live, q, k, distance, filter);
            sum += Recall(hits, truth);
        }
        return sum / queries.Count;
    }

    // ---------------------------------------------------------------- assertions

    /// <summary>Hits strictly ordered by (distance, id): sorted and without duplicate ids.</summary>
    public static void AssertOrdered(IReadOnlyList<SearchHit> hits)
    {
        for (int i = 1; i < hits.Count; i++)
        {
            var prev = hits[i - 1];
            var cur = hits[i];
            bool ok = prev.Distance < cur.Distance || (prev.Distance == cur.Distance && prev.Id.CompareTo(cur.Id) < 0);
            Assert.True(ok, $"hits out of order at {i}: ({prev.Id}, {prev.Distance}) then ({cur.Id}, {cur.Distance})");
        }
        Assert.Equal(hits.Count, hits.Select(h => h.Id).Distinct().Count());
    }

    /// <summary>Every hit's reported distance agrees with the reference distance of the stored vector of that id.</summary>
    public static void AssertDistancesMatch(
        IReadOnlyList<SearchHit> hits,
        float[] query,
        IReadOnlyDictionary<PointId, float[]> vectors,
        Func<float[], float[], double> distance,
        Func<float[], float[], double> tolerance)
    {
        foreach (var hit in hits)
        {
            Assert.True(vectors.TryGetValue(hit.Id, out var v), $"hit {hit.Id} is not a known point");
            double expected = distance(query, v!);
            double tol = tolerance(query, v!);
            Assert.True(Math.Abs(hit.Distance - expected) <= tol,
                $"distance of {hit.Id}: got {hit.Distance}, reference {expected} (tolerance {tol})");
        }
    }

    /// <summary>
    /// The hits are an exact top-k: same count as the truth, ordered, each distance right, the i-th distance equal to
    /// the i-th true distance, and no hit farther than the k-th true neighbour (ids may only differ among near-ties).
    /// </summary>
    public static void AssertExactTopK(
        IReadOnlyList<SearchHit> hits,
        IReadOnlyList<Truth> truth,
        float[] query,
        IReadOnlyDictionary<PointId, float[]> vectors,
        Func<float[], float[], double> distance,
        Func<float[], float[], double> tolerance)
    {
        Assert.Equal(truth.Count, hits.Count);
        AssertOrdered(hits);
        AssertDistancesMatch(hits, query, vectors, distance, tolerance);
        for (int i = 0; i < hits.Count; i++)
        {
            double tol = tolerance(query, vectors[truth[i].Id]);
            Assert.True(Math.Abs(hits[i].Distance - truth[i].Distance) <= tol,
                $"rank {i}: got ({hits[i].Id}, {hits[i].Distance}), truth ({truth[i].Id}, {truth[i].Distance})");
        }
    }

    public static bool IsNaNOrInfinityMessage(string message) =>
        message.Contains("NaN", StringComparison.Ordinal) || message.Contains("infinit", StringComparison.OrdinalIgnoreCase);

    /// <summary>Builds an HNSW index over points keyed 0..n-1.</summary>
    public static HnswIndex BuildHnsw(float[][] points, DistanceMetric metric, HnswOptions? options = null)
    {
        var index = new HnswIndex(points[0].Length, metric, options);
        for (int i = 0; i < points.Length; i++)
            index.Upsert((ulong)i, points[i]);
        return index;
    }

    public static FlatIndex BuildFlat(float[][] points, DistanceMetric metric)
    {
        var index = new FlatIndex(points[0].Length, metric);
        for (int i = 0; i < points.Length; i++)
            index.Upsert((ulong)i, points[i]);
        return index;
    }

    /// <summary>Every neighbour list gathered through the public API: layer → id → neighbours.</summary>
    public static List<Dictionary<PointId, IReadOnlyList<PointId>>> GatherGraph(HnswIndex index)
    {
        var info = index.Inspect();
        var layers = new List<Dictionary<PointId, IReadOnlyList<PointId>>>();
        var ids = index.Ids();
        for (int layer = 0; layer < info.LayerCount; layer++)
        {
            var lists = new Dictionary<PointId, IReadOnlyList<PointId>>();
            foreach (var id in ids)
            {
                IReadOnlyList<PointId> neighbours;
                try
                {
                    neighbours = index.Neighbours(id, layer);
                }
                catch (ArgumentException) when (layer > 0)
                {
                    continue; // the node does not reach this layer
                }
                lists[id] = neighbours;
            }
            layers.Add(lists);
        }
        return layers;
    }

    /// <summary>
    /// The entry point is live and sits on the top layer. A node's level shows through its links: on every layer that
    /// holds other live nodes, the entry point must have neighbours.
    /// </summary>
    public static void AssertEntryPointOnTopLayer(HnswIndex index)
    {
        var info = index.Inspect();
        Assert.NotNull(info.EntryPoint);
        var entry = info.EntryPoint!.Value;
        Assert.True(index.Contains(entry), $"entry point {entry} is not a live point");
        for (int layer = 0; layer < info.LayerCount; layer++)
        {
            if (info.NodesPerLayer[layer] > 1)
                Assert.True(index.Neighbours(entry, layer).Count > 0,
                    $"entry point {entry} has no links on layer {layer} (layers: {string.Join(", ", info.NodesPerLayer)})");
        }
    }

    /// <summary>Sum of all neighbour-list lengths over the live ids, as gathered through <see cref="HnswIndex.Neighbours"/>.</summary>
    public static long GatheredEdgeCount(HnswIndex index) =>
        GatherGraph(index).Sum(layer => layer.Values.Sum(list => (long)list.Count));

    public static void AssertSameInfo(HnswGraphInfo expected, HnswGraphInfo actual)
    {
        Assert.Equal(expected.LayerCount, actual.LayerCount);
        Assert.Equal(expected.NodesPerLayer, actual.NodesPerLayer);
        Assert.Equal(expected.EntryPoint, actual.EntryPoint);
        Assert.Equal(expected.EdgeCount, actual.EdgeCount);
    }
}
