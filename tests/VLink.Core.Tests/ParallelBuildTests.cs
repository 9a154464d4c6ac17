using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

public class ParallelBuildTests
{
    private static (List<PointId> Ids, List<ReadOnlyMemory<float>> Vectors) Batch(float[][] points) =>
        ([.. points.Select((_, i) => new PointId((ulong)i))], [.. points.Select(p => new ReadOnlyMemory<float>(p))]);

    [Theory]
    [InlineData(DistanceMetric.Euclidean, false)]
    [InlineData(DistanceMetric.Cosine, true)]
    public async Task Four_inserting_threads_build_a_graph_of_full_recall_while_readers_search(DistanceMetric metric, bool quantized)
    {
        var data = TestData.Clustered(6000, 100, 32, 12, seed: 44);
        var options = new HnswOptions { M = 12, EfConstruction = 100, Quantization = quantized ? new ScalarQuantization() : null };
        using var index = new HnswIndex(32, metric, options);
        var (ids, vectors) = Batch(data.Points);
        index.UpsertMany(ids.Take(200).ToList(), vectors.Take(200).ToList(), threads: 1);

        using var stop = new CancellationTokenSource();
        var searching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(() =>
        {
            int searches = 0;
            while (!stop.IsCancellationRequested)
            {
                var hits = index.Search(data.Queries[searches % data.Queries.Length], 10);
                TestData.AssertOrdered(hits);
                searches++;
                searching.TrySetResult();
            }
            return searches;
        });
        // The writers start once the reader is searching, so the two overlap even when the pool is slow to start it.
        await searching.Task.WaitAsync(TimeSpan.FromSeconds(30));
        index.UpsertMany(ids.Skip(200).ToList(), vectors.Skip(200).ToList(), threads: 4);
        stop.Cancel();
        Assert.True(await reader > 0);

        Assert.Equal(6000, index.Count);
        Assert.Equal(quantized, index.WalksCodes);
        var info = index.Inspect();
        Assert.Equal(6000, info.NodesPerLayer[0]);
        double recall = TestData.MeanRecall(index, TestData.ById(data.Points), data.Queries, 10, TestData.Reference(metric), new SearchOptions { Ef = 64 });
        Assert.True(recall >= 0.95, $"recall@10 = {recall:F3}");
    }

    [Fact]
    public void One_thread_builds_the_same_graph_as_upserts_and_repeated_ids_keep_their_last_vector()
    {
        var data = TestData.Clustered(1500, 20, 16, 5, seed: 4);
        using var one = new HnswIndex(16, DistanceMetric.Euclidean);
        using var many = new HnswIndex(16, DistanceMetric.Euclidean);
        for (int i = 0; i < 1000; i++) one.Upsert((ulong)i, data.Points[i]);
        for (int i = 0; i < 100; i++) one.Upsert((ulong)i, data.Points[1000 + i]);
        var (ids, vectors) = Batch(data.Points[..1000]);
        many.UpsertMany(ids, vectors, threads: 1);
        many.UpsertMany([.. Enumerable.Range(0, 100).Select(i => new PointId((ulong)i)), 5],
            [.. data.Points[1000..1100].Select(p => new ReadOnlyMemory<float>(p)), data.Points[1200]], threads: 1);
        one.Upsert((ulong)5, data.Points[1200]);
        Assert.Equal(one.Count, many.Count);
        Assert.Equal(data.Points[1200], many.GetVector((ulong)5));
        foreach (var q in data.Queries) Assert.Equal(one.Search(q, 10), many.Search(q, 10));
    }

    [Fact]
    public void A_bad_vector_inserts_nothing()
    {
        using var index = new HnswIndex(4, DistanceMetric.Euclidean);
        var e = Assert.Throws<ArgumentException>(() => index.UpsertMany([1, 2], [new float[] { 1, 2, 3, 4 }, new float[] { 1, float.NaN, 3, 4 }]));
        Assert.Contains("vectors[1]", e.Message);
        Assert.Equal(0, index.Count);
    }
}
