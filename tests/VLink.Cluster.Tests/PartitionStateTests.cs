using System.Text;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

public sealed class PartitionStateTests
{
    private static CollectionSpec Spec(int dim, DistanceMetric metric, int flatThreshold = CollectionSpec.DefaultFlatThreshold) =>
        new("docs", dim, metric, PartitionScheme.Hash, 4, HnswOptions.Default with { M = 8, EfConstruction = 64 }, flatThreshold);

    private static float[] RandomVector(Random rng, int dim)
    {
        var v = new float[dim];
        for (int i = 0; i < dim; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    private static PointId MixedId(int i) => i % 3 == 0 ? $"pt-{i}" : (ulong)(i * 7919);

    private static List<PointWrite> Batch(Random rng, int dim, int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => new PointWrite(MixedId(i), RandomVector(rng, dim), i % 2 == 0 ? Encoding.UTF8.GetBytes($"{{\"i\":{i}}}") : null))];

    // ---- Memory and quantization ----

    [Fact]
    public void Memory_counts_the_index_payloads_and_documents_and_follows_deletes()
    {
        using var state = PartitionState.Create(Spec(4, DistanceMetric.Euclidean));
        var rng = new Random(3);
        state.Apply(new PointsUpserted([.. Enumerable.Range(0, 10).Select(i => new PointWrite((ulong)i, RandomVector(rng, 4), null))]));
        long bare = state.MemoryBytes;
        Assert.True(bare >= state.Index.MemoryBytes && state.Index.MemoryBytes > 0);

        var big = new byte[10_000];
        state.Apply(new PointsUpserted([new PointWrite(3UL, RandomVector(rng, 4), big, new string('d', 5_000))]));
        long held = state.MemoryBytes - state.Index.MemoryBytes;
        Assert.InRange(held, 10_000 + 10_000, 10_000 + 10_000 + 500);

        state.Apply(new PointsDeleted([3UL]));
        Assert.Equal(0, state.MemoryBytes - state.Index.MemoryBytes);
    }

    [Fact]
    public void A_quantized_collection_promotes_to_a_quantized_graph_that_survives_a_snapshot()
    {
        var spec = Spec(16, DistanceMetric.Cosine, flatThreshold: 300) with
        {
            Hnsw = HnswOptions.Default with { M = 8, EfConstruction = 64, Quantization = new ScalarQuantization { TrainingPoints = 200 } },
        };
        using var state = PartitionState.Create(spec);
        var rng = new Random(4);
        state.Apply(new PointsUpserted(Batch(rng, 16, 0, 500)));
        var graph = Assert.IsType<HnswIndex>(state.Index);
        Assert.True(graph.WalksCodes);
        Assert.True(state.MappedBytes >= 500 * 16 * 4);

        using var restored = PartitionState.FromSnapshot(state.ToSnapshot());
        var restoredGraph = Assert.IsType<HnswIndex>(restored.Index);
        Assert.Equal(spec.Hnsw.Quantization, restoredGraph.Options.Quantization);
        var query = RandomVector(rng, 16);
        var request = new SearchRequest(query, 5, 5, 64, false);
        Assert.Equal(state.Search(request), restored.Search(request));
    }

    // ---- Validate ----

    [Fact]
    public void Validate_returns_the_event_for_a_good_batch()
    {
        var points = Batch(new Random(1), 3, 0, 5);

        var (ev, error) = PartitionState.Validate(Spec(3, DistanceMetric.Cosine), points);

        Assert.Null(error);
        Assert.NotNull(ev);
        Assert.Same(points, ev.Points);
    }

    [Fact]
    public void Validate_refuses_a_wrong_dimension_naming_index_and_id()
    {
        List<PointWrite> points = [new(1UL, [1f, 2f, 3f], null), new("b-id", [1f, 2f], null)];

        var (ev, error) = PartitionState.Validate(Spec(3, DistanceMetric.Euclidean), points);

        Assert.Null(ev);
        Assert.NotNull(error);
        Assert.Contains("points[1]", error);
        Assert.Contains("b-id", error);
        Assert.Contains("expected 3, got 2", error);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NegativeInfinity, "Infinity")]
    public void Validate_refuses_non_finite_components_naming_index_and_id(float bad, string named)
    {
        List<PointWrite> points = [new("a", [1f, 0f, 0f], null), new(2UL, [0f, 1f, 0f], null), new(77UL, [0.5f, 0.5f, bad], null)];

        var (ev, error) = PartitionState.Validate(Spec(3, DistanceMetric.Dot), points);

        Assert.Null(ev);
        Assert.NotNull(error);
        Assert.Contains("points[2]", error);
        Assert.Contains("77", error);
        Assert.Contains(named, error);
    }

