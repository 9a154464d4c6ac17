using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

public class QuantizationTests
{
    private static HnswOptions Quantized(bool inRam = false, int training = 1000, double oversampling = 3) => new()
    {
        M = 16,
        EfConstruction = 100,
        Quantization = new ScalarQuantization { OriginalsInRam = inRam, TrainingPoints = training, Oversampling = oversampling },
    };

    [Fact]
    public void Int8_dot_matches_the_scalar_sum_at_every_length_and_at_the_extremes()
    {
        var rng = new Random(5);
        foreach (int n in Enumerable.Range(1, 300).Concat([511, 512, 513, 1536, 4099]))
        {
            var a = new sbyte[n];
            var b = new sbyte[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = (sbyte)rng.Next(-127, 128);
                b[i] = (sbyte)rng.Next(-127, 128);
            }
            long expected = 0;
            for (int i = 0; i < n; i++) expected += a[i] * b[i];
            Assert.Equal(expected, Int8Kernels.Dot(a, b));
        }
        // The largest magnitude every lane can reach: no 16-bit overflow in the widening multiply-add.
        var max = Enumerable.Repeat((sbyte)127, 4096).ToArray();
        var min = Enumerable.Repeat((sbyte)-127, 4096).ToArray();
        Assert.Equal(127 * 127 * 4096, Int8Kernels.Dot(max, max));
        Assert.Equal(-127 * 127 * 4096, Int8Kernels.Dot(max, min));
    }

    [Fact]
    public unsafe void Codes_reconstruct_each_component_within_half_a_step()
    {
        var rng = new Random(9);
        const int dim = 37;
        var center = TestData.Uniform(rng, dim, -0.5f, 0.5f);
        var scratch = new float[2 * dim];
        var record = new byte[((dim + 3) & ~3) + 8];
        for (int trial = 0; trial < 50; trial++)
        {
            var x = TestData.Uniform(rng, dim, -3f, 3f);
            fixed (float* px = x)
            fixed (byte* pr = record)
            {
                ScalarCodec.Encode(px, center, dim, 1.0, pr, scratch);
                float scale = *(float*)(pr + ((dim + 3) & ~3));
                double squares = 0;
                for (int i = 0; i < dim; i++)
                {
                    sbyte c = ((sbyte*)pr)[i];
                    Assert.InRange((int)c, -127, 127);
                    squares += c * c;
                    Assert.True(Math.Abs(center[i] + scale * c - x[i]) <= 0.5 * scale * 1.0001, $"component {i}");
                }
                Assert.Equal(scale * scale * squares, *(float*)(pr + ((dim + 3) & ~3) + 4), 3);
                for (int i = dim; i < ((dim + 3) & ~3); i++) Assert.Equal(0, pr[i]);
            }
        }
    }

    [Theory]
    [InlineData(DistanceMetric.Euclidean, false)]
    [InlineData(DistanceMetric.Cosine, false)]
    [InlineData(DistanceMetric.Dot, true)]
    public void Recall_after_rescoring_stays_at_least_095(DistanceMetric metric, bool inRam)
    {
        var data = TestData.Clustered(4000, 100, 48, 16, seed: 31);
        var points = data.Points;
        if (metric == DistanceMetric.Dot)
            points = [.. points.Select(p => { var c = (float[])p.Clone(); VectorKernels.Normalize(c); return c; })];
        using var index = new HnswIndex(48, metric, Quantized(inRam));
        for (int i = 0; i < points.Length; i++) index.Upsert((ulong)i, points[i]);
        Assert.True(index.WalksCodes);
        Assert.Equal(inRam ? 0 : 4000L * 48 * 4, Math.Min(index.MappedBytes, 4000L * 48 * 4));

        var live = TestData.ById(points);
        var reference = TestData.Reference(metric);
        double recall = TestData.MeanRecall(index, live, data.Queries, 10, reference, new SearchOptions { Ef = 64 });
        Assert.True(recall >= 0.95, $"recall@10 = {recall:F3}");

        // Distances returned are the exact ones (re-scored on the originals), not the codes' estimates.
        foreach (var q in data.Queries.Take(10))
        {
            var hits = index.Search(q, 5);
            TestData.AssertOrdered(hits);
            foreach (var hit in hits)
            {
                var v = live[hit.Id];
                double expected = metric == DistanceMetric.Cosine ? TestData.CosineDistance(q, v) : reference(q, v);
                Assert.Equal(expected, hit.Distance, 1e-4 * (1 + Math.Abs(expected)));
            }
        }
    }

    [Fact]
    public void Codes_keep_only_a_quarter_of_the_vector_bytes_in_memory()
    {
        var data = TestData.Clustered(3000, 1, 128, 8, seed: 3);
        using var plain = new HnswIndex(128, DistanceMetric.Euclidean, new HnswOptions { M = 16, EfConstruction = 50 });
        using var coded = new HnswIndex(128, DistanceMetric.Euclidean, Quantized() with { EfConstruction = 50 });
        using var codedInRam = new HnswIndex(128, DistanceMetric.Euclidean, Quantized(inRam: true) with { EfConstruction = 50 });
        for (int i = 0; i < data.Points.Length; i++)
        {
            plain.Upsert((ulong)i, data.Points[i]);
            coded.Upsert((ulong)i, data.Points[i]);
            codedInRam.Upsert((ulong)i, data.Points[i]);
        }
        // Per node: 512 float bytes + 132 link bytes, against 128 code bytes + 8 + 132.
        Assert.True(coded.MemoryBytes < 0.5 * plain.MemoryBytes, $"{coded.MemoryBytes} vs {plain.MemoryBytes}");
        Assert.True(coded.MappedBytes >= 3000L * 128 * 4);
        Assert.True(codedInRam.MemoryBytes > plain.MemoryBytes, "originals in RAM are counted");
        Assert.Equal(0, codedInRam.MappedBytes);
    }

