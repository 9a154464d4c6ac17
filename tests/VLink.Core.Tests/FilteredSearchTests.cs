using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>A 10k × 32 Euclidean HNSW index shared by the filtered-search tests.</summary>
public sealed class FilterFixture : IDisposable
{
    public const int Count = 10_000;
    public const int Dim = 32;

    internal Dataset Data { get; } = TestData.Clustered(Count, 100, Dim, 20, seed: 4242);

    internal Dictionary<PointId, float[]> Points { get; }

    internal HnswIndex Index { get; }

    public FilterFixture()
    {
        Points = TestData.ById(Data.Points);
        Index = TestData.BuildHnsw(Data.Points, DistanceMetric.Euclidean);
    }

    public void Dispose() => Index.Dispose();
}

public class FilteredSearchTests(FilterFixture fixture) : IClassFixture<FilterFixture>
{
    private static Func<float[], float[], double> Tol => (a, b) => TestData.Tolerance(DistanceMetric.Euclidean, a, b);

    /// <summary>Admits ids whose scrambled value falls below the percentage (ids are not correlated with clusters).</summary>
    private static Func<PointId, bool> Percent(int percent) =>
        id => id.IsNumber && (id.Number * 2654435761UL >> 7) % 100 < (ulong)percent;

    public static TheoryData<int, bool> Selectivities => new()
    {
        { 1, false }, { 1, true }, { 10, false }, { 10, true }, { 50, false }, { 50, true },
    };