    [Fact]
    public void Validate_refuses_a_zero_vector_for_cosine_only()
    {
        List<PointWrite> points = [new("ok", [1f, 0f], null), new("zero", [0f, -0f], null)];

        var (ev, error) = PartitionState.Validate(Spec(2, DistanceMetric.Cosine), points);

        Assert.Null(ev);
        Assert.NotNull(error);
        Assert.Contains("points[1]", error);
        Assert.Contains("zero", error);
        Assert.Contains("cosine", error);
        // Euclidean and dot distances are defined for a zero vector.
        Assert.NotNull(PartitionState.Validate(Spec(2, DistanceMetric.Euclidean), points).Event);
        Assert.NotNull(PartitionState.Validate(Spec(2, DistanceMetric.Dot), points).Event);
    }

    [Fact]
    public void Validate_accepts_a_tiny_but_non_zero_vector_for_cosine()
    {
        List<PointWrite> points = [new("tiny", [1e-30f, 0f, float.Epsilon], null)];

        var (ev, error) = PartitionState.Validate(Spec(3, DistanceMetric.Cosine), points);

        Assert.Null(error);
        Assert.NotNull(ev);
    }

    [Fact]
    public void Validate_refuses_an_empty_batch_and_a_missing_vector()
    {
        var empty = PartitionState.Validate(Spec(3, DistanceMetric.Cosine), []);
        Assert.Null(empty.Event);
        Assert.Contains("no points", empty.Error);

        var missing = PartitionState.Validate(Spec(3, DistanceMetric.Cosine), [new("a", [1f, 0f, 0f], null), new("hole", null!, null)]);
        Assert.Null(missing.Event);
        Assert.Contains("points[1]", missing.Error);
        Assert.Contains("hole", missing.Error);
    }

    // ---- Apply ----

    [Fact]
    public void Apply_upserts_points_payloads_and_replacements()
    {
        using var state = PartitionState.Create(Spec(2, DistanceMetric.Euclidean));
        byte[] payload = Encoding.UTF8.GetBytes("{\"a\":1}");

        int applied = state.Apply(new PointsUpserted([new(1UL, [1f, 2f], payload), new("s", [3f, 4f], null)]));

        Assert.Equal(2, applied);
        Assert.Equal(2, state.Count);
        Assert.Equal("flat", state.IndexKind);
        Assert.Equal([1f, 2f], state.Index.GetVector(1UL)!);
        Assert.Equal(payload, state.Payload(1UL));
        Assert.Null(state.Payload("s"));

        // A replacement changes the vector and the payload; a later point of a batch wins over an earlier one.
        state.Apply(new PointsUpserted([new(1UL, [5f, 6f], null), new("s", [0f, 0f], [9]), new("s", [7f, 8f], [10])]));

        Assert.Equal(2, state.Count);
        Assert.Equal([5f, 6f], state.Index.GetVector(1UL)!);
        Assert.Null(state.Payload(1UL));
        Assert.Equal([7f, 8f], state.Index.GetVector("s")!);
        Assert.Equal([10], state.Payload("s"));
    }

    [Fact]
    public void Apply_stores_an_empty_payload_as_no_payload()
    {
        using var state = PartitionState.Create(Spec(1, DistanceMetric.Dot));

        state.Apply(new PointsUpserted([new(1UL, [1f], [1, 2]), new(1UL, [1f], [])]));

        Assert.Null(state.Payload(1UL));
    }

