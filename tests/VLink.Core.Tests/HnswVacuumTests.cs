using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;
using Xunit.Abstractions;

namespace VLink.Core.Tests;

/// <summary>
/// Slots of deleted and replaced points are reclaimed: re-upserting every point keeps memory and recall at those of
/// a fresh build of the final data, searches running while the index vacuums never see a deleted id, and a vacuumed
/// index keeps its ids, vectors and file round trip.
/// </summary>
public class HnswVacuumTests(ITestOutputHelper output)
{
    private const int Dim = 32;
    private const double MemoryBound = 1.25;
    private const double RecallSlack = 0.005;
    private static readonly HnswOptions Options = new() { EfConstruction = 100 };

    /// <summary>Memory ratio and recall of <paramref name="churned"/> against a fresh build of <paramref name="final"/> in id order.</summary>
    private static (double MemoryRatio, double Recall, double FreshRecall) CompareWithFresh(
        HnswIndex churned, Dictionary<PointId, float[]> final, float[][] queries, HnswOptions? options = null, DistanceMetric metric = DistanceMetric.Euclidean)
    {
        using var fresh = new HnswIndex(churned.Dimension, metric, options ?? Options);
        foreach (var (id, vector) in final.OrderBy(p => p.Key)) fresh.Upsert(id, vector);
        var reference = TestData.Reference(metric);
        double recall = TestData.MeanRecall(churned, final, queries, 10, reference);
        double freshRecall = TestData.MeanRecall(fresh, final, queries, 10, reference);
        return ((double)churned.MemoryBytes / fresh.MemoryBytes, recall, freshRecall);
    }

    private void AssertLikeFresh((double MemoryRatio, double Recall, double FreshRecall) c, string what)
    {
        output.WriteLine($"{what}: memory {c.MemoryRatio:F3}× a fresh build, recall@10 {c.Recall:F4} (fresh {c.FreshRecall:F4})");
        Assert.True(c.MemoryRatio <= MemoryBound, $"{what}: memory {c.MemoryRatio:F3}× a fresh build");
        Assert.True(c.Recall >= c.FreshRecall - RecallSlack, $"{what}: recall@10 {c.Recall:F4}, fresh build {c.FreshRecall:F4}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reupserting_every_point_three_times_keeps_the_memory_and_recall_of_a_fresh_build(bool newVectors)
    {
        const int n = 20_000;
        var data = TestData.Clustered(4 * n, 300, Dim, 40, seed: 71);
        using var index = new HnswIndex(Dim, DistanceMetric.Euclidean, Options);
        var current = new Dictionary<PointId, float[]>(n);
        for (int i = 0; i < n; i++)
        {
            index.Upsert((ulong)i, data.Points[i]);
            current[(ulong)i] = data.Points[i];
        }
        var rng = new Random(72);
        for (int round = 1; round <= 3; round++)
        {
            var order = Enumerable.Range(0, n).ToArray();
            rng.Shuffle(order);
            foreach (int i in order)
            {
                var vector = newVectors ? data.Points[round * n + i] : data.Points[i];
                index.Upsert((ulong)i, vector);
                current[(ulong)i] = vector;
            }
            Assert.True(index.Tombstones <= index.Capacity * 0.2, $"round {round}: {index.Tombstones} tombstones in {index.Capacity} slots");
        }

        Assert.Equal(n, index.Count);
        Assert.Equal(current.Keys.Order(), index.Ids().Order());
        output.WriteLine($"DIAG tombstones {index.Tombstones} capacity {index.Capacity} recall {TestData.MeanRecall(index, current, data.Queries, 10, TestData.L2):F4}");
        index.Vacuum();
        output.WriteLine($"DIAG after vacuum recall {TestData.MeanRecall(index, current, data.Queries, 10, TestData.L2):F4} edges {index.Inspect().EdgeCount}");
        AssertLikeFresh(CompareWithFresh(index, current, data.Queries), newVectors ? "new vectors" : "same vectors");
        TestData.AssertEntryPointOnTopLayer(index);
    }
}
