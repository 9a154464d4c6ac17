using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

public class RegionRouterTests
{
    private static float[][] Groups(int perGroup, params float[][] centres)
    {
        var random = new Random(3);
        return [.. centres.SelectMany(c => Enumerable.Range(0, perGroup)
            .Select(_ => c.Select(x => x + (float)(random.NextDouble() - 0.5) * 0.2f).ToArray()))];
    }

    [Fact]
    public void K_means_finds_separated_groups_and_routes_queries_to_the_nearest_first()
    {
        var sample = Groups(50, [0, 0], [10, 0], [0, 10]);
        var router = RegionRouter.Train(sample, 3, DistanceMetric.Euclidean);
        Assert.Equal(3, router.Count);
        // Every group lands whole in one region, and different groups in different regions.
        var regions = Enumerable.Range(0, 3).Select(g => sample.Skip(g * 50).Take(50).Select(v => router.RegionOf(v)).Distinct().Single()).ToList();
        Assert.Equal(3, regions.Distinct().Count());
        var centroid = router.Centroids[regions[1]];
        Assert.InRange(centroid[0], 9.8f, 10.2f);
        Assert.InRange(centroid[1], -0.2f, 0.2f);

        int[] order = router.Nearest([9, 1], 3);
        Assert.Equal([regions[1], regions[0], regions[2]], order);
        Assert.Equal([regions[1]], router.Nearest([9, 1], 1));
        Assert.Equal(3, router.Nearest([9, 1], 10).Length);
        Assert.Equal(router.Centroids, RegionRouter.Train(sample, 3, DistanceMetric.Euclidean).Centroids); // deterministic for a seed
    }

    [Fact]
    public void Cosine_regions_group_directions_whatever_the_length()
    {
        var sample = Groups(40, [1, 0], [0, 1], [-1, 0]).Select((v, i) => v.Select(x => x * (1 + i % 5)).ToArray()).ToArray();
        var router = RegionRouter.Train(sample, 3, DistanceMetric.Cosine);
        Assert.All(router.Centroids, c => Assert.InRange(VectorKernels.Norm(c), 0.999f, 1.001f));
        Assert.Equal(router.RegionOf([0.1f, 5]), router.RegionOf([0.001f, 0.05f]));
        Assert.NotEqual(router.RegionOf([0, 1]), router.RegionOf([1, 0]));
    }

    [Fact]
    public void Training_needs_as_many_vectors_as_regions_of_one_dimension()
    {
        Assert.Contains("at least 3", Assert.Throws<ArgumentException>(() => RegionRouter.Train([[1f], [2f]], 3, DistanceMetric.Euclidean)).Message);
        Assert.Contains("sample[1]", Assert.Throws<ArgumentException>(() => RegionRouter.Train([[1f], [2f, 3f]], 1, DistanceMetric.Euclidean)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RegionRouter([[1f]], DistanceMetric.Euclidean).Nearest([1f], 0));
    }
}