    [Fact]
    public void Before_training_searches_walk_floats_and_after_it_codes_with_the_same_answers_for_updates_and_deletes()
    {
        var data = TestData.Clustered(700, 30, 24, 6, seed: 12);
        using var index = new HnswIndex(24, DistanceMetric.Euclidean, Quantized(training: 500));
        var live = new Dictionary<PointId, float[]>();
        for (int i = 0; i < 400; i++)
        {
            index.Upsert((ulong)i, data.Points[i]);
            live[(ulong)i] = data.Points[i];
        }
        Assert.False(index.WalksCodes);
        Assert.True(TestData.MeanRecall(index, live, data.Queries, 5, TestData.L2, new SearchOptions { Ef = 64 }) >= 0.95);
        for (int i = 400; i < 700; i++)
        {
            index.Upsert((ulong)i, data.Points[i]);
            live[(ulong)i] = data.Points[i];
        }
        Assert.True(index.WalksCodes);
        for (int i = 0; i < 700; i += 7)
        {
            Assert.True(index.Delete((ulong)i));
            live.Remove((ulong)i);
        }
        for (int i = 1; i < 700; i += 11)
        {
            var moved = data.Points[(i * 13) % 700];
            index.Upsert((ulong)i, moved);
            live[(ulong)i] = moved;
            Assert.Equal(moved, index.GetVector((ulong)i));
        }
        Assert.Equal(live.Count, index.Count);
        double recall = TestData.MeanRecall(index, live, data.Queries, 5, TestData.L2, new SearchOptions { Ef = 64 });
        Assert.True(recall >= 0.95, $"recall@5 = {recall:F3}");
    }

    [Fact]
    public void A_quantized_index_saves_and_loads_with_its_codes_centre_and_originals()
    {
        var data = TestData.Clustered(1500, 40, 32, 8, seed: 8);
        using var index = new HnswIndex(32, DistanceMetric.Cosine, Quantized(training: 300) with { Quantization = new ScalarQuantization { TrainingPoints = 300, Quantile = 0.99, Oversampling = 2 } });
        for (int i = 0; i < data.Points.Length; i++) index.Upsert(i % 2 == 0 ? (ulong)i : $"p{i}", data.Points[i]);
        index.Delete((ulong)0);
        using var stream = new MemoryStream();
        index.Save(stream);
        stream.Position = 0;
        using var loaded = HnswIndex.Load(stream);
        Assert.Equal(index.Options, loaded.Options);
        Assert.True(loaded.WalksCodes);
        Assert.Equal(index.Count, loaded.Count);
        Assert.Equal(index.GetVector("p7"), loaded.GetVector("p7"));
        foreach (var q in data.Queries)
            Assert.Equal(index.Search(q, 10), loaded.Search(q, 10));

        // A flipped byte in the originals is caught by the checksum.
        var bytes = stream.ToArray();
        bytes[bytes.Length - 100] ^= 0x40;
        Assert.Throws<InvalidDataException>(() => HnswIndex.Load(new MemoryStream(bytes)));
    }

    [Fact]
    public void A_version_2_file_still_loads()
    {
        // Written by the version-2 format: 300 uniform 12-d points (seed 7), every third id a string, every tenth deleted.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hnsw", "v2-l2-12d.hnsw");
        using var index = HnswIndex.Load(path);
        var rng = new Random(7);
        var live = new Dictionary<PointId, float[]>();
        for (int i = 0; i < 300; i++)
        {
            var v = new float[12];
            for (int j = 0; j < 12; j++) v[j] = (float)(rng.NextDouble() * 2 - 1);
            if (i % 10 != 0) live[i % 3 == 0 ? $"p{i}" : (ulong)i] = v;
        }
        Assert.Null(index.Options.Quantization);
        Assert.Equal(8, index.Options.M);
        Assert.Equal(live.Count, index.Count);
        foreach (var (id, v) in live) Assert.Equal(v, index.GetVector(id));
        var queries = Enumerable.Range(0, 20).Select(_ => TestData.Uniform(rng, 12)).ToList();
        Assert.True(TestData.MeanRecall(index, live, queries, 5, TestData.L2, new SearchOptions { Ef = 100 }) >= 0.98);

        // And it saves as the current version and loads back.
        using var stream = new MemoryStream();
        index.Save(stream);
        stream.Position = 0;
        using var again = HnswIndex.Load(stream);
        foreach (var q in queries) Assert.Equal(index.Search(q, 5), again.Search(q, 5));
    }

    [Fact]
    public void Quantization_with_a_custom_distance_is_refused()
    {
        Assert.Throws<ArgumentException>(() =>
            new HnswIndex(8, (a, b) => TestData.ManhattanFloat(a, b), Quantized()));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new HnswIndex(8, DistanceMetric.Euclidean, new HnswOptions { Quantization = new ScalarQuantization { Oversampling = 0.5 } }));
    }
}
