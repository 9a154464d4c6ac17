using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;
using Xunit.Abstractions;

namespace VLink.Core.Tests;

/// <summary>
/// Deferred linking: points held without links are found by searches (a scan beside the graph walk) from the moment
/// they are written, keep their state through a file round trip, and once linked in chunks give the recall of a
/// build that linked them at once.
/// </summary>
public class HnswDeferredLinkingTests(ITestOutputHelper output)
{
    private const int Dim = 16;
    private static readonly HnswOptions Options = new() { EfConstruction = 100 };

    /// <summary>A graph of the first <paramref name="linked"/> points, then the rest written while linking is deferred.</summary>
    private static HnswIndex Build(float[][] points, int linked, bool batches)
    {
        var index = new HnswIndex(Dim, DistanceMetric.Euclidean, Options);
        for (int i = 0; i < linked; i++) index.Upsert((ulong)i, points[i]);
        index.DeferLinking = true;
        if (batches)
        {
            for (int start = linked; start < points.Length; start += 500)
            {
                int end = Math.Min(points.Length, start + 500);
                index.UpsertMany([.. Enumerable.Range(start, end - start).Select(i => new PointId((ulong)i))],
                    [.. Enumerable.Range(start, end - start).Select(i => (ReadOnlyMemory<float>)points[i])]);
            }
        }
        else
        {
            for (int i = linked; i < points.Length; i++) index.Upsert((ulong)i, points[i]);
        }
        return index;
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2000, false)]
    [InlineData(2000, true)]
    public void Unlinked_points_are_found_at_once_and_linking_them_in_chunks_gives_the_recall_of_a_fresh_build(int linked, bool batches)
    {
        var data = TestData.Clustered(6000, 200, Dim, 20, seed: 91);
        var all = TestData.ById(data.Points);
        using var index = Build(data.Points, linked, batches);
        Assert.Equal(6000 - linked, index.Unlinked);
        Assert.Equal(6000, index.Count);

        // Every held point is its own nearest neighbour at once, linked or not.
        for (int i = 0; i < 6000; i += 7)
        {
            var hits = index.Search(data.Points[i], 1);
            Assert.Equal(new PointId((ulong)i), hits[0].Id);
        }
        double heldRecall = TestData.MeanRecall(index, all, data.Queries, 10, TestData.L2);

        // While linking stays deferred nothing links; then chunk by chunk.
        Assert.Equal(6000 - linked, index.LinkPending(1000));
        index.DeferLinking = false;
        int rounds = 0;
        while (index.LinkPending(700) > 0) rounds++;
        Assert.Equal(0, index.Unlinked);
        Assert.True(rounds >= (6000 - linked) / 700 - 1, $"{rounds} rounds");

        using var fresh = new HnswIndex(Dim, DistanceMetric.Euclidean, Options);
        fresh.UpsertMany([.. Enumerable.Range(0, 6000).Select(i => new PointId((ulong)i))], [.. data.Points.Select(p => (ReadOnlyMemory<float>)p)]);
        double recall = TestData.MeanRecall(index, all, data.Queries, 10, TestData.L2);
        double freshRecall = TestData.MeanRecall(fresh, all, data.Queries, 10, TestData.L2);
        output.WriteLine($"held: recall@10 {heldRecall:F4}; linked in chunks {recall:F4}; fresh parallel build {freshRecall:F4}");
        Assert.True(heldRecall >= freshRecall - 0.015, $"held {heldRecall:F4} vs fresh {freshRecall:F4}");
        Assert.True(recall >= freshRecall - 0.015, $"linked {recall:F4} vs fresh {freshRecall:F4}");
        // Linked now: the graph answers without the scan, and walks only linked nodes.
        Assert.True(index.Inspect().EdgeCount > 6000L * Options.M / 2, $"{index.Inspect().EdgeCount} edges");
    }

    [Fact]
    public void An_index_holding_only_unlinked_points_answers_exactly()
    {
        var data = TestData.Clustered(800, 20, Dim, 5, seed: 92);
        var all = TestData.ById(data.Points);
        using var index = Build(data.Points, 0, batches: false);
        foreach (var q in data.Queries)
            TestData.AssertExactTopK(index.Search(q, 10), TestData.BruteForce(all, q, 10, TestData.L2), q, all, TestData.L2, (_, _) => 1e-3);
        Assert.Equal(0, index.Inspect().EdgeCount);
    }

    [Fact]
    public void Deletes_and_replacements_of_unlinked_points_take_effect_and_leave_nothing_to_link()
    {
        var data = TestData.Clustered(3000, 0, Dim, 10, seed: 93);
        using var index = Build(data.Points, 1000, batches: true);
        Assert.True(index.Delete(1500UL));
        index.Upsert(1600UL, data.Points[5]);   // replaced by another vector, still unlinked
        index.Upsert(1700UL, data.Points[1700]); // the same vector: nothing changes
        Assert.Equal(1999, index.Unlinked);
        Assert.Equal(2999, index.Count);
        Assert.DoesNotContain(index.Search(data.Points[1500], 5), h => h.Id == new PointId(1500UL));
        Assert.Contains(index.Search(data.Points[5], 2), h => h.Id == new PointId(1600UL));
        Assert.Equal(new PointId(1700UL), index.Search(data.Points[1700], 1)[0].Id);

        index.DeferLinking = false;
        while (index.LinkPending(512) > 0) { }
        Assert.Equal(0, index.Unlinked);
        Assert.Equal(2999, index.Count);
        Assert.DoesNotContain(index.Search(data.Points[1500], 5, new SearchOptions { Ef = 200 }), h => h.Id == new PointId(1500UL));
        Assert.Contains(index.Search(data.Points[5], 2, new SearchOptions { Ef = 200 }), h => h.Id == new PointId(1600UL));
    }

    [Fact]
    public void A_saved_index_keeps_its_unlinked_points_and_links_them_after_loading()
    {
        var data = TestData.Clustered(4000, 100, Dim, 10, seed: 94);
        var all = TestData.ById(data.Points);
        using var index = Build(data.Points, 1500, batches: true);
        using var file = new MemoryStream();
        index.Save(file);
        file.Position = 0;
        using var loaded = HnswIndex.Load(file);
        Assert.Equal(2500, loaded.Unlinked);
        Assert.Equal(4000, loaded.Count);
        Assert.False(loaded.DeferLinking);
        for (int i = 1500; i < 4000; i += 11)
            Assert.Equal(new PointId((ulong)i), loaded.Search(data.Points[i], 1)[0].Id);
        while (loaded.LinkPending(1000) > 0) { }
        double recall = TestData.MeanRecall(loaded, all, data.Queries, 10, TestData.L2);
        output.WriteLine($"recall@10 after loading and linking: {recall:F4}");
        Assert.True(recall >= 0.9, $"recall@10 {recall:F4}");
    }

    [Fact]
    public void A_vacuum_links_the_unlinked_points_before_it_renumbers()
    {
        var data = TestData.Clustered(3000, 0, Dim, 10, seed: 95);
        using var index = Build(data.Points, 1000, batches: false);
        for (int i = 0; i < 600; i++) Assert.True(index.Delete((ulong)(i * 3)));
        Assert.Equal(600, index.Tombstones);
        Assert.Equal(600, index.Vacuum());
        Assert.Equal(0, index.Unlinked);
        Assert.Equal(0, index.Tombstones);
        Assert.True(index.DeferLinking);
        for (int i = 1; i < 3000; i += 17)
            if (i % 3 != 0 || i >= 1800) Assert.Equal(new PointId((ulong)i), index.Search(data.Points[i], 1, new SearchOptions { Ef = 200 })[0].Id);
    }

    [Fact]
    public void Searches_running_while_chunks_link_find_every_point()
    {
        var data = TestData.Clustered(8000, 0, Dim, 20, seed: 96);
        using var index = Build(data.Points, 500, batches: true);
        index.DeferLinking = false;
        var linker = Task.Run(() => { while (index.LinkPending(300) > 0) { } });
        int searched = 0;
        var missed = new List<int>();
        var rng = new Random(97);
        while (!linker.IsCompleted || searched < 2000)
        {
            int i = rng.Next(8000);
            if (index.Search(data.Points[i], 1, new SearchOptions { Ef = 200 })[0].Id != new PointId((ulong)i)) missed.Add(i);
            searched++;
        }
        linker.Wait();
        output.WriteLine($"{searched} searches while linking; missed {missed.Count}");
        Assert.True(missed.Count <= searched / 500, $"missed {missed.Count} of {searched}: {string.Join(", ", missed.Take(20))}");
    }
}
