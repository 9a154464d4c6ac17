using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

public class SerializationTests
{
    private const int Dim = 16;

    private static byte[] SaveHnsw(HnswIndex index)
    {
        using var stream = new MemoryStream();
        index.Save(stream);
        return stream.ToArray();
    }

    private static byte[] SaveFlat(FlatIndex index)
    {
        using var stream = new MemoryStream();
        index.Save(stream);
        return stream.ToArray();
    }

    private static HnswIndex LoadHnsw(byte[] bytes, DistanceFunction? custom = null)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return HnswIndex.Load(stream, custom);
    }

    private static FlatIndex LoadFlat(byte[] bytes, DistanceFunction? custom = null)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return FlatIndex.Load(stream, custom);
    }

    private static PointId MixedId(int i) => i % 2 == 0 ? (ulong)i : $"pt-{i:x}-\u00e9";

    /// <summary>Mixed numeric and string ids, some deleted and some updated after insertion.</summary>
    private static (HnswIndex Index, Dictionary<PointId, float[]> Live, HashSet<PointId> Deleted, Dataset Data) BuildMixed(
        DistanceMetric metric, int count = 2000)
    {
        var data = TestData.Clustered(count, 40, Dim, 8, seed: 51);
        var index = new HnswIndex(Dim, metric, new HnswOptions { M = 10, EfConstruction = 80, EfSearch = 40, Seed = 5 });
        var live = new Dictionary<PointId, float[]>();
        for (int i = 0; i < count; i++)
        {
            PointId id = MixedId(i);
            index.Upsert(id, data.Points[i]);
            live[id] = data.Points[i];
        }
        var deleted = new HashSet<PointId>();
        foreach (var id in live.Keys.Where((_, j) => j % 7 == 3).ToArray())
        {
            Assert.True(index.Delete(id));
            live.Remove(id);
            deleted.Add(id);
        }
        var toMove = live.Keys.Where((_, j) => j % 11 == 5).ToArray();
        for (int j = 0; j < toMove.Length; j++)
        {
            var id = toMove[j];
            var moved = data.Queries[j % data.Queries.Length].Select(x => x + 0.001f * j).ToArray();
            index.Upsert(id, moved);
            live[id] = moved;
        }
        return (index, live, deleted, data);
    }

    private static void AssertSameIndex(HnswIndex expected, HnswIndex actual, IEnumerable<float[]> queries)
    {
        Assert.Equal(expected.Dimension, actual.Dimension);
        Assert.Equal(expected.Metric, actual.Metric);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Options, actual.Options);
        Assert.Equal(expected.Ids().Order(), actual.Ids().Order());
        TestData.AssertSameInfo(expected.Inspect(), actual.Inspect());

        foreach (var id in expected.Ids())
        {
            Assert.Equal(expected.GetVector(id), actual.GetVector(id));
            Assert.Equal(expected.Neighbours(id, 0), actual.Neighbours(id, 0));
        }
        foreach (var q in queries)
        {
            Assert.Equal(expected.Search(q, 10), actual.Search(q, 10));
            Assert.Equal(expected.Search(q, 5, new SearchOptions { Ef = 200 }), actual.Search(q, 5, new SearchOptions { Ef = 200 }));
            Assert.Equal(expected.Search(q, 10, new SearchOptions { Exact = true }), actual.Search(q, 10, new SearchOptions { Exact = true }));
        }
    }

    [Theory]
    [InlineData(DistanceMetric.Euclidean)]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.Dot)]
    public void Hnsw_RoundTrip_GivesIdenticalAnswersAndGraph(DistanceMetric metric)
    {
        var data = TestData.Clustered(1500, 40, Dim, 8, seed: 50);
        using var original = TestData.BuildHnsw(data.Points, metric, new HnswOptions { M = 8, EfConstruction = 60, Seed = 9 });
        using var loaded = LoadHnsw(SaveHnsw(original));
        AssertSameIndex(original, loaded, data.Queries);

        // A loaded graph's full structure matches, on every layer.
        var g1 = TestData.GatherGraph(original);
        var g2 = TestData.GatherGraph(loaded);
        Assert.Equal(g1.Count, g2.Count);
        for (int l = 0; l < g1.Count; l++)
        {
            Assert.Equal(g1[l].Keys.Order(), g2[l].Keys.Order());
            foreach (var (id, list) in g1[l])
                Assert.Equal(list, g2[l][id]);
        }
    }

    [Fact]
    public void Hnsw_RoundTrip_WithStringIdsDeletesAndUpdates()
    {
        var (original, live, deleted, data) = BuildMixed(DistanceMetric.Cosine);
        using (original)
        {
            var bytes = SaveHnsw(original);
            using var loaded = LoadHnsw(bytes);
            AssertSameIndex(original, loaded, data.Queries);

            Assert.Equal(live.Count, loaded.Count);
            foreach (var id in deleted)
            {
                Assert.False(loaded.Contains(id));
                Assert.False(loaded.Delete(id));
            }
            var deletedVectors = Enumerable.Range(0, data.Points.Length)
                .Where(i => deleted.Contains(MixedId(i))).Take(20).Select(i => data.Points[i]);
            foreach (var q in data.Queries.Concat(deletedVectors))
                Assert.All(loaded.Search(q, 15), h => Assert.DoesNotContain(h.Id, deleted));

            // Saving the loaded index again gives an equivalent index (save is stable).
            using var reloaded = LoadHnsw(SaveHnsw(loaded));
            AssertSameIndex(original, reloaded, data.Queries.Take(10));

            // The loaded index stays writable and searchable.
            PointId fresh = "fresh-point";
            var v = data.Queries[0].Select(x => x + 0.5f).ToArray();
            loaded.Upsert(fresh, v);
            Assert.Equal(live.Count + 1, loaded.Count);
            var hit = loaded.Search(v, 1)[0];
            Assert.Equal(fresh, hit.Id);
            Assert.Equal(0f, hit.Distance, 1e-5f);
            var someLive = live.Keys.First();
            Assert.True(loaded.Delete(someLive));
            Assert.DoesNotContain(someLive, loaded.Search(live[someLive], 10).Select(h => h.Id));
            Assert.True(original.Contains(someLive), "the original was affected by a change to the loaded copy");
        }
    }

    [Fact]
    public void Hnsw_RoundTrip_CustomMetric()
    {
        var data = TestData.Clustered(800, 20, Dim, 6, seed: 52);
        using var original = new HnswIndex(Dim, TestData.ManhattanFloat, new HnswOptions { M = 8, EfConstruction = 60 });
        for (int i = 0; i < data.Points.Length; i++)
            original.Upsert((ulong)i, data.Points[i]);
        using var loaded = LoadHnsw(SaveHnsw(original), TestData.ManhattanFloat);
        Assert.Equal(DistanceMetric.Custom, loaded.Metric);
        AssertSameIndex(original, loaded, data.Queries);
    }

    [Fact]
    public void Hnsw_RoundTrip_EmptyIndex()
    {
        using var original = new HnswIndex(Dim, DistanceMetric.Euclidean);
        using var loaded = LoadHnsw(SaveHnsw(original));
        Assert.Equal(0, loaded.Count);
        Assert.Equal(Dim, loaded.Dimension);
        Assert.Null(loaded.Inspect().EntryPoint);
        Assert.Empty(loaded.Search(new float[Dim], 3));
        loaded.Upsert(1UL, Enumerable.Repeat(1f, Dim).ToArray());
        Assert.Equal(new PointId(1UL), loaded.Search(new float[Dim], 3).Single().Id);
    }

    [Fact]
    public void Flat_RoundTrip_GivesIdenticalAnswers()
    {
        var data = TestData.Clustered(1000, 30, Dim, 6, seed: 53);
        using var original = new FlatIndex(Dim, DistanceMetric.Dot);
        for (int i = 0; i < data.Points.Length; i++)
            original.Upsert(i % 3 == 0 ? $"s{i}" : (ulong)i, data.Points[i]);
        original.Delete(4UL);
        original.Delete("s9");

        using var loaded = LoadFlat(SaveFlat(original));
        Assert.Equal(original.Count, loaded.Count);
        Assert.Equal(original.Dimension, loaded.Dimension);
        Assert.Equal(DistanceMetric.Dot, loaded.Metric);
        Assert.Equal(original.Ids().Order(), loaded.Ids().Order());
        Assert.False(loaded.Contains(4UL));
        Assert.False(loaded.Contains("s9"));
        foreach (var q in data.Queries)
            Assert.Equal(original.Search(q, 10), loaded.Search(q, 10));

        using var custom = new FlatIndex(Dim, TestData.ManhattanFloat);
        for (int i = 0; i < 100; i++)
            custom.Upsert((ulong)i, data.Points[i]);
        using var customLoaded = LoadFlat(SaveFlat(custom), TestData.ManhattanFloat);
        foreach (var q in data.Queries)
            Assert.Equal(custom.Search(q, 5), customLoaded.Search(q, 5));
    }

    // ------------------------------------------------------------------ damaged files

    private static byte[] SmallHnswFile()
    {
        var (index, _, _, _) = BuildMixed(DistanceMetric.Euclidean, count: 300);
        using (index)
            return SaveHnsw(index);
    }

    private static byte[] SmallFlatFile()
    {
        using var index = new FlatIndex(Dim, DistanceMetric.Euclidean);
        var rng = new Random(54);
        for (int i = 0; i < 200; i++)
            index.Upsert(i % 2 == 0 ? (ulong)i : $"f{i}", TestData.Uniform(rng, Dim));
        return SaveFlat(index);
    }

    public static TheoryData<double> FlipPositions => new() { 0.0, 0.05, 0.25, 0.5, 0.75, 0.999, 1.0 };

    [Theory]
    [MemberData(nameof(FlipPositions))]
    public void Hnsw_FlippedByte_IsRejected(double position)
    {
        var bytes = SmallHnswFile();
        int at = Math.Min(bytes.Length - 1, (int)(position * bytes.Length));
        bytes[at] ^= 0x5A;
        var ex = Assert.Throws<InvalidDataException>(() => LoadHnsw(bytes));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Theory]
    [MemberData(nameof(FlipPositions))]
    public void Flat_FlippedByte_IsRejected(double position)
    {
        var bytes = SmallFlatFile();
        int at = Math.Min(bytes.Length - 1, (int)(position * bytes.Length));
        bytes[at] ^= 0x01;
        Assert.Throws<InvalidDataException>(() => LoadFlat(bytes));
    }

    [Fact]
    public void Hnsw_Truncated_IsRejectedAtEveryLength()
    {
        var bytes = SmallHnswFile();
        var lengths = new SortedSet<int> { 1, 2, 3, 4, 7, 8, 12, 16, 24, 32, 64, bytes.Length / 3, bytes.Length / 2, bytes.Length - 8, bytes.Length - 4, bytes.Length - 1 };
        for (int cut = 100; cut < bytes.Length; cut += bytes.Length / 23)
            lengths.Add(cut);
        foreach (int length in lengths)
        {
            var ex = Record.Exception(() => LoadHnsw(bytes[..length]));
            Assert.True(ex is InvalidDataException, $"truncated to {length} of {bytes.Length} bytes: got {ex?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void Flat_Truncated_IsRejected()
    {
        var bytes = SmallFlatFile();
        foreach (int length in new[] { 1, 4, 9, 33, bytes.Length / 2, bytes.Length - 1 })
        {
            var ex = Record.Exception(() => LoadFlat(bytes[..length]));
            Assert.True(ex is InvalidDataException, $"truncated to {length} of {bytes.Length} bytes: got {ex?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void WrongMagic_IsRejected()
    {
        var hnsw = SmallHnswFile();
        for (int i = 0; i < 4; i++)
        {
            var copy = hnsw.ToArray();
            copy[i] = (byte)~copy[i];
            Assert.Throws<InvalidDataException>(() => LoadHnsw(copy));
        }
        var junk = new byte[4096];
        new Random(55).NextBytes(junk);
        Assert.Throws<InvalidDataException>(() => LoadHnsw(junk));
        Assert.Throws<InvalidDataException>(() => LoadFlat(junk));
        Assert.Throws<InvalidDataException>(() => LoadHnsw("not an index at all, just some text"u8.ToArray()));
    }

    [Fact]
    public void OtherIndexKind_IsRejected()
    {
        Assert.Throws<InvalidDataException>(() => LoadHnsw(SmallFlatFile()));
        Assert.Throws<InvalidDataException>(() => LoadFlat(SmallHnswFile()));
    }

    [Fact]
    public void EmptyStream_IsRejected()
    {
        Assert.Throws<InvalidDataException>(() => LoadHnsw([]));
        Assert.Throws<InvalidDataException>(() => LoadFlat([]));
    }

    [Fact]
    public void TrailingGarbageAfterAValidFile_DoesNotCorruptTheIndex()
    {
        // Whether or not the loader tolerates trailing bytes, it must never return a different index.
        var (index, _, _, data) = BuildMixed(DistanceMetric.Euclidean, count: 300);
        using (index)
        {
            var bytes = SaveHnsw(index).Concat(new byte[] { 1, 2, 3, 4, 5 }).ToArray();
            HnswIndex? loaded = null;
            try
            {
                loaded = LoadHnsw(bytes);
            }
            catch (InvalidDataException)
            {
                return; // rejecting is fine
            }
            using (loaded)
                AssertSameIndex(index, loaded, data.Queries.Take(10));
        }
    }
}