    [Theory]
    [MemberData(nameof(Selectivities))]
    public void FilteredRecall_IsAtLeast09_AndEveryHitMatches(int percent, bool asIdSet)
    {
        var predicate = Percent(percent);
        var matching = fixture.Points.Keys.Where(predicate).ToArray();
        Assert.InRange(matching.Length, FilterFixture.Count * percent / 200, FilterFixture.Count * percent * 2 / 100);

        IPointFilter filter = asIdSet ? new IdSetFilter(matching) : new PredicateFilter(predicate);
        var options = new SearchOptions { Filter = filter };
        const int k = 10;

        double recallSum = 0;
        foreach (var q in fixture.Data.Queries)
        {
            var hits = fixture.Index.Search(q, k, options);
            Assert.Equal(k, hits.Count); // at least k points match
            Assert.All(hits, h => Assert.True(predicate(h.Id), $"{h.Id} does not match the filter"));
            TestData.AssertOrdered(hits);
            TestData.AssertDistancesMatch(hits, q, fixture.Points, TestData.L2, Tol);
            var truth = TestData.BruteForce(fixture.Points, q, k, TestData.L2, predicate);
            recallSum += TestData.Recall(hits, truth);
        }
        double recall = recallSum / fixture.Data.Queries.Length;
        Assert.True(recall >= 0.9, $"filtered recall@10 at {percent}% selectivity ({(asIdSet ? "id set" : "predicate")}) = {recall:F4}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FilterMatchingThreePoints_ReturnsExactlyThoseThree(bool asIdSet)
    {
        PointId[] three = [17UL, 4321UL, 9876UL];
        IPointFilter filter = asIdSet ? new IdSetFilter(three) : new PredicateFilter(id => three.Contains(id));
        foreach (var q in fixture.Data.Queries.Take(10))
        {
            var hits = fixture.Index.Search(q, 10, new SearchOptions { Filter = filter });
            var truth = TestData.BruteForce(fixture.Points, q, 10, TestData.L2, three.Contains);
            Assert.Equal(3, truth.Length);
            TestData.AssertExactTopK(hits, truth, q, fixture.Points, TestData.L2, Tol);
        }
    }

    [Fact]
    public void FilterMatchingNothing_ReturnsNothing()
    {
        var none = new PredicateFilter(_ => false);
        Assert.Empty(fixture.Index.Search(fixture.Data.Queries[0], 10, new SearchOptions { Filter = none }));
        Assert.Empty(fixture.Index.Search(fixture.Data.Queries[0], 10, new SearchOptions { Filter = new IdSetFilter([]) }));
        Assert.Empty(fixture.Index.Search(fixture.Data.Queries[0], 10, new SearchOptions { Filter = new IdSetFilter(["nope", 99_999UL]) }));
    }

    [Fact]
    public void FilterAdmittingOnlyOneCluster_FindsThatClustersNearest()
    {
        // Well-separated clusters. The admitted points all lie in one cluster, far from queries of the other
        // clusters: the traversal has to cross rejected regions (or fall back to a scan) and still return k points.
        var data = TestData.Clustered(5000, 60, FilterFixture.Dim, 10, seed: 4245, spread: 0.6, decay: 0.25);
        var points = TestData.ById(data.Points);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean);
        int cluster = data.Labels[0];
        var inCluster = Enumerable.Range(0, data.Points.Length)
            .Where(i => data.Labels[i] == cluster).Select(i => new PointId((ulong)i)).ToHashSet();
        var options = new SearchOptions { Filter = new PredicateFilter(inCluster.Contains) };

        double recallSum = 0;
        var queries = data.Queries.Where((_, i) => data.QueryLabels[i] != cluster).Take(40).ToArray();
        foreach (var q in queries)
        {
            var hits = index.Search(q, 10, options);
            Assert.Equal(10, hits.Count);
            Assert.All(hits, h => Assert.Contains(h.Id, inCluster));
            recallSum += TestData.Recall(hits, TestData.BruteForce(points, q, 10, TestData.L2, inCluster.Contains));
        }
        double recall = recallSum / queries.Length;
        Assert.True(recall >= 0.9, $"recall@10 with a single-cluster filter ({inCluster.Count} points) = {recall:F4}");
    }

    [Fact]
    public void ExactFilteredSearch_EqualsFlatIndex()
    {
        using var flat = TestData.BuildFlat(fixture.Data.Points, DistanceMetric.Euclidean);
        foreach (int percent in new[] { 1, 10, 50 })
        {
            var filter = new PredicateFilter(id => Percent(percent)(id));
            foreach (var q in fixture.Data.Queries.Take(15))
            {
                Assert.Equal(
                    flat.Search(q, 10, new SearchOptions { Filter = filter }),
                    fixture.Index.Search(q, 10, new SearchOptions { Filter = filter, Exact = true }));
            }
        }
    }

    [Fact]
    public void FilteredBatch_EqualsIndividualSearches()
    {
        var options = new SearchOptions { Filter = new IdSetFilter(fixture.Points.Keys.Where(Percent(10))) };
        var queries = fixture.Data.Queries.Take(25).ToArray();
        var batch = fixture.Index.SearchBatch(queries, 10, options);
        for (int i = 0; i < queries.Length; i++)
            Assert.Equal(fixture.Index.Search(queries[i], 10, options), batch[i]);
    }

    [Fact]
    public void FilterIncludingDeletedIds_NeverReturnsThem()
    {
        var data = TestData.Clustered(3000, 30, FilterFixture.Dim, 10, seed: 4243);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean);
        var live = TestData.ById(data.Points);
        var admitted = Enumerable.Range(0, 3000).Where(i => i % 5 == 0).Select(i => new PointId((ulong)i)).ToArray();
        var deleted = admitted.Where((_, j) => j % 2 == 0).ToHashSet();
        foreach (var id in deleted)
        {
            Assert.True(index.Delete(id));
            live.Remove(id);
        }
        var admittedSet = admitted.ToHashSet();
        var filter = new IdSetFilter(admitted);
        foreach (var q in data.Queries.Concat(deleted.Take(30).Select(id => data.Points[(int)id.Number])))
        {
            var hits = index.Search(q, 10, new SearchOptions { Filter = filter });
            Assert.Equal(10, hits.Count);
            Assert.All(hits, h =>
            {
                Assert.DoesNotContain(h.Id, deleted);
                Assert.Contains(h.Id, admittedSet);
            });
            var exact = index.Search(q, 10, new SearchOptions { Filter = filter, Exact = true });
            var truth = TestData.BruteForce(live, q, 10, TestData.L2, admittedSet.Contains);
            TestData.AssertExactTopK(exact, truth, q, live, TestData.L2, Tol);
        }
    }

    [Fact]
    public void LowSelectivityThreshold_StillGivesCorrectAnswers()
    {
        // Forcing the graph walk (threshold 0) and forcing the scan (threshold 1) both honour the filter.
        var data = TestData.Clustered(3000, 30, FilterFixture.Dim, 10, seed: 4244);
        var points = TestData.ById(data.Points);
        var predicate = Percent(5);
        foreach (double threshold in new[] { 0.0, 1.0 })
        {
            using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean,
                new HnswOptions { FilteredScanSelectivity = threshold, EfConstruction = 100 });
            double recallSum = 0;
            foreach (var q in data.Queries)
            {
                var hits = index.Search(q, 10, new SearchOptions { Filter = new PredicateFilter(predicate) });
                Assert.Equal(10, hits.Count);
                Assert.All(hits, h => Assert.True(predicate(h.Id)));
                recallSum += TestData.Recall(hits, TestData.BruteForce(points, q, 10, TestData.L2, predicate));
            }
            double recall = recallSum / data.Queries.Length;
            Assert.True(recall >= 0.9, $"threshold {threshold}: filtered recall@10 at 5% = {recall:F4}");
        }
    }
}
