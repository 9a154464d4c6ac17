using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

/// <summary>Deletes, updates, re-inserts and determinism of the HNSW index.</summary>
public class HnswMutationTests
{
    private const int Dim = 32;

    [Fact]
    public void Deleting30Percent_KeepsRecall_AndNeverReturnsDeletedIds()
    {
        var data = TestData.Clustered(5000, 120, Dim, 20, seed: 31);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean);
        var live = TestData.ById(data.Points);

        var rng = new Random(32);
        var order = Enumerable.Range(0, data.Points.Length).ToArray();
        rng.Shuffle(order);
        var deleted = order.Take(data.Points.Length * 3 / 10).Select(i => new PointId((ulong)i)).ToHashSet();
        foreach (var id in deleted)
        {
            Assert.True(index.Delete(id), $"first delete of {id} returned false");
            live.Remove(id);
        }

        Assert.Equal(live.Count, index.Count);
        Assert.Equal(live.Keys.Order(), index.Ids().Order());
        foreach (var id in deleted)
        {
            Assert.False(index.Delete(id), $"second delete of {id} returned true");
            Assert.False(index.Contains(id));
            Assert.Null(index.GetVector(id));
        }
        Assert.Equal(live.Count, index.Count);

        double recall = TestData.MeanRecall(index, live, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall@10 after deleting 30% = {recall:F4}");

        // No deleted id ever comes back, even when the query is the deleted vector itself.
        var probes = data.Queries.Concat(deleted.Take(300).Select(id => data.Points[(int)id.Number]));
        foreach (var q in probes)
        {
            var hits = index.Search(q, 20);
            Assert.Equal(20, hits.Count);
            Assert.All(hits, h => Assert.DoesNotContain(h.Id, deleted));
            TestData.AssertOrdered(hits);
        }
        foreach (var q in data.Queries.Take(20))
        {
            var hits = index.Search(q, 10, new SearchOptions { Ef = 300 });
            Assert.All(hits, h => Assert.DoesNotContain(h.Id, deleted));
        }

        var info = index.Inspect();
        Assert.Equal(index.Count, info.NodesPerLayer[0]);
        for (int l = 1; l < info.LayerCount; l++)
            Assert.True(info.NodesPerLayer[l] <= info.NodesPerLayer[l - 1]);
        TestData.AssertEntryPointOnTopLayer(index);
        Assert.Equal(info.EdgeCount, TestData.GatheredEdgeCount(index));

        // Re-inserting a deleted id works.
        var back = deleted.Take(50).ToArray();
        foreach (var id in back)
        {
            index.Upsert(id, data.Points[(int)id.Number]);
            live[id] = data.Points[(int)id.Number];
        }
        Assert.Equal(live.Count, index.Count);
        foreach (var id in back)
        {
            Assert.True(index.Contains(id));
            var hit = index.Search(data.Points[(int)id.Number], 1)[0];
            Assert.Equal(id, hit.Id);
            Assert.Equal(0f, hit.Distance);
        }
    }

    [Fact]
    public void DeletingUnknownIds_ReturnsFalse()
    {
        using var index = new HnswIndex(4, DistanceMetric.Euclidean);
        Assert.False(index.Delete(1UL));
        index.Upsert(1UL, new float[] { 1, 2, 3, 4 });
        Assert.False(index.Delete(2UL));
        Assert.False(index.Delete("1"));
        Assert.Equal(1, index.Count);
    }

    [Fact]
    public void DeletingEverything_ThenInsertingAgain_Works()
    {
        var data = TestData.Clustered(400, 10, Dim, 5, seed: 33);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Cosine);
        for (int i = 0; i < data.Points.Length; i++)
            Assert.True(index.Delete((ulong)i));

        Assert.Equal(0, index.Count);
        Assert.Empty(index.Ids());
        Assert.Empty(index.Search(data.Queries[0], 5));
        Assert.Null(index.Inspect().EntryPoint);

