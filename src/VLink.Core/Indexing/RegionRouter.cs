using VLink.Core.Vectors;

namespace VLink.Core.Indexing;

/// <summary>
/// A small routing index: one centroid per region (k-means over a sample of the data), which places a vector in the
/// region of its nearest centroid and orders the regions a query should visit. Euclidean collections cluster on
/// squared L2; Cosine and Dot cluster the directions (spherical k-means: unit vectors, nearest by largest dot product).
/// </summary>
public sealed class RegionRouter
{
    private readonly float[][] _centroids;

    /// <summary>A router over trained centroids (each of <paramref name="metric"/>'s space; see <see cref="Train"/>).</summary>
    /// <exception cref="ArgumentException">No centroids, or centroids of different lengths.</exception>
    public RegionRouter(IReadOnlyList<float[]> centroids, DistanceMetric metric)
    {
        ArgumentNullException.ThrowIfNull(centroids);
        if (centroids.Count == 0) throw new ArgumentException("A router needs at least one centroid.", nameof(centroids));
        int dimension = centroids[0].Length;
        if (centroids.Any(c => c is null || c.Length != dimension))
            throw new ArgumentException($"Every centroid must have {dimension} dimensions.", nameof(centroids));
        _centroids = [.. centroids];
        Metric = metric;
    }

    /// <summary>The regions' centroids, region i first.</summary>
    public IReadOnlyList<float[]> Centroids => _centroids;

    /// <summary>The metric the regions were made for.</summary>
    public DistanceMetric Metric { get; }

    /// <summary>How many regions there are.</summary>
    public int Count => _centroids.Length;

    /// <summary>The region of a vector: the one whose centroid is nearest.</summary>
    public int RegionOf(ReadOnlySpan<float> vector)
    {
        int best = 0;
        float bestDistance = float.MaxValue;
        for (int c = 0; c < _centroids.Length; c++)
        {
            float d = Distance(vector, _centroids[c]);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = c;
            }
        }
        return best;
    }

    /// <summary>The <paramref name="probes"/> regions nearest a query, nearest first (ties by region number).</summary>
    public int[] Nearest(ReadOnlySpan<float> query, int probes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probes, 1);
        probes = Math.Min(probes, _centroids.Length);
        var distances = new float[_centroids.Length];
        var order = new int[_centroids.Length];
        for (int c = 0; c < _centroids.Length; c++)
        {
            distances[c] = Distance(query, _centroids[c]);
            order[c] = c;
        }
        Array.Sort(order, (a, b) => distances[a] != distances[b] ? distances[a].CompareTo(distances[b]) : a.CompareTo(b));
        return order[..probes];
    }

    // Spherical regions rank by the largest dot product with the unit centroid; the query's own norm does not change
    // the order, so it need not be normalised.
    private float Distance(ReadOnlySpan<float> vector, float[] centroid) => Metric == DistanceMetric.Euclidean
        ? VectorKernels.SquaredEuclidean(vector, centroid)
        : -VectorKernels.Dot(vector, centroid);

    /// <summary>
    /// Lloyd's k-means with k-means++ seeding over <paramref name="sample"/>: <paramref name="regions"/> centroids after
    /// <paramref name="iterations"/> rounds (fewer when the assignment stops changing). Deterministic for a seed.
    /// </summary>
    /// <param name="sample">The training vectors (at least <paramref name="regions"/>, all of one dimension, finite).</param>
    /// <param name="regions">Centroids wanted.</param>
    /// <param name="metric">Euclidean: plain k-means; Cosine and Dot: spherical k-means on unit vectors.</param>
    /// <param name="iterations">Lloyd rounds at most.</param>
    /// <param name="seed">Seeds the k-means++ draws.</param>
    /// <exception cref="ArgumentException">Fewer vectors than regions, or vectors of different lengths.</exception>
    public static RegionRouter Train(IReadOnlyList<float[]> sample, int regions, DistanceMetric metric, int iterations = 15, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentOutOfRangeException.ThrowIfLessThan(regions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (sample.Count < regions)
            throw new ArgumentException($"k-means of {regions} regions needs at least {regions} vectors; got {sample.Count}.", nameof(sample));
        int dim = sample[0].Length;
        bool spherical = metric != DistanceMetric.Euclidean;
        var points = new float[sample.Count][];
        for (int i = 0; i < sample.Count; i++)
        {
            if (sample[i].Length != dim) throw new ArgumentException($"sample[{i}] has {sample[i].Length} dimensions, not {dim}.", nameof(sample));
            points[i] = spherical ? Unit(sample[i]) : sample[i];
        }

        var router = new RegionRouter(Seed(points, regions, spherical, new Random(seed)), metric);
        var assignment = new int[points.Length];
        Array.Fill(assignment, -1);
        for (int round = 0; round < iterations; round++)
        {
            int changed = 0;
            var current = router;
            Parallel.For(0, points.Length, () => 0, (i, _, local) =>
            {
                int region = current.RegionOf(points[i]);
                if (region != assignment[i])
                {
                    assignment[i] = region;
                    local++;
                }
                return local;
            }, local => Interlocked.Add(ref changed, local));
            if (changed == 0) break;

            var sums = new double[regions][];
            var counts = new int[regions];
            for (int c = 0; c < regions; c++) sums[c] = new double[dim];
            for (int i = 0; i < points.Length; i++)
            {
                int c = assignment[i];
                counts[c]++;
                var row = points[i];
                var sum = sums[c];
                for (int j = 0; j < dim; j++) sum[j] += row[j];
            }
            var centroids = new float[regions][];
            for (int c = 0; c < regions; c++)
            {
                // An empty region keeps its centroid.
                centroids[c] = counts[c] == 0 ? current._centroids[c] : [.. sums[c].Select(s => (float)(s / counts[c]))];
                if (spherical && counts[c] > 0) centroids[c] = Unit(centroids[c]);
            }
            router = new RegionRouter(centroids, metric);
        }
        return router;
    }

    private static float[][] Seed(float[][] points, int regions, bool spherical, Random random)
    {
        var centroids = new float[regions][];
        centroids[0] = [.. points[random.Next(points.Length)]];
        var nearest = new double[points.Length];
        Array.Fill(nearest, double.MaxValue);
        for (int c = 1; c < regions; c++)
        {
            double total = 0;
            for (int i = 0; i < points.Length; i++)
            {
                double d = spherical
                    ? Math.Max(0, 1 - VectorKernels.Dot(points[i], centroids[c - 1]))
                    : VectorKernels.SquaredEuclidean(points[i], centroids[c - 1]);
                nearest[i] = Math.Min(nearest[i], d);
                total += nearest[i];
            }
            int chosen = random.Next(points.Length);
            if (total > 0)
            {
                double target = random.NextDouble() * total;
                for (int i = 0; i < points.Length; i++)
                {
                    target -= nearest[i];
                    if (target <= 0)
                    {
                        chosen = i;
                        break;
                    }
                }
            }
            centroids[c] = [.. points[chosen]];
        }
        return centroids;
    }

    private static float[] Unit(float[] v)
    {
        var copy = (float[])v.Clone();
        if (VectorKernels.Norm(copy) > 0) VectorKernels.Normalize(copy);
        return copy;
    }
}