    [Fact]
    public void Apply_deletes_known_points_and_counts_only_them()
    {
        using var state = PartitionState.Create(Spec(2, DistanceMetric.Euclidean));
        state.Apply(new PointsUpserted([new(1UL, [1f, 0f], [1]), new("two", [0f, 1f], [2]), new(3UL, [1f, 1f], null)]));

        int deleted = state.Apply(new PointsDeleted([1UL, "two", "unknown", 99UL]));

        Assert.Equal(2, deleted);
        Assert.Equal(1, state.Count);
        Assert.False(state.Index.Contains(1UL));
        Assert.False(state.Index.Contains("two"));
        Assert.True(state.Index.Contains(3UL));
        Assert.Null(state.Payload(1UL));
        Assert.Null(state.Payload("two"));
        var hits = state.Search(new SearchRequest([1f, 0f], 5, 5, null, true));
        Assert.Equal([(PointId)3UL], hits.Select(h => h.Id));
    }

    // ---- Promotion from flat to HNSW ----

    [Theory]
    [InlineData(DistanceMetric.Euclidean)]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.Dot)]
    public void Reaching_the_flat_threshold_promotes_to_hnsw_keeping_every_point_and_exact_answers(DistanceMetric metric)
    {
        const int dim = 9, threshold = 50;
        var rng = new Random(50);
        using var state = PartitionState.Create(Spec(dim, metric, threshold));
        var written = new Dictionary<PointId, (float[] Vector, byte[]? Payload)>();
        void Write(List<PointWrite> batch)
        {
            state.Apply(new PointsUpserted(batch));
            foreach (var p in batch) written[p.Id] = (p.Vector, p.Payload);
        }

        Write(Batch(rng, dim, 0, threshold - 1));
        Assert.Equal("flat", state.IndexKind);

        Write(Batch(rng, dim, threshold - 1, 1));
        Assert.Equal("hnsw", state.IndexKind);
        Assert.Equal(threshold, state.Count);

        Write(Batch(rng, dim, threshold, 30));
        Assert.Equal("hnsw", state.IndexKind);
        Assert.Equal(written.Count, state.Count);
        Assert.Equal(written.Keys.Order(), state.Index.Ids().Order());
        foreach (var (id, (vector, payload)) in written)
        {
            Assert.Equal(payload, state.Payload(id));
            if (metric != DistanceMetric.Cosine) Assert.Equal(vector, state.Index.GetVector(id)); // cosine stores unit vectors
        }
        for (int q = 0; q < 20; q++)
        {
            float[] query = RandomVector(rng, dim);
            var expected = BruteForce(written, query, metric, 8);
            var answer = state.Search(new SearchRequest(query, 8, 8, null, true));
            Assert.Equal(expected, answer.Select(h => h.Id));
        }
    }

    // ---- Large batches, inserted in parallel ----

    [Theory]
    [InlineData(DistanceMetric.Euclidean)]
    [InlineData(DistanceMetric.Cosine)]
    public void A_large_batch_into_a_graph_ends_as_its_points_applied_one_by_one(DistanceMetric metric)
    {
        const int dim = 12, threshold = 100;
        var rng = new Random(12);
        var spec = Spec(dim, metric, threshold) with { Text = new TextSpec(["title"]) };
        using var parallel = PartitionState.Create(spec);
        using var oneByOne = PartitionState.Create(spec);
        foreach (var state in new[] { parallel, oneByOne })
        {
            state.Apply(new PointsUpserted(Batch(new Random(1), dim, 0, threshold)));
            state.Apply(new PointsUpserted([new PointWrite(MixedId(8), RandomVector(new Random(2), dim), null, Version: new PointVersion(100, 1))]));
        }
        Assert.Equal("hnsw", parallel.IndexKind);

        // New points with text, replacements, an id written twice (the later wins) and one older than the version held (skipped).
        var batch = new List<PointWrite>();
        for (int i = 100; i < 400; i++)
            batch.Add(new PointWrite(MixedId(i), RandomVector(rng, dim), Encoding.UTF8.GetBytes($$"""{"title":"{{(i % 5 == 0 ? "alpha" : "beta")}} {{i}}"}"""),
                i % 7 == 0 ? $"document {i}" : null, new PointVersion(50, 2)));
        batch.Insert(10, new PointWrite(MixedId(5), RandomVector(rng, dim), Encoding.UTF8.GetBytes("""{"title":"alpha replaced"}"""), null, new PointVersion(50, 2)));
        batch.Insert(20, new PointWrite(MixedId(8), RandomVector(rng, dim), Encoding.UTF8.GetBytes("""{"title":"alpha too old"}"""), null, new PointVersion(50, 2)));
        batch.Add(new PointWrite(MixedId(150), RandomVector(rng, dim), Encoding.UTF8.GetBytes("""{"title":"alpha later"}"""), "later", new PointVersion(60, 2)));

        int applied = parallel.Apply(new PointsUpserted(batch));
        int appliedOneByOne = batch.Sum(p => oneByOne.Apply(new PointsUpserted([p])));

        Assert.Equal(batch.Count - 1, applied);
        Assert.Equal(appliedOneByOne, applied);
        Assert.Equal(oneByOne.Count, parallel.Count);
        Assert.Equal(400, parallel.Count);
        Assert.Equal(oneByOne.Index.Ids().Order(), parallel.Index.Ids().Order());
        foreach (var id in oneByOne.Index.Ids())
        {
            Assert.Equal(oneByOne.Index.GetVector(id), parallel.Index.GetVector(id));
            Assert.Equal(oneByOne.Payload(id), parallel.Payload(id));
            Assert.Equal(oneByOne.Document(id), parallel.Document(id));
            Assert.Equal(oneByOne.Versions.Of(id), parallel.Versions.Of(id));
        }
        Assert.Equal("later", parallel.Document(MixedId(150)));
        Assert.Equal(new PointVersion(100, 1), parallel.Versions.Of(MixedId(8)));
        DeepEquality.AssertEqual(oneByOne.Scroll(null, null, 1000, true, false), parallel.Scroll(null, null, 1000, true, false));

        var keyword = new HybridRequest("alpha", null, Core.Hybrid.HybridMethods.Keyword, 100, 1000);
        Assert.Equal(
            oneByOne.SearchHybrid(keyword).Single().Points.Select(p => p.Id).Order(),
            parallel.SearchHybrid(keyword).Single().Points.Select(p => p.Id).Order());

        // Exact answers are the same; the graph built in parallel finds the nearest points as the one built one by one does.
        int found = 0;
        for (int q = 0; q < 30; q++)
        {
            float[] query = RandomVector(rng, dim);
            var exact = new SearchRequest(query, 10, 10, null, true);
            DeepEquality.AssertEqual(oneByOne.Search(exact), parallel.Search(exact));
            var truth = oneByOne.Search(exact).Select(h => h.Id).ToHashSet();
            found += parallel.Search(new SearchRequest(query, 10, 10, null, false)).Count(h => truth.Contains(h.Id));
        }
        Assert.InRange(found / 300.0, 0.95, 1.0);
    }

    [Fact]
    public void A_first_batch_far_past_the_flat_threshold_promotes_to_a_graph_holding_every_point()
    {
        const int dim = 8, threshold = 50;
        var rng = new Random(8);
        using var state = PartitionState.Create(Spec(dim, DistanceMetric.Euclidean, threshold));
        var batch = Batch(rng, dim, 0, 500);

        Assert.Equal(500, state.Apply(new PointsUpserted(batch)));

        Assert.Equal("hnsw", state.IndexKind);
        Assert.Equal(500, state.Count);
        var written = batch.ToDictionary(p => p.Id, p => (p.Vector, p.Payload));
        foreach (var (id, (vector, payload)) in written)
        {
            Assert.Equal(vector, state.Index.GetVector(id));
            Assert.Equal(payload, state.Payload(id));
        }
        int found = 0;
        for (int q = 0; q < 20; q++)
        {
            float[] query = RandomVector(rng, dim);
            var expected = BruteForce(written, query, DistanceMetric.Euclidean, 8);
            Assert.Equal(expected, state.Search(new SearchRequest(query, 8, 8, null, true)).Select(h => h.Id));
            found += state.Search(new SearchRequest(query, 8, 8, null, false)).Count(h => expected.Contains(h.Id));
        }
        Assert.InRange(found / 160.0, 0.95, 1.0);
    }

    // ---- Snapshots ----

    [Theory]
    [InlineData(CollectionSpec.DefaultFlatThreshold, "flat")]
    [InlineData(40, "hnsw")]
    public void A_snapshot_restores_identical_answers_and_payloads(int flatThreshold, string kind)
    {
        const int dim = 7;
        var rng = new Random(7);
        using var state = PartitionState.Create(Spec(dim, DistanceMetric.Cosine, flatThreshold));
        state.Apply(new PointsUpserted(Batch(rng, dim, 0, 120)));
        state.Apply(new PointsDeleted([MixedId(3), MixedId(4), MixedId(50)]));
        Assert.Equal(kind, state.IndexKind);

        var snapshot = state.ToSnapshot();
        using var restored = PartitionState.FromSnapshot(snapshot);

        Assert.Equal(kind == "hnsw", snapshot.IsGraph);
        Assert.Equal(kind, restored.IndexKind);
        Assert.Equal(state.Spec, restored.Spec);
        Assert.Equal(state.Count, restored.Count);
        Assert.Equal(117, restored.Count);
        Assert.Equal(state.Index.Ids().Order(), restored.Index.Ids().Order());
        foreach (int i in Enumerable.Range(0, 120))
        {
            Assert.Equal(state.Payload(MixedId(i)), restored.Payload(MixedId(i)));
            Assert.Equal(i % 2 == 0 && i is not (4 or 50), restored.Payload(MixedId(i)) is not null);
        }
        AssertSameAnswers(state, restored, rng, dim);

        // Both go on identically after the restore (the graph's level generator is part of the snapshot).
        var more = Batch(rng, dim, 120, 30);
        state.Apply(new PointsUpserted(more));
        restored.Apply(new PointsUpserted(more));
        AssertSameAnswers(state, restored, rng, dim);
    }

    [Fact]
    public void A_snapshot_of_an_empty_partition_restores_an_empty_partition()
    {
        using var state = PartitionState.Create(Spec(3, DistanceMetric.Euclidean));

        using var restored = PartitionState.FromSnapshot(state.ToSnapshot());

        Assert.Equal(0, restored.Count);
        Assert.Equal("flat", restored.IndexKind);
        Assert.Empty(restored.Search(new SearchRequest([1f, 2f, 3f], 3, 3, null, false)));
    }

    private static void AssertSameAnswers(PartitionState a, PartitionState b, Random rng, int dim)
    {
        for (int q = 0; q < 15; q++)
        {
            float[] query = RandomVector(rng, dim);
            foreach (var request in new[]
            {
                new SearchRequest(query, 5, 10, null, false),
                new SearchRequest(query, 3, 3, 16, false),
                new SearchRequest(query, 10, 10, null, true),
            })
            {
                DeepEquality.AssertEqual(a.Search(request), b.Search(request));
            }
        }
    }

    /// <summary>The k nearest ids computed independently in double precision, ties broken by id.</summary>
    private static List<PointId> BruteForce(Dictionary<PointId, (float[] Vector, byte[]? Payload)> points, float[] query, DistanceMetric metric, int k)
    {
        double Distance(float[] v)
        {
            double dot = 0, qq = 0, vv = 0, sq = 0;
            for (int i = 0; i < v.Length; i++)
            {
                dot += (double)query[i] * v[i];
                qq += (double)query[i] * query[i];
                vv += (double)v[i] * v[i];
                sq += ((double)query[i] - v[i]) * ((double)query[i] - v[i]);
            }
            return metric switch
            {
                DistanceMetric.Euclidean => sq,
                DistanceMetric.Dot => 1 - dot,
                _ => 1 - dot / Math.Sqrt(qq * vv),
            };
        }
        return [.. points.OrderBy(p => Distance(p.Value.Vector)).ThenBy(p => p.Key).Take(k).Select(p => p.Key)];
    }
}