        var fresh = TestData.Clustered(300, 20, Dim, 5, seed: 34);
        var live = new Dictionary<PointId, float[]>();
        for (int i = 0; i < fresh.Points.Length; i++)
        {
            PointId id = $"p{i}";
            index.Upsert(id, fresh.Points[i]);
            live[id] = fresh.Points[i];
        }
        Assert.Equal(300, index.Count);
        double recall = TestData.MeanRecall(index, live, fresh.Queries, 10, TestData.Cos);
        Assert.True(recall >= 0.95, $"recall after emptying and refilling = {recall:F4}");
        Assert.All(index.Search(data.Points[0], 10), h => Assert.False(h.Id.IsNumber));
    }

    [Fact]
    public void DeletingTheEntryPoint_ElectsALiveOne()
    {
        var data = TestData.Clustered(2000, 60, Dim, 10, seed: 35);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean);
        var live = TestData.ById(data.Points);
        for (int round = 0; round < 5; round++)
        {
            var entry = index.Inspect().EntryPoint!.Value;
            Assert.True(index.Delete(entry));
            live.Remove(entry);
            var info = index.Inspect();
            Assert.NotNull(info.EntryPoint);
            Assert.NotEqual(entry, info.EntryPoint!.Value);
            TestData.AssertEntryPointOnTopLayer(index);
            Assert.Equal(index.Count, info.NodesPerLayer[0]);
            Assert.Equal(info.EdgeCount, TestData.GatheredEdgeCount(index));
        }
        double recall = TestData.MeanRecall(index, live, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall after deleting entry points = {recall:F4}");
    }

    [Fact]
    public void Update_MovesThePoint()
    {
        var data = TestData.Clustered(3000, 80, Dim, 20, seed: 36);
        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean);
        var live = TestData.ById(data.Points);
        var rng = new Random(37);

        var moved = Enumerable.Range(0, 150).Select(_ => rng.Next(data.Points.Length)).Distinct().ToArray();
        var newVectors = new Dictionary<int, float[]>();
        foreach (int i in moved)
        {
            // Move to a fresh location: a random held-out query point, slightly perturbed.
            var target = data.Queries[rng.Next(data.Queries.Length)].Select(x => x + (float)(0.01 * TestData.Gaussian(rng))).ToArray();
            newVectors[i] = target;
            index.Upsert((ulong)i, target);
            live[(ulong)i] = target;
        }
        Assert.Equal(data.Points.Length, index.Count);

        foreach (int i in moved)
        {
            PointId id = (ulong)i;
            Assert.Equal(newVectors[i], index.GetVector(id));

            var atNew = index.Search(newVectors[i], 1)[0];
            Assert.Equal(id, atNew.Id);
            Assert.Equal(0f, atNew.Distance);

            // At the old location the point is either gone from the answer or reported at its new distance.
            var atOld = index.Search(data.Points[i], 10);
            foreach (var h in atOld.Where(h => h.Id == id))
            {
                double expected = TestData.SquaredEuclidean(data.Points[i], newVectors[i]);
                Assert.True(h.Distance > 1e-3, $"{id} still reported at distance {h.Distance} from its old vector");
                Assert.True(Math.Abs(h.Distance - expected) <= TestData.Tolerance(DistanceMetric.Euclidean, data.Points[i], newVectors[i]));
            }
        }

        double recall = TestData.MeanRecall(index, live, data.Queries, 10, TestData.L2);
        Assert.True(recall >= 0.95, $"recall after updates = {recall:F4}");
        foreach (var q in data.Queries.Take(30))
            TestData.AssertDistancesMatch(index.Search(q, 10), q, live, TestData.L2,
                (a, b) => TestData.Tolerance(DistanceMetric.Euclidean, a, b));
    }

    [Fact]
    public void UpsertingTheSameVectorAgain_KeepsOnePoint()
    {
        using var index = new HnswIndex(3, DistanceMetric.Euclidean);
        index.Upsert("a", new float[] { 1, 0, 0 });
        index.Upsert("a", new float[] { 1, 0, 0 });
        index.Upsert("b", new float[] { 0, 1, 0 });
        Assert.Equal(2, index.Count);
        var hits = index.Search(new float[] { 1, 0, 0 }, 10);
        Assert.Equal(new[] { new SearchHit("a", 0f), new SearchHit("b", 2f) }, hits);
    }

    [Fact]
    public void Cosine_StoresNormalisedVectors()
    {
        using var index = new HnswIndex(4, DistanceMetric.Cosine);
        index.Upsert(1UL, new float[] { 2, 0, 0, 0 });
        index.Upsert(2UL, new float[] { 0, 0, 5, 0 });
        Assert.Equal(new float[] { 1, 0, 0, 0 }, index.GetVector(1UL));
        var hits = index.Search(new float[] { 7, 0, 0.0001f, 0 }, 2);
        Assert.Equal(new PointId(1UL), hits[0].Id);
        Assert.Equal(0f, hits[0].Distance, 1e-6f);
        Assert.Equal(1f, hits[1].Distance, 1e-4f);
    }

    private static HnswIndex BuildScripted(Dataset data, int seed)
    {
        var index = new HnswIndex(Dim, DistanceMetric.Cosine, new HnswOptions { Seed = seed, M = 12, EfConstruction = 100 });
        for (int i = 0; i < data.Points.Length; i++)
        {
            PointId id = i % 3 == 0 ? $"s{i}" : (ulong)i;
            index.Upsert(id, data.Points[i]);
            if (i % 10 == 9)
                index.Delete((ulong)(i - 4));
            if (i % 17 == 16)
                index.Upsert((ulong)(i - 8), data.Points[i - 16]);
        }
        return index;
    }

    [Fact]
    public void SameSeedAndSequence_GiveIdenticalIndices()
    {
        var data = TestData.Clustered(2500, 60, Dim, 12, seed: 38);
        using var a = BuildScripted(data, seed: 7);
        using var b = BuildScripted(data, seed: 7);

        TestData.AssertSameInfo(a.Inspect(), b.Inspect());
        Assert.Equal(a.Ids().Order(), b.Ids().Order());
        foreach (var q in data.Queries)
        {
            Assert.Equal(a.Search(q, 10), b.Search(q, 10));
            Assert.Equal(a.Search(q, 3, new SearchOptions { Ef = 20 }), b.Search(q, 3, new SearchOptions { Ef = 20 }));
        }
        var ga = TestData.GatherGraph(a);
        var gb = TestData.GatherGraph(b);
        Assert.Equal(ga.Count, gb.Count);
        for (int l = 0; l < ga.Count; l++)
        {
            Assert.Equal(ga[l].Keys.Order(), gb[l].Keys.Order());
            foreach (var (id, list) in ga[l])
                Assert.Equal(list, gb[l][id]);
        }
    }

    [Fact]
    public void DifferentSeeds_GiveDifferentLevels()
    {
        // The seed drives the level generator: with another seed, other nodes reach layer 1.
        var data = TestData.Clustered(1500, 1, Dim, 6, seed: 40);
        HashSet<PointId> Layer1(int seed)
        {
            using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean, new HnswOptions { Seed = seed, EfConstruction = 40 });
            return TestData.GatherGraph(index)[1].Where(kv => kv.Value.Count > 0).Select(kv => kv.Key).ToHashSet();
        }
        var a = Layer1(1);
        var b = Layer1(2);
        Assert.NotEmpty(a);
        Assert.False(a.SetEquals(b), "seeds 1 and 2 put the same nodes on layer 1");
        Assert.True(a.SetEquals(Layer1(1)));
    }

    [Fact]
    public void Options_AreKept()
    {
        var options = new HnswOptions { M = 8, EfConstruction = 50, EfSearch = 30, Seed = 3 };
        using var index = new HnswIndex(Dim, DistanceMetric.Dot, options);
        Assert.Equal(options, index.Options);
        Assert.Equal(Dim, index.Dimension);
        Assert.Equal(DistanceMetric.Dot, index.Metric);

        var data = TestData.Clustered(1500, 1, Dim, 6, seed: 39);
        for (int i = 0; i < data.Points.Length; i++)
            index.Upsert((ulong)i, data.Points[i]);
        foreach (var id in index.Ids().Take(300))
        {
            Assert.True(index.Neighbours(id, 0).Count <= 16);
            for (int layer = 1; layer < index.Inspect().LayerCount; layer++)
            {
                try
                {
                    Assert.True(index.Neighbours(id, layer).Count <= 8);
                }
                catch (ArgumentException)
                {
                    break; // not on this layer
                }
            }
        }
        Assert.True(index.MemoryBytes >= 1500L * Dim * sizeof(float), $"MemoryBytes = {index.MemoryBytes}");
    }
}
