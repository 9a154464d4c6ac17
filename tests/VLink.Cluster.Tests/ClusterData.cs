using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>Seeded clustered vectors and the brute-force truth to hold the cluster's answers against.</summary>
public static class ClusterData
{
    public static float[][] Clustered(int count, int dimension, int clusters, int seed)
    {
        var random = new Random(seed);
        var centres = new float[clusters][];
        for (int c = 0; c < clusters; c++)
        {
            centres[c] = new float[dimension];
            for (int j = 0; j < dimension; j++) centres[c][j] = (float)(random.NextDouble() * 4 - 2);
        }
        var data = new float[count][];
        for (int i = 0; i < count; i++)
        {
            var centre = centres[random.Next(clusters)];
            data[i] = new float[dimension];
            for (int j = 0; j < dimension; j++)
            {
                double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
                data[i][j] = centre[j] + (float)(0.6 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
        }
        return data;
    }

    public static CollectionSpec HashSpec(string name, int dimension, int partitions, int flatThreshold) =>
        new(name, dimension, DistanceMetric.Euclidean, PartitionScheme.Hash, partitions, new HnswOptions { M = 12, EfConstruction = 100, EfSearch = 32 }, flatThreshold);

    public static List<PointWrite> Points(float[][] vectors, int firstId = 0) =>
        [.. vectors.Select((v, i) => new PointWrite((ulong)(firstId + i), v, System.Text.Encoding.UTF8.GetBytes($$"""{"n":{{firstId + i}}}""")))];

    public static FlatIndex Truth(float[][] vectors, int firstId = 0)
    {
        var flat = new FlatIndex(vectors[0].Length, DistanceMetric.Euclidean);
        for (int i = 0; i < vectors.Length; i++) flat.Upsert((ulong)(firstId + i), vectors[i]);
        return flat;
    }

    public static double Recall(IReadOnlyList<SearchHit> found, IReadOnlyList<SearchHit> truth)
    {
        var expected = truth.Select(h => h.Id).ToHashSet();
        return truth.Count == 0 ? 1 : found.Count(h => expected.Contains(h.Id)) / (double)truth.Count;
    }
}
