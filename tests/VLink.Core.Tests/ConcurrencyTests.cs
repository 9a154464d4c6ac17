using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>
/// One writer and several readers at once. Coordination is by barriers, countdowns and published counters (no sleeps):
/// a writer publishes how many operations have completed after each one returns; a reader that read the counter
/// before searching may rely on every operation up to it.
/// </summary>
public class ConcurrencyTests
{
    private const int Dim = 32;
    private const int Readers = 3;
    private const int MaxReaderIterations = 1_000_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static Task Run(Action action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static Func<float[], float[], double> Tol => (a, b) => TestData.Tolerance(DistanceMetric.Euclidean, a, b);

    [Fact]
    public async Task SearchesConcurrentWithInserts_SeeOnlyInsertedIds()
    {
        const int prefill = 1000;
        var data = TestData.Clustered(4000, 60, Dim, 16, seed: 61);
        var points = TestData.ById(data.Points);
        using var index = new HnswIndex(Dim, DistanceMetric.Euclidean, new HnswOptions { EfConstruction = 100 });
        for (int i = 0; i < prefill; i++)
            index.Upsert((ulong)i, data.Points[i]);

        int published = prefill;
        int writerDone = 0;
        using var start = new Barrier(Readers + 1);
        using var midway = new CountdownEvent(Readers);
        int half = data.Points.Length / 2;

        var writer = Run(() =>
        {
            try
            {
                start.SignalAndWait();
                for (int i = prefill; i < data.Points.Length; i++)
                {
                    index.Upsert((ulong)i, data.Points[i]);
                    Volatile.Write(ref published, i + 1);
                    // Halfway through, hold until every reader has completed a search that saw the half-built index.
                    if (i + 1 == half)
                        Assert.True(midway.Wait(Patience), "readers did not search while the writer was running");
                }
            }
            finally
            {
                Volatile.Write(ref writerDone, 1); // never leave the readers spinning
            }
        });

        var readers = Enumerable.Range(0, Readers).Select(r => Run(() =>
        {
            bool signalled = false;
            int searches = 0;
            try
            {
                start.SignalAndWait();
                var filter = new SearchOptions { Filter = new PredicateFilter(id => id.Number % 3 == 0) };
                while (searches < MaxReaderIterations)
                {
                    bool done = Volatile.Read(ref writerDone) == 1;
                    int before = Volatile.Read(ref published);
                    var q = data.Queries[(searches + r) % data.Queries.Length];
                    var options = r == 2 ? filter : null;
                    var hits = index.Search(q, 10, options);
                    int after = Volatile.Read(ref published);

                    Assert.True(hits.Count == 10, $"{hits.Count} hits with at least {before} points indexed");
                    TestData.AssertOrdered(hits);
                    foreach (var h in hits)
                    {
                        // The point whose Upsert is still running (id == after) may already be visible.
                        Assert.True(h.Id.IsNumber && h.Id.Number <= (ulong)after, $"hit {h.Id} was not inserted yet (published {after})");
                        if (options is not null)
                            Assert.True(h.Id.Number % 3 == 0, $"hit {h.Id} does not match the filter");
                    }
                    TestData.AssertDistancesMatch(hits, q, points, TestData.L2, Tol);

                    searches++;
                    if (!signalled && before >= half)
                    {
                        signalled = true;
                        midway.Signal();
                    }
                    if (done)
                        break;
                }
            }
            finally
            {
                if (!signalled)
                    midway.Signal();
            }
            Assert.True(searches > 0);
        })).ToArray();

        await Task.WhenAll([writer, .. readers]);

        Assert.Equal(data.Points.Length, index.Count);
        double recall = TestData.MeanRecall(index, points, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall@10 after concurrent build = {recall:F4}");
    }

    [Theory]
    [InlineData("hnsw")]
    [InlineData("flat")]
    public async Task SearchesConcurrentWithDeletesAndInserts_NeverSeeDeletedIds(string kind)
    {
        const int initial = 3000;
        var data = TestData.Clustered(4500, 60, Dim, 16, seed: 62);
        var points = TestData.ById(data.Points);
        using IVectorIndex index = kind == "hnsw"
            ? new HnswIndex(Dim, DistanceMetric.Euclidean, new HnswOptions { EfConstruction = 100 })
            : new FlatIndex(Dim, DistanceMetric.Euclidean);
        for (int i = 0; i < initial; i++)
            index.Upsert((ulong)i, data.Points[i]);

        // The writer alternates: insert one new point (ids initial..), delete one old point (in a shuffled order).
        var deleteOrder = Enumerable.Range(0, initial).ToArray();
        new Random(63).Shuffle(deleteOrder);
        deleteOrder = deleteOrder.Take(1500).ToArray();
        var deletePosition = new int[data.Points.Length];
        Array.Fill(deletePosition, int.MaxValue);
        for (int j = 0; j < deleteOrder.Length; j++)
            deletePosition[deleteOrder[j]] = j;

        int inserted = initial;   // ids below this are inserted
        int deletedCount = 0;     // deleteOrder[..deletedCount] are deleted
        int writerDone = 0;
        using var start = new Barrier(Readers + 1);
        using var midway = new CountdownEvent(Readers);

        var writer = Run(() =>
        {
            try
            {
                start.SignalAndWait();
                for (int j = 0; j < deleteOrder.Length; j++)
                {
                    index.Upsert((ulong)(initial + j), data.Points[initial + j]);
                    Volatile.Write(ref inserted, initial + j + 1);
                    Assert.True(index.Delete((ulong)deleteOrder[j]));
                    Volatile.Write(ref deletedCount, j + 1);
                    if (j + 1 == deleteOrder.Length / 2)
                        Assert.True(midway.Wait(Patience), "readers did not search while the writer was running");
                }
            }
            finally
            {
                Volatile.Write(ref writerDone, 1); // never leave the readers spinning
            }
        });

        var readers = Enumerable.Range(0, Readers).Select(r => Run(() =>
        {
            bool signalled = false;
            int searches = 0;
            try
            {
                start.SignalAndWait();
                while (searches < MaxReaderIterations)
                {
                    bool done = Volatile.Read(ref writerDone) == 1;
                    int deletedBefore = Volatile.Read(ref deletedCount);
                    // Probe both ordinary queries and the vectors of points that are being deleted.
                    var q = searches % 2 == 0
                        ? data.Queries[(searches / 2 + r) % data.Queries.Length]
                        : data.Points[deleteOrder[Math.Min(deleteOrder.Length - 1, deletedBefore + r)]];
                    IReadOnlyList<SearchHit> hits = r == 1
                        ? index.SearchBatch([q], 10)[0]
                        : index.Search(q, 10);
                    int insertedAfter = Volatile.Read(ref inserted);

                    Assert.Equal(10, hits.Count);
                    TestData.AssertOrdered(hits);
                    foreach (var h in hits)
                    {
                        int id = (int)h.Id.Number;
                        // The point whose Upsert is still running (id == insertedAfter) may already be visible.
                        Assert.True(id <= insertedAfter, $"hit {id} was not inserted yet ({insertedAfter} inserts done)");
                        Assert.False(deletePosition[id] < deletedBefore,
                            $"hit {id} was deleted (delete #{deletePosition[id]}) before the search began ({deletedBefore} deletes done)");
                    }
                    TestData.AssertDistancesMatch(hits, q, points, TestData.L2, Tol);

                    searches++;
                    if (!signalled && deletedBefore >= deleteOrder.Length / 4)
                    {
                        signalled = true;
                        midway.Signal();
                    }
                    if (done)
                        break;
                }
            }
            finally
            {
                if (!signalled)
                    midway.Signal();
            }
        })).ToArray();

        await Task.WhenAll([writer, .. readers]);

        var live = new Dictionary<PointId, float[]>(points);
        foreach (int d in deleteOrder)
            live.Remove((ulong)d);
        Assert.Equal(live.Count, index.Count);
        Assert.Equal(live.Keys.Order(), index.Ids().Order());
        double recall = TestData.MeanRecall(index, live, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall@10 after concurrent deletes = {recall:F4}");
    }

    [Fact]
    public async Task SearchesConcurrentWithUpdates_ReportOldOrNewDistance()
    {
        var data = TestData.Clustered(3000, 40, Dim, 12, seed: 64);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean, new HnswOptions { EfConstruction = 100 });
        var rng = new Random(65);
        var updated = new float[data.Points.Length][];
        for (int i = 0; i < 1500; i++)
            updated[i] = data.Queries[rng.Next(data.Queries.Length)].Select(x => x + (float)(0.05 * TestData.Gaussian(rng))).ToArray();

        int updatesDone = 0;
        int writerDone = 0;
        using var start = new Barrier(Readers + 1);
        using var midway = new CountdownEvent(Readers);

        var writer = Run(() =>
        {
            try
            {
                start.SignalAndWait();
                for (int i = 0; i < 1500; i++)
                {
                    index.Upsert((ulong)i, updated[i]);
                    Volatile.Write(ref updatesDone, i + 1);
                    if (i + 1 == 750)
                        Assert.True(midway.Wait(Patience), "readers did not search while the writer was running");
                }
            }
            finally
            {
                Volatile.Write(ref writerDone, 1); // never leave the readers spinning
            }
        });

        var readers = Enumerable.Range(0, Readers).Select(r => Run(() =>
        {
            bool signalled = false;
            int searches = 0;
            try
            {
                start.SignalAndWait();
                while (searches < MaxReaderIterations)
                {
                    bool done = Volatile.Read(ref writerDone) == 1;
                    int doneBefore = Volatile.Read(ref updatesDone);
                    var q = data.Queries[(searches + 7 * r) % data.Queries.Length];
                    var hits = index.Search(q, 10);
                    int doneAfter = Volatile.Read(ref updatesDone);
                    Assert.Equal(10, hits.Count);
                    TestData.AssertOrdered(hits);
                    foreach (var h in hits)
                    {
                        int id = (int)h.Id.Number;
                        Assert.InRange(id, 0, data.Points.Length - 1);
                        // Before its update completed, a point may be seen at its old place; after the update
                        // started (or finished before the search), only at the new one. Never a torn vector.
                        bool mayBeOld = id >= doneBefore;
                        bool mayBeNew = updated[id] is not null && id < doneAfter + 1;
                        double dOld = TestData.SquaredEuclidean(q, data.Points[id]);
                        bool matchesOld = mayBeOld && Math.Abs(h.Distance - dOld) <= Tol(q, data.Points[id]);
                        bool matchesNew = mayBeNew && Math.Abs(h.Distance - TestData.SquaredEuclidean(q, updated[id])) <= Tol(q, updated[id]);
                        Assert.True(matchesOld || matchesNew,
                            $"hit {id} at {h.Distance}: old distance {dOld} (allowed {mayBeOld}), updated {(updated[id] is null ? "-" : TestData.SquaredEuclidean(q, updated[id]).ToString())} (allowed {mayBeNew})");
                    }
                    searches++;
                    if (!signalled && doneBefore >= 300)
                    {
                        signalled = true;
                        midway.Signal();
                    }
                    if (done)
                        break;
                }
            }
            finally
            {
                if (!signalled)
                    midway.Signal();
            }
        })).ToArray();

        await Task.WhenAll([writer, .. readers]);

        Assert.Equal(data.Points.Length, index.Count);
        var live = TestData.ById(data.Points);
        for (int i = 0; i < 1500; i++)
            live[(ulong)i] = updated[i];
        double recall = TestData.MeanRecall(index, live, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall@10 after concurrent updates = {recall:F4}");
    }

    [Fact]
    public async Task ConcurrentWriters_AreSerialised()
    {
        const int perWriter = 1500;
        var data = TestData.Clustered(2 * perWriter, 40, Dim, 12, seed: 66);
        var points = TestData.ById(data.Points);
        using var index = new HnswIndex(Dim, DistanceMetric.Euclidean, new HnswOptions { EfConstruction = 100 });
        using var start = new Barrier(2);

        var writers = Enumerable.Range(0, 2).Select(w => Run(() =>
        {
            start.SignalAndWait();
            for (int i = w * perWriter; i < (w + 1) * perWriter; i++)
                index.Upsert((ulong)i, data.Points[i]);
        })).ToArray();
        await Task.WhenAll(writers);

        Assert.Equal(2 * perWriter, index.Count);
        Assert.Equal(points.Keys.Order(), index.Ids().Order());
        var info = index.Inspect();
        Assert.Equal(index.Count, info.NodesPerLayer[0]);
        int selfFound = 0;
        for (int i = 0; i < data.Points.Length; i += 3)
        {
            var hit = index.Search(data.Points[i], 1)[0];
            if (hit.Id == new PointId((ulong)i) && hit.Distance == 0f)
                selfFound++;
        }
        Assert.True(selfFound >= data.Points.Length / 3 * 0.99, $"{selfFound} points found themselves");
        double recall = TestData.MeanRecall(index, points, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall@10 after two concurrent writers = {recall:F4}");
    }
}
