using System.Collections;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using VLink.Cluster.Hosting;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Serialization;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>One actor system configured from the project's HOCON, shared by the serialization tests.</summary>
public sealed class SerializationSystemFixture : IDisposable
{
    public SerializationSystemFixture()
    {
        // The node's real configuration; with no seed nodes it never tries to join anything.
        var config = VLinkConfig.Build(
            new NodeAddress("127.0.0.1", 0, [], PersistenceKind.Sqlite, "Data Source=:memory:"),
            "akka.cluster.seed-nodes = []");
        System = ActorSystem.Create("vlink-serialization-tests", config);
    }

    public ActorSystem System { get; }

    public void Dispose() => System.Terminate().Wait(TimeSpan.FromSeconds(30));
}

public sealed class SerializationTests(SerializationSystemFixture fixture) : IClassFixture<SerializationSystemFixture>
{
    private readonly VLinkSerializer _serializer = new((ExtendedActorSystem)fixture.System);

    public static TheoryData<string> SampleNames()
    {
        var names = new TheoryData<string>();
        foreach (string name in ProtocolSamples.All.Keys) names.Add(name);
        return names;
    }

    // ---- Round trips ----

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_message_round_trips_field_by_field(string sample)
    {
        var message = ProtocolSamples.All[sample];

        byte[] bytes = _serializer.ToBinary(message);
        object back = _serializer.FromBinary(bytes, _serializer.Manifest(message));

        Assert.IsType(message.GetType(), back);
        DeepEquality.AssertEqual(message, back);
        // The encoding is deterministic: what was read writes the same bytes again.
        Assert.Equal(bytes, _serializer.ToBinary(back));
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_message_is_bound_to_the_VLink_serializer_by_the_project_HOCON(string sample)
    {
        var message = ProtocolSamples.All[sample];
        var serialization = fixture.System.Serialization;

        var serializer = serialization.FindSerializerFor(message);

        Assert.IsType<VLinkSerializer>(serializer);
        Assert.Equal(VLinkSerializer.SerializerId, serializer.Identifier);
        byte[] bytes = serialization.Serialize(message);
        string manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        object back = serialization.Deserialize(bytes, serializer.Identifier, manifest);
        DeepEquality.AssertEqual(message, back);
    }

    [Fact]
    public void Samples_cover_every_protocol_message_type()
    {
        var messageTypes = typeof(IVLinkMessage).Assembly.GetTypes()
            .Where(t => !t.IsInterface && !t.IsAbstract && typeof(IVLinkMessage).IsAssignableFrom(t))
            .ToHashSet();
        var sampled = ProtocolSamples.All.Values.Select(m => m.GetType()).ToHashSet();

        Assert.NotEmpty(messageTypes);
        Assert.Empty(messageTypes.Except(sampled).Select(t => t.Name));
    }

    [Fact]
    public void Manifests_are_short_and_distinct_per_type()
    {
        var manifests = ProtocolSamples.All.Values
            .GroupBy(m => m.GetType())
            .ToDictionary(g => g.Key, g => _serializer.Manifest(g.First()));

        Assert.All(manifests.Values, m => Assert.InRange(m.Length, 1, 3));
        Assert.Equal(manifests.Count, manifests.Values.Distinct(StringComparer.Ordinal).Count());
        // Every sample of one type gets the same manifest.
        Assert.All(ProtocolSamples.All.Values, m => Assert.Equal(manifests[m.GetType()], _serializer.Manifest(m)));
    }

    [Fact]
    public void Journal_event_manifests_are_a_stable_contract()
    {
        // Journals and snapshot stores name these manifests forever: renaming one makes stored data unreadable.
        var journalled = new Dictionary<Type, string>
        {
            [typeof(PartitionInitialized)] = "EI",
            [typeof(PointsUpserted)] = "EU",
            [typeof(PointsDeleted)] = "ED",
            [typeof(PartitionSnapshot)] = "ES",
            [typeof(PayloadChanged)] = "EP",
            [typeof(MarketDataIngested)] = "EM",
            [typeof(CatalogTermStarted)] = "ET",
            [typeof(CatalogEntryAppended)] = "EA",
            [typeof(WatermarksConfirmed)] = "EW",
            [typeof(CatalogStateSnapshot)] = "EC",
            [typeof(CreateCollection)] = "CC",
            [typeof(DropCollection)] = "CD",
            [typeof(RegisterPartitionKey)] = "CK",
        };
        foreach (var message in ProtocolSamples.All.Values.Where(m => journalled.ContainsKey(m.GetType())))
            Assert.Equal(journalled[message.GetType()], _serializer.Manifest(message));
    }

    [Fact]
    public void Messages_without_fields_come_back_as_their_singleton_instances()
    {
        IVLinkMessage[] singletons = [GetCatalog.Instance, GetCatalogStatus.Instance, GetNodeInventory.Instance];
        foreach (var message in singletons)
        {
            byte[] bytes = _serializer.ToBinary(message);

            Assert.Same(message, _serializer.FromBinary(bytes, _serializer.Manifest(message)));
            Assert.Equal([VLinkSerializer.FormatVersion], bytes);
        }
    }

    [Fact]
    public void A_snapshot_of_a_real_partition_survives_the_wire_and_answers_identically()
    {
        var spec = new CollectionSpec("wire", 5, DistanceMetric.Euclidean, PartitionScheme.Hash, 2, HnswOptions.Default with { M = 6, EfConstruction = 40 }, FlatThreshold: 60);
        using var state = PartitionState.Create(spec);
        var rng = new Random(5);
        state.Apply(new PointsUpserted([.. Enumerable.Range(0, 150).Select(i => new PointWrite(
            i % 3 == 0 ? $"s{i}" : (ulong)i, ProtocolSamples.Vector(rng, 5), i % 4 == 0 ? Encoding.UTF8.GetBytes($"{{\"i\":{i}}}") : null))]));
        Assert.Equal("hnsw", state.IndexKind);

        var snapshot = state.ToSnapshot();
        var back = (PartitionSnapshot)_serializer.FromBinary(_serializer.ToBinary(snapshot), _serializer.Manifest(snapshot));
        using var restored = PartitionState.FromSnapshot(back);

        DeepEquality.AssertEqual(snapshot, back);
        for (int q = 0; q < 10; q++)
        {
            var request = new SearchRequest(ProtocolSamples.Vector(rng, 5), 7, 10, null, false);
            DeepEquality.AssertEqual(state.Search(request), restored.Search(request));
        }
    }

    // ---- Size: binary, not text ----

    [Fact]
    public void A_1536_dimensional_vector_costs_four_bytes_a_component_plus_a_small_header()
    {
        const int dim = 1536;
        var vector = ProtocolSamples.Vector(new Random(1536), dim);
        var spec = new CollectionSpec("embeddings", dim, DistanceMetric.Cosine, PartitionScheme.Hash, 16, HnswOptions.Default);
        var messages = new IVLinkMessage[]
        {
            new UpsertPoints(new PartitionRef("embeddings", "p7", 3), spec, [new PointWrite(42UL, vector, null)]),
            new PointsUpserted([new PointWrite(42UL, vector, null)]),
            new SearchPartition(new PartitionRef("embeddings", "p7", 3), new SearchRequest(vector, 10, 20, 128, false)),
            new NodeSearch("embeddings", new SearchRequest(vector, 10, 20, null, false), 3),
        };
        byte[] raw = MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();
        int json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(vector).Length;

        foreach (var message in messages)
        {
            byte[] bytes = fixture.System.Serialization.Serialize(message);
            Assert.InRange(bytes.Length, 4 * dim, 4 * dim + 120);
            Assert.True(bytes.Length < json / 2, $"{message.GetType().Name}: {bytes.Length} bytes, JSON of the vector alone is {json}");
            if (BitConverter.IsLittleEndian)
                Assert.True(bytes.AsSpan().IndexOf(raw) >= 0, $"{message.GetType().Name} does not hold the vector's raw bytes");
        }
    }

    // ---- Refusals ----

    [Theory]
    [InlineData("ZZ")]
    [InlineData("")]
    [InlineData("up")]
    [InlineData("UpsertPoints")]
    public void An_unknown_manifest_is_refused_by_name(string manifest)
    {
        byte[] bytes = _serializer.ToBinary(new CatalogAck(1, 2));

        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, manifest));
        Assert.Contains($"'{manifest}'", e.Message);
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Truncated_bytes_are_refused(string sample)
    {
        var message = ProtocolSamples.All[sample];
        string manifest = _serializer.Manifest(message);
        byte[] bytes = _serializer.ToBinary(message);

        foreach (int length in CutPoints(bytes.Length))
        {
            byte[] cut = bytes[..length];
            Assert.Throws<SerializationException>(() => _serializer.FromBinary(cut, manifest));
        }
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Trailing_bytes_are_refused(string sample)
    {
        var message = ProtocolSamples.All[sample];
        byte[] longer = [.. _serializer.ToBinary(message), 0];

        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary(longer, _serializer.Manifest(message)));
        Assert.Contains("trailing", e.Message);
    }

    [Fact]
    public void An_unknown_format_version_is_refused()
    {
        byte[] bytes = _serializer.ToBinary(new CatalogTermStarted(3));
        bytes[0] = VLinkSerializer.FormatVersion + 1;

        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, _serializer.Manifest(new CatalogTermStarted(3))));
        Assert.Contains("version", e.Message);
    }

    [Fact]
    public void Version_1_points_and_snapshots_are_still_read_without_documents()
    {
        // Version 1 wrote no document after a point's payload and no document list after a snapshot's payloads:
        // the same bytes as version 2 minus those trailing fields.
        var upserted = new PointsUpserted([new PointWrite(9UL, [1f, 2f], [7])]);
        byte[] v7 = _serializer.ToBinary(upserted);
        Assert.Equal(0, v7[^13]); // the absent document, then the version (12 bytes)
        byte[] v1 = [1, .. v7[1..^13]];
        DeepEquality.AssertEqual(upserted, _serializer.FromBinary(v1, "EU"));

        var snapshot = new PartitionSnapshot(ProtocolSamples.DotSpec, [3, 4], false, [new KeyValuePair<PointId, byte[]>(2UL, [5])]);
        byte[] snapshotV4 = _serializer.ToBinary(snapshot);
        Assert.Equal([0, 0, 0, 0], snapshotV4[^4..]); // an empty document list, no market state, no versions, no tombstones
        // The spec's absent regime, quantization, regions and text, then its replication factor and write consistency.
        int specEnd = _serializer.ToBinary(new PartitionInitialized(ProtocolSamples.DotSpec)).Length - 12;
        var back = (PartitionSnapshot)_serializer.FromBinary([1, .. snapshotV4[1..specEnd], .. snapshotV4[(specEnd + 12)..^4]], "ES");
        DeepEquality.AssertEqual(snapshot, back);
        Assert.Empty(back.Documents);

        // A version 1 reading of version 2 bytes would see trailing bytes: the version decides the layout.
        byte[] withDocument = _serializer.ToBinary(new PointsUpserted([new PointWrite(9UL, [1f, 2f], null, "x")]));
        withDocument[0] = 1;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(withDocument, "EU"));
    }

    [Fact]
    public void Version_2_specs_and_snapshots_are_still_read_as_plain_collections()
    {
        // Version 2 ended a collection spec after its flat threshold and a snapshot after its documents.
        var create = new CreateCollection(ProtocolSamples.HashSpec);
        byte[] v4 = _serializer.ToBinary(create);
        Assert.Equal([0, 0, 0, 0], v4[^12..^8]); // no regime spec, no quantization, no regions, no text; then replication
        DeepEquality.AssertEqual(create, _serializer.FromBinary([2, .. v4[1..^12]], "CC"));

        var snapshot = new PartitionSnapshot(ProtocolSamples.DotSpec, [3, 4], false, [], [new KeyValuePair<PointId, string>(1UL, "d")]);
        byte[] snapshotV4 = _serializer.ToBinary(snapshot);
        // The spec (whose last bytes are the absent regime, quantization and regions) comes first; a version 2 writer had neither those bytes nor the last.
        int specEnd = _serializer.ToBinary(new PartitionInitialized(ProtocolSamples.DotSpec)).Length - 12;
        Assert.Equal([0, 0, 0, 0], snapshotV4[specEnd..(specEnd + 4)]);
        byte[] v2 = [2, .. snapshotV4[1..specEnd], .. snapshotV4[(specEnd + 12)..^3]]; // without market state, versions, tombstones
        DeepEquality.AssertEqual(snapshot, _serializer.FromBinary(v2, "ES"));

        // A regime collection's spec does not fit a version 2 reading.
        byte[] regime = _serializer.ToBinary(new CreateCollection(ProtocolSamples.RegimeCollection));
        regime[0] = 2;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(regime, "CC"));
    }

    [Fact]
    public void Version_3_specs_are_read_unquantized_and_a_quantized_spec_round_trips()
    {
        var create = new CreateCollection(ProtocolSamples.QuantizedSpec);
        byte[] v4 = _serializer.ToBinary(create);
        var back = (CreateCollection)_serializer.FromBinary(v4, "CC");
        DeepEquality.AssertEqual(create, back);
        Assert.Equal(0.97, back.Spec.Hnsw.Quantization!.Quantile);
        Assert.True(back.Spec.Hnsw.Quantization.OriginalsInRam);

        // Version 3 ended a spec after the regime: the same bytes without the quantization (and regions) are a plain collection.
        byte[] plain = _serializer.ToBinary(new CreateCollection(ProtocolSamples.HashSpec));
        var v3 = (CreateCollection)_serializer.FromBinary([3, .. plain[1..^11]], "CC");
        DeepEquality.AssertEqual(new CreateCollection(ProtocolSamples.HashSpec), v3);
        Assert.Null(v3.Spec.Hnsw.Quantization);

        // A version 3 reading of a quantized spec sees trailing bytes: the version decides the layout.
        v4[0] = 3;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(v4, "CC"));
    }

    [Fact]
    public void Version_4_specs_catalogs_and_searches_read_without_regions()
    {
        // Version 4 ended a spec after the quantization, a catalog entry after its generation, a search request after its filter.
        byte[] plain = _serializer.ToBinary(new CreateCollection(ProtocolSamples.QuantizedSpec));
        Assert.Equal([0, 0], plain[^10..^8]); // no regions, no text; then replication
        DeepEquality.AssertEqual(new CreateCollection(ProtocolSamples.QuantizedSpec), _serializer.FromBinary([4, .. plain[1..^10]], "CC"));

        var entry = new CollectionEntry(ProtocolSamples.HashSpec, [], 5);
        byte[] snapshot = _serializer.ToBinary(new CatalogSnapshot(1, 2, [entry]));
        // From the end: settings (1 byte), schema version (4), phase (1), centroid count (1), generation (8), key count (1),
        // the spec's replication (8), its absent regions and text (2). Version 4 had none of the spec's last 10 bytes, no
        // centroids and no phase.
        Assert.Equal([0, 0, 0, 0, 0], new[] { snapshot[^26], snapshot[^25], snapshot[^16], snapshot[^7], snapshot[^6] });
        byte[] v4 = [4, .. snapshot[1..^26], .. snapshot[^16..^7], .. snapshot[^5..]];
        Assert.Equal(snapshot.Length - 12, v4.Length);
        var back = (CatalogSnapshot)_serializer.FromBinary(v4, "CS");
        DeepEquality.AssertEqual(new CatalogSnapshot(1, 2, [entry]), back);
        Assert.Equal(RegionPhase.Staging, back.Collections[0].Phase);

        var search = new NodeSearch("c", new SearchRequest([1f], 1, 1, null, false), 3);
        byte[] searchBytes = _serializer.ToBinary(search)[..^16]; // less the budget (format 12) and the replica choice (format 9)
        // The request's last byte is its absent key list; the generation (8 bytes) follows it.
        byte[] searchV4 = [4, .. searchBytes[1..^9], .. searchBytes[^8..]];
        var read = (NodeSearch)_serializer.FromBinary(searchV4, "NS");
        Assert.Null(read.Request.Keys);
        Assert.True(read.Request.Visits("anything"));

        // A region spec does not fit a version 4 reading.
        byte[] regions = _serializer.ToBinary(new CreateCollection(ProtocolSamples.RegionSpec));
        regions[0] = 4;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(regions, "CC"));
    }

    [Fact]
    public void Node_searches_carry_the_replica_choice_and_version_8_ones_read_replica_0()
    {
        var choice = new ReplicaChoice(3, 7);
        var search = new NodeSearch("c", new SearchRequest([1f], 1, 1, null, false), 3, choice);
        Assert.Equal(choice, ((NodeSearch)_serializer.FromBinary(_serializer.ToBinary(search), "NS")).Replicas);
        var batch = new NodeSearchBatch("c", [new SearchRequest([1f], 1, 1, null, false)], 3, choice);
        Assert.Equal(choice, ((NodeSearchBatch)_serializer.FromBinary(_serializer.ToBinary(batch), "NB")).Replicas);

        byte[] bytes = _serializer.ToBinary(search);
        byte[] v8 = [8, .. bytes[1..^16]]; // less the budget (format 12) and the replica choice (format 9)
        var read = (NodeSearch)_serializer.FromBinary(v8, "NS");
        Assert.Equal(default, read.Replicas);
        Assert.True(read.Replicas.Reads(new PartitionRef("c", "p1", 3)));
        Assert.False(read.Replicas.Reads(new PartitionRef("c", "p1", 3, Replica: 1)));

        // Each partition is read from exactly one of its replicas, and the offset moves which.
        var keys = Enumerable.Range(0, 12).Select(i => $"p{i}").ToList();
        foreach (var offset in new[] { 0, 1, 2 })
        {
            var c = new ReplicaChoice(3, offset);
            Assert.All(keys, k => Assert.Single(Enumerable.Range(0, 3), r => c.Reads(new PartitionRef("c", k, 1, r))));
        }
        Assert.NotEqual(new ReplicaChoice(3, 0).ReplicaOf("p1"), new ReplicaChoice(3, 1).ReplicaOf("p1"));
    }

    [Fact]
    public void Version_5_specs_are_read_without_text_and_a_text_spec_round_trips()
    {
        var create = new CreateCollection(ProtocolSamples.TextSpec);
        byte[] v6 = _serializer.ToBinary(create);
        var back = (CreateCollection)_serializer.FromBinary(v6, "CC");
        DeepEquality.AssertEqual(create, back);
        Assert.Equal(create.Spec, back.Spec);
        Assert.Equal(["title", "body.text"], back.Spec.Text!.Fields);
        Assert.Equal("glove-6b-100d-sif@0123456789ab", back.Spec.Text.Embedding!.ModelId);
        Assert.Null(back.Spec.Text.Embedding.Url);

        // Version 5 ended a spec after the regions: the same bytes without the text are a plain collection.
        byte[] plain = _serializer.ToBinary(new CreateCollection(ProtocolSamples.HashSpec));
        var v5 = (CreateCollection)_serializer.FromBinary([5, .. plain[1..^9]], "CC");
        DeepEquality.AssertEqual(new CreateCollection(ProtocolSamples.HashSpec), v5);
        Assert.Null(v5.Spec.Text);

        v6[0] = 5;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(v6, "CC"));
    }

    [Fact]
    public void Version_6_points_deletes_and_snapshots_read_without_versions()
    {
        var version = new PointVersion(123_456L << 16 | 2, 42);
        var upserted = new PointsUpserted([new PointWrite(9UL, [1f, 2f], [7], "d", version)]);
        byte[] v7 = _serializer.ToBinary(upserted);
        var back = (PointsUpserted)_serializer.FromBinary(v7, "EU");
        Assert.Equal(version, back.Points[0].Version);
        // Version 6 ended a point after its document: the same bytes without the version read as none.
        var v6 = (PointsUpserted)_serializer.FromBinary([6, .. v7[1..^12]], "EU");
        DeepEquality.AssertEqual(new PointsUpserted([new PointWrite(9UL, [1f, 2f], [7], "d")]), v6);
        Assert.True(v6.Points[0].Version.IsNone);

        byte[] deleted = _serializer.ToBinary(new PointsDeleted([5UL], version));
        Assert.True(((PointsDeleted)_serializer.FromBinary([6, .. deleted[1..^12]], "ED")).Version.IsNone);

        var snapshot = new PartitionSnapshot(ProtocolSamples.DotSpec, [3], false, [])
        {
            Versions = [new KeyValuePair<PointId, PointVersion>(1UL, version)],
            Tombstones = [new KeyValuePair<PointId, PointVersion>("x", version)],
        };
        byte[] snapshotV7 = _serializer.ToBinary(snapshot);
        DeepEquality.AssertEqual(snapshot, _serializer.FromBinary(snapshotV7, "ES"));
        byte[] plain = _serializer.ToBinary(new PartitionSnapshot(ProtocolSamples.DotSpec, [3], false, []));
        int specEnd = _serializer.ToBinary(new PartitionInitialized(ProtocolSamples.DotSpec)).Length; // the spec ends with replication (8 bytes)
        var old = (PartitionSnapshot)_serializer.FromBinary([6, .. plain[1..(specEnd - 8)], .. plain[specEnd..^2]], "ES");
        Assert.Empty(old.Versions);
        Assert.Empty(old.Tombstones);

        // A version 6 reading of version 7 bytes sees trailing bytes: the version decides the layout.
        v7[0] = 6;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(v7, "EU"));
    }

    [Fact]
    public void Version_7_partitions_read_as_replica_zero_and_specs_with_one_replica()
    {
        var replicated = new PartitionInitialized(ProtocolSamples.HashSpec with { ReplicationFactor = 3, WriteConsistency = 2 });
        byte[] v8 = _serializer.ToBinary(replicated);
        Assert.Equal((3, 2), (((PartitionInitialized)_serializer.FromBinary(v8, "EI")).Spec.ReplicationFactor, ((PartitionInitialized)_serializer.FromBinary(v8, "EI")).Spec.WriteConsistency));
        var v7 = (PartitionInitialized)_serializer.FromBinary([7, .. v8[1..^8]], "EI");
        Assert.Equal((1, 1), (v7.Spec.ReplicationFactor, v7.Spec.WriteConsistency));

        byte[] stats = _serializer.ToBinary(new GetPartitionStats(new PartitionRef("c", "k", 4, 2)));
        Assert.Equal(2, stats[^1]);
        Assert.Equal(new PartitionRef("c", "k", 4), ((GetPartitionStats)_serializer.FromBinary([7, .. stats[1..^1]], "GS")).Partition);
        stats[^1] = CollectionSpec.MaxReplicationFactor;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(stats, "GS"));
    }

    [Fact]
    public void Version_9_partition_stats_read_without_a_digest()
    {
        var stats = new PartitionStats(new PartitionRef("c", "k", 4, 1), 5, "flat", 10, 3, 0, 0xABCDEFUL, new PointVersion(99, 2));
        byte[] current = _serializer.ToBinary(stats);
        Assert.Equal(stats, _serializer.FromBinary(current, "PS"));
        // Version 10 added the digest (8 bytes) and the high water (12 bytes); version 11 the history flag (1 byte);
        // version 13 the unlinked points (4 bytes).
        var v9 = (PartitionStats)_serializer.FromBinary([9, .. current[1..^25]], "PS");
        Assert.Equal(stats with { Digest = 0, HighWater = PointVersion.None }, v9);
    }

    [Fact]
    public void Version_10_partition_stats_read_as_not_having_lost_history()
    {
        var stats = new PartitionStats(new PartitionRef("c", "k", 4, 1), 5, "flat", 10, 3, 0, 0xABCDEFUL, new PointVersion(99, 2)) { HistoryLost = true };
        byte[] current = _serializer.ToBinary(stats);
        Assert.Equal(stats, _serializer.FromBinary(current, "PS"));
        Assert.Equal(1, current[^5]);
        var v10 = (PartitionStats)_serializer.FromBinary([10, .. current[1..^5]], "PS");
        Assert.Equal(stats with { HistoryLost = false }, v10);
    }

    [Fact]
    public void Version_12_partition_stats_read_as_holding_every_point_linked()
    {
        var stats = new PartitionStats(new PartitionRef("c", "k", 4, 1), 5000, "hnsw", 10, 3, 0, 1UL, new PointVersion(9, 2)) { HistoryLost = true, Unlinked = 1234 };
        byte[] current = _serializer.ToBinary(stats);
        Assert.Equal(stats, _serializer.FromBinary(current, "PS"));
        var v12 = (PartitionStats)_serializer.FromBinary([12, .. current[1..^4]], "PS");
        Assert.Equal(stats with { Unlinked = 0 }, v12);
    }

    [Fact]
    public void Market_batches_refuse_sequences_that_do_not_increase()
    {
        var bad = new MarketDataIngested(new MarketBatch("s", [5, 5], [new VLink.Core.Ingest.Tick(1, 1), new VLink.Core.Ingest.Tick(2, 1)], []));
        Assert.Throws<SerializationException>(() => _serializer.ToBinary(bad));
        var ok = _serializer.ToBinary(new MarketDataIngested(new MarketBatch("s", [5, 6], [new VLink.Core.Ingest.Tick(1, 1), new VLink.Core.Ingest.Tick(2, 1)], [])));
        // "s": length 1 + 1 byte, count 2, kind 0, then the first sequence step 5 and the second step 1.
        Assert.Equal(5, ok[5]);
        Assert.Equal(1, ok[6]);
        ok[6] = 0; // a zero step would repeat a sequence number
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(ok, "EM"));
    }

    [Fact]
    public void Damaged_fields_are_refused()
    {
        // PointsDeleted([5]): version, count 1, tag 0, 8 bytes of id, the delete's version (8 + 4 bytes).
        byte[] ids = _serializer.ToBinary(new PointsDeleted([5UL]));
        Assert.Equal(23, ids.Length);
        byte[] badTag = (byte[])ids.Clone();
        badTag[2] = 7;
        Assert.Contains("tag", Assert.Throws<SerializationException>(() => _serializer.FromBinary(badTag, "ED")).Message);

        // A huge count must fail as damage, not as an attempt to allocate it.
        byte[] hugeCount = [VLinkSerializer.FormatVersion, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0];
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(hugeCount, "ED"));
        byte[] endlessCount = [VLinkSerializer.FormatVersion, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0];
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(endlessCount, "ED"));

        // CatalogRejected("abc"): version, length 3, 'a', 'b', 'c'; 0xFF is never valid UTF-8.
        byte[] text = _serializer.ToBinary(new CatalogRejected("abc"));
        text[2] = 0xFF;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(text, "CR"));

        // A string point id must not be empty: PointsDeleted(["x"]) with its length set to 0 and the byte dropped.
        byte[] emptyId = [VLinkSerializer.FormatVersion, 1, 1, 0];
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(emptyId, "ED"));

        // GetPoints ends with a bool: 2 is neither true nor false.
        byte[] flag = _serializer.ToBinary(new GetPoints(new PartitionRef("c", "k", 0), [], true));
        flag[^1] = 2;
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(flag, "GP"));
    }

    [Fact]
    public void An_undefined_enum_value_is_refused()
    {
        var spec = ProtocolSamples.HashSpec;
        byte[] bytes = _serializer.ToBinary(new PartitionInitialized(spec));
        // version, name (length byte + bytes), dimension (4), then the metric byte.
        int metricOffset = 1 + 1 + Encoding.UTF8.GetByteCount(spec.Name) + 4;
        Assert.Equal((byte)spec.Metric, bytes[metricOffset]);
        bytes[metricOffset] = 77;

        Assert.Contains("DistanceMetric", Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, "EI")).Message);
    }

    [Fact]
    public void A_nested_catalog_change_with_an_unknown_or_wrong_manifest_is_refused()
    {
        var entry = new CatalogEntryAppended(1, 2, new DropCollection("x"));
        byte[] bytes = _serializer.ToBinary(entry);
        // version, term (8), index (8), manifest length 2, "CD", then the change.
        const int manifestOffset = 1 + 8 + 8 + 1;
        Assert.Equal("CD"u8.ToArray(), bytes[manifestOffset..(manifestOffset + 2)]);

        byte[] unknown = (byte[])bytes.Clone();
        unknown[manifestOffset] = (byte)'Z';
        unknown[manifestOffset + 1] = (byte)'Z';
        Assert.Contains("'ZZ'", Assert.Throws<SerializationException>(() => _serializer.FromBinary(unknown, "EA")).Message);

        // CatalogRejected has the same layout as DropCollection but is not a catalog command.
        byte[] wrong = (byte[])bytes.Clone();
        wrong[manifestOffset + 1] = (byte)'R';
        Assert.Contains("catalog command", Assert.Throws<SerializationException>(() => _serializer.FromBinary(wrong, "EA")).Message);
    }

    [Fact]
    public void Objects_that_are_not_VLink_messages_are_refused()
    {
        Assert.Throws<SerializationException>(() => _serializer.ToBinary("text"));
        Assert.Throws<SerializationException>(() => _serializer.Manifest(new PointWrite(1UL, [1f], null)));
        Assert.IsNotType<VLinkSerializer>(fixture.System.Serialization.FindSerializerFor("text"));
    }

    [Fact]
    public void A_null_in_a_non_nullable_field_is_refused_when_writing()
    {
        Assert.Throws<SerializationException>(() => _serializer.ToBinary(new CatalogRejected(null!)));
        Assert.Throws<SerializationException>(() => _serializer.ToBinary(new WriteAck(default, 1, 1)));
        Assert.Throws<SerializationException>(() => _serializer.ToBinary(new PointsUpserted([new PointWrite(1UL, null!, null)])));
        Assert.Throws<SerializationException>(() => _serializer.ToBinary(new PointsDeleted(null!)));
    }

    // ---- The comparer itself must be able to fail ----

    [Fact]
    public void The_deep_comparer_notices_small_differences()
    {
        Assert.Null(DeepEquality.FirstDifference(new PointWrite("a", [1f, 2f], null), new PointWrite("a", [1f, 2f], null)));
        Assert.NotNull(DeepEquality.FirstDifference(new PointWrite("a", [0f], null), new PointWrite("a", [-0f], null)));
        Assert.NotNull(DeepEquality.FirstDifference(new PointWrite("a", [1f], null), new PointWrite("a", [BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1f) + 1)], null)));
        Assert.NotNull(DeepEquality.FirstDifference(new PointWrite("a", [1f], null), new PointWrite("a", [1f], [])));
        Assert.NotNull(DeepEquality.FirstDifference(new PointWrite(1UL, [1f], null), new PointWrite("1", [1f], null)));
        Assert.NotNull(DeepEquality.FirstDifference(new PointsDeleted([1UL]), new PointsDeleted([1UL, 2UL])));
        Assert.NotNull(DeepEquality.FirstDifference(
            new CollectionEntry(ProtocolSamples.HashSpec, [], 1),
            new CollectionEntry(ProtocolSamples.HashSpec with { Hnsw = ProtocolSamples.HashSpec.Hnsw with { FilteredScanSelectivity = 0.5 } }, [], 1)));
        Assert.NotNull(DeepEquality.FirstDifference(new CatalogAck(1, 2), new CatalogAck(1, 3)));
    }

    // Every cut of a small message; for a large one the first and last bytes and a spread in between.
    private static IEnumerable<int> CutPoints(int length)
    {
        if (length <= 256) return Enumerable.Range(0, length);
        return Enumerable.Range(0, 64)
            .Concat(Enumerable.Range(length - 64, 64))
            .Concat(Enumerable.Range(1, 63).Select(i => (int)((long)length * i / 64)))
            .Distinct();
    }
}

/// <summary>Messages with non-trivial values: odd dimensions, both kinds of ids, empty lists, absent payloads.</summary>
internal static class ProtocolSamples
{
    public static readonly CollectionSpec HashSpec = new(
        "docs.v2_en-GB", 3, DistanceMetric.Cosine, PartitionScheme.Hash, 16,
        new HnswOptions { M = 12, EfConstruction = 150, EfSearch = 77, Seed = -9, FilteredScanSelectivity = 1.0 / 3 },
        FlatThreshold: 1234);

    public static readonly CollectionSpec KeySpec = new(
        "markets", 1537, DistanceMetric.Euclidean, PartitionScheme.Key, 0, HnswOptions.Default, FlatThreshold: 0);

    public static readonly CollectionSpec RegimeCollection = RegimeSpec.Default(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(2)).Collection("regimes");

    public static readonly MarketBatch TickBatch = new("ticks.csv", [1, 2, 130, 131, 132, long.MaxValue],
    [
        new VLink.Core.Ingest.Tick(638_000_000_000_000_000, 101.25),
        new VLink.Core.Ingest.Tick(638_000_000_010_000_000, 101.5, 3),
        new VLink.Core.Ingest.Tick(638_000_000_020_000_000, 100.75, null, 100.5, 101),
        new VLink.Core.Ingest.Tick(637_000_000_000_000_000, 100, 0.25), // behind the previous: a negative step
        new VLink.Core.Ingest.Tick(0, 100, -0.0),
        new VLink.Core.Ingest.Tick(DateTime.MaxValue.Ticks, double.Epsilon, 0, double.MaxValue, null),
    ], []);

    public static readonly MarketBatch BarBatch = new("東京 feed", [7, 8],
    [],
    [
        new VLink.Core.Ingest.Bar(0, TimeSpan.TicksPerDay, 1, 2, 0.5, 1.5, 1e9),
        new VLink.Core.Ingest.Bar(TimeSpan.TicksPerDay, 2 * TimeSpan.TicksPerDay, 1.5, 1.5, 1.5, 1.5),
    ]);

    public static readonly CollectionSpec QuantizedSpec = new(
        "q8", 129, DistanceMetric.Euclidean, PartitionScheme.Hash, 3,
        HnswOptions.Default with { Quantization = new ScalarQuantization { Quantile = 0.97, Oversampling = 2.5, OriginalsInRam = true, TrainingPoints = 77 } });

    public static readonly CollectionSpec RegionSpec = new(
        "regions", 4, DistanceMetric.Cosine, PartitionScheme.Region, 12, HnswOptions.Default, Regions: new VLink.Cluster.Protocol.RegionSpec(50_000, 3));
    public static readonly CollectionSpec TextSpec = new(
        "docs", 100, DistanceMetric.Cosine, PartitionScheme.Hash, 4, HnswOptions.Default,
        Text: new TextSpec(["title", "body.text"], new EmbeddingSpec("default", "glove-6b-100d-sif@0123456789ab")));

    public static readonly CollectionSpec DotSpec = new("d", 1, DistanceMetric.Dot, PartitionScheme.Hash, 65536, HnswOptions.Default with { Seed = int.MaxValue });

    public static IReadOnlyDictionary<string, IVLinkMessage> All { get; } = Build();

    /// <summary>Values in [-1, 1) with a few extremes sprinkled in (never NaN).</summary>
    public static float[] Vector(Random rng, int dim)
    {
        var v = new float[dim];
        for (int i = 0; i < dim; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    private static IReadOnlyDictionary<string, IVLinkMessage> Build()
    {
        var rng = new Random(20240611);
        float[] special = [-0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, 1e-38f, 0.1f];
        var p3 = new PartitionRef("docs.v2_en-GB", "p3", 17);
        var market = new PartitionRef("markets", "BTC-USD/€ünïcødé 東京", long.MaxValue);
        byte[] json = Encoding.UTF8.GetBytes("{\"title\":\"Grüße\",\"n\":1}");
        PointWrite[] threeD =
        [
            new(0UL, Vector(rng, 3), json),
            new(ulong.MaxValue, Vector(rng, 3), null),
            new("3f2504e0-4f89-11d3-9a0c-0305e82c3301", Vector(rng, 3), [], "Grüße aus Zürich 🚀\nline two"),
            new("ünï 🚀", [-0f, float.Epsilon, 1f], [0, 255, 128], ""),
        ];
        PointWrite[] wide = [new(7UL, Vector(rng, 1537), json), new("wide", [.. special, .. Vector(rng, 1537 - special.Length)], null)];
        PointWrite[] single = [new(1UL, [0.5f], null), new("one", [float.MaxValue], [42])];
        var v1 = new PointVersion(1_717_171_717_171L << 16 | 3, -7);
        var v2 = new PointVersion(long.MaxValue, int.MaxValue);
        PointWrite[] versioned = [new(5UL, [1f, 2f, 3f], json, "doc", v1), new("late", [0f, 1f, 0f], null, null, v2)];
        PointId[] ids = [0UL, 1UL, ulong.MaxValue, "a", "ünï 🚀", new string('x', 300)];
        SearchHit[] hits = [new(3UL, -0.25f), new("b", 0f), new("c", -0f), new(ulong.MaxValue, float.MaxValue)];
        var create = new CreateCollection(HashSpec);
        var snapshotPayloads = new[] { new KeyValuePair<PointId, byte[]>(1UL, json), new KeyValuePair<PointId, byte[]>("z", [1, 2, 3]) };
        byte[] filter = Encoding.UTF8.GetBytes("""{"must":[{"key":"n","range":{"gte":1}}]}""");
        var indexBytes = new byte[10_001];
        rng.NextBytes(indexBytes);

        var samples = new Dictionary<string, IVLinkMessage>
        {
            // PartitionCommands.cs
            ["UpsertPoints/3d mixed ids and payloads"] = new UpsertPoints(p3, HashSpec, threeD),
            ["UpsertPoints/1537d key partition"] = new UpsertPoints(market, KeySpec, wide),
            ["UpsertPoints/1d"] = new UpsertPoints(new PartitionRef("d", "p65535", 0), DotSpec, single),
            ["UpsertPoints/empty"] = new UpsertPoints(p3, HashSpec, []),
            ["DeletePoints/mixed"] = new DeletePoints(p3, ids),
            ["DeletePoints/empty"] = new DeletePoints(market, []),
            ["DeletePoints/versioned"] = new DeletePoints(p3, ids, v2),
            ["GetPartitionStats/replica"] = new GetPartitionStats(p3.WithReplica(15)),
            ["PartitionInitialized/replicated"] = new PartitionInitialized(HashSpec with { ReplicationFactor = 3, WriteConsistency = 2 }),
            ["WriteAck"] = new WriteAck(market, int.MaxValue, long.MaxValue),
            ["WriteAck/negative"] = new WriteAck(p3, -1, long.MinValue),
            ["WriteRejected"] = new WriteRejected(p3, "points[3] (id ünï 🚀): wrong dimension\nexpected 3, got 2"),
            ["WriteRejected/empty reason"] = new WriteRejected(p3, ""),
            ["GetPoints/with vector"] = new GetPoints(p3, ids, true),
            ["GetPoints/empty"] = new GetPoints(market, [], false),
            ["PointsFound"] = new PointsFound(p3,
            [
                new PointRecord(1UL, Vector(rng, 3), json),
                new PointRecord("no-vector", null, json),
                new PointRecord("nothing", null, null),
                new PointRecord("text only", null, null, "a document"),
                new PointRecord(ulong.MaxValue, special, []),
                new PointRecord("versioned", null, json, "d", v1),
            ]),
            ["PointsFound/empty"] = new PointsFound(market, []),
            ["GetPartitionStats"] = new GetPartitionStats(market),
            ["PartitionStats"] = new PartitionStats(p3, 123_456, "hnsw", 9_876_543_210L, 4_000_000_001L, 77_000_000_003L),
            ["PartitionStats/replica digest"] = new PartitionStats(p3.WithReplica(1), 5, "flat", 1, 2, 0, ulong.MaxValue - 3, new PointVersion(1L << 40, 17)),
            ["PartitionStats/history lost"] = new PartitionStats(p3.WithReplica(2), 0, "empty", 0, 3) { HistoryLost = true },
            ["DeletePointsByFilter"] = new DeletePointsByFilter(p3, filter),
            ["DeletePointsByFilter/versioned"] = new DeletePointsByFilter(p3, filter, v1),
            ["ScrollPartition/from number"] = new ScrollPartition(p3, filter, 17UL, 101, true, false),
            ["ScrollPartition/from string, no filter"] = new ScrollPartition(market, null, "ünï 🚀", int.MaxValue, false, true),
            ["ScrollPartition/from the start"] = new ScrollPartition(market, null, null, 1, false, false),
            ["CountPartition"] = new CountPartition(p3, filter),
            ["CountPartition/all"] = new CountPartition(market, null),
            ["PointCount"] = new PointCount(market, long.MaxValue),
            ["ChangePayload/set by ids"] = new ChangePayload(p3, PayloadChangeKind.Set, json, [], ids, null),
            ["ChangePayload/delete keys by filter"] = new ChangePayload(market, PayloadChangeKind.DeleteKeys, null, ["a", "b.c", "ünï"], null, filter),
            ["ChangePayload/clear, no ids"] = new ChangePayload(p3, PayloadChangeKind.Clear, null, [], [], null),
            ["ChangePayload/versioned"] = new ChangePayload(p3, PayloadChangeKind.Set, json, [], ids, null, v1),
            ["SealPartition"] = new SealPartition(new PartitionRef("regions", "s", 4)),
            ["WriteSealed"] = new WriteSealed(new PartitionRef("regions", "s", long.MaxValue)),

            // JournalMessages.cs
            ["JournalUnavailable"] = new JournalUnavailable("the journal (PostgreSQL at 127.0.0.1:5432, database vlink) is unreachable: Failed to connect ✗"),
            ["JournalUnavailable/empty reason"] = new JournalUnavailable(""),

            // MarketMessages.cs
            ["IngestMarketData/ticks"] = new IngestMarketData(market, RegimeCollection, TickBatch),
            ["IngestMarketData/bars"] = new IngestMarketData(market, RegimeCollection, BarBatch),
            ["IngestMarketData/empty"] = new IngestMarketData(market, RegimeCollection, new MarketBatch("s", [], [], [])),
            ["MarketIngestAck"] = new MarketIngestAck(market, 10, 3, 2,
                [new(VLink.Core.Ingest.RowErrorKind.TimeBackwards, 1), new(VLink.Core.Ingest.RowErrorKind.InvalidValue, 1)],
                [new VLink.Core.Ingest.RowError("ticks.csv", 130, VLink.Core.Ingest.RowErrorKind.TimeBackwards, "behind ✓")], 5, 4, long.MaxValue),
            ["MarketIngestAck/duplicate"] = new MarketIngestAck(market, 0, 100, 0, [], [], 0, 0, 0),
            ["FindRegimeVector"] = new FindRegimeVector(market, long.MaxValue),
            ["GetMarketStats"] = new GetMarketStats(market),
            ["GetBaseRate"] = new GetBaseRate(market, 1.2e9, null, [5, 20]),
            ["GetBaseRate/open"] = new GetBaseRate(market, null, 1.6e9, []),
            ["BaseRate"] = new BaseRate(market, [new OutcomeSums(5, 4000, 2100, 12.5, -0.25), new OutcomeSums(20, 0, 0, 0, 0)]),
            ["MarketStats"] = new MarketStats(market, 1_000_000, 700, 640, 3, long.MinValue, long.MaxValue, 5, 1, [new("ticks.csv", 1_000_002), new("東京", 1)], 99),
            ["MarketStats/empty"] = new MarketStats(market, 0, 0, 0, 0, long.MinValue, long.MinValue, long.MinValue, 0, [], 0),

            // SearchMessages.cs
            ["SearchPartition/1537d ef"] = new SearchPartition(market, new SearchRequest(Vector(rng, 1537), 10, 25, 300, false)),
            ["SearchPartition/3d exact"] = new SearchPartition(p3, new SearchRequest([-0f, 1f, float.Epsilon], 1, 1, null, true)),
            ["SearchPartition/filter"] = new SearchPartition(p3, new SearchRequest([1f, 2f, 3f], 5, 10, 64, false,
                System.Text.Encoding.UTF8.GetBytes("""{"must":[{"key":"city","match":{"value":"Zürich"}}]}"""))),
            ["PartitionHits"] = new PartitionHits(p3, hits, 2_001, 12_345),
            ["PartitionHits/empty"] = new PartitionHits(market, [], 0, 0),
            ["NodeSearch"] = new NodeSearch("markets", new SearchRequest(Vector(rng, 1), 5, 10, 64, true), long.MaxValue),
            ["NodeSearch/probed regions"] = new NodeSearch("regions", new SearchRequest(Vector(rng, 4), 5, 10, null, false, null, ["r3", "r0", "東京"]), 2),
            ["NodeSearch/no regions"] = new NodeSearch("regions", new SearchRequest(Vector(rng, 4), 5, 10, null, false, filter, []), 2),
            ["NodeHits"] = new NodeHits("akka.tcp://vlink@10.0.0.7:4053", hits,
                [new PartitionTiming("docs.v2_en-GB/p3", 20, 1500), new PartitionTiming("markets/ETH", 0, long.MaxValue)], 3_333),
            ["NodeHits/empty"] = new NodeHits("", [], [], 0),
            ["ChunkedSnapshot"] = new ChunkedSnapshot(3, 12_345_678),
            ["NodeHits/missing"] = new NodeHits("akka.tcp://vlink@10.0.0.7:4053", hits, [new PartitionTiming("docs@4/p3", 20, 1500)], 3_333, ["docs@4/p5", "docs@4#2/p7"]),
            ["NodeSearch/replica choice"] = new NodeSearch("docs", new SearchRequest(Vector(rng, 3), 5, 10, null, false), 4, new ReplicaChoice(3, 17)),
            ["NodeSearch/budget"] = new NodeSearch("docs", new SearchRequest(Vector(rng, 3), 5, 10, null, false), 4, new ReplicaChoice(3, 17), TimeSpan.FromMilliseconds(4_750)),
            ["NodeAskPartitions"] = new NodeAskPartitions("docs", 4, ["p0", "p11"], new SearchPartition(p3, new SearchRequest(Vector(rng, 3), 5, 10, 32, false, filter)), TimeSpan.FromSeconds(2)),
            ["NodeAskPartitions/batch"] = new NodeAskPartitions("docs", 4, ["p1"], new SearchPartitionBatch(p3, [new SearchRequest(Vector(rng, 3), 5, 10, null, true)])),
            ["NodeAskPartitions/hybrid"] = new NodeAskPartitions("docs", 4, [], new SearchPartitionHybrid(p3, new HybridRequest("x", null, VLink.Core.Hybrid.HybridMethods.Keyword, 1, 1))),
            ["NodePartitionAnswers"] = new NodePartitionAnswers("akka.tcp://vlink@10.0.0.7:4053",
                [new PartitionHits(p3, hits, 2_001, 12_345), new PartitionHitsBatch(p3 with { Replica = 2 }, [new PartitionHits(p3, [], 0, 7)]),
                 new PartitionHybridHits(p3, [new VLink.Core.Hybrid.MethodRanking(VLink.Core.Hybrid.HybridMethods.Keyword, [new(7UL, 3.25)])], 9)]),
            ["NodePartitionAnswers/empty"] = new NodePartitionAnswers("", []),
            ["SearchPartitionBatch"] = new SearchPartitionBatch(market,
                [new SearchRequest(Vector(rng, 1537), 10, 25, 300, false), new SearchRequest(Vector(rng, 1537), 1, 1, null, true)]),
            ["SearchPartitionBatch/empty"] = new SearchPartitionBatch(p3, []),
            ["PartitionHitsBatch"] = new PartitionHitsBatch(p3, [new PartitionHits(p3, hits, 2_001, 12_345), new PartitionHits(p3, [], 0, 0)]),
            ["PartitionHitsBatch/empty"] = new PartitionHitsBatch(market, []),
            ["NodeSearchBatch"] = new NodeSearchBatch("markets",
                [new SearchRequest(Vector(rng, 1), 5, 10, 64, true), new SearchRequest([-0f], 1, 2, null, false)], 9),
            ["NodeSearchBatch/empty"] = new NodeSearchBatch("", [], 0),
            ["NodeSearchBatch/budget"] = new NodeSearchBatch("docs", [new SearchRequest([-0f], 1, 2, null, false)], 9, new ReplicaChoice(2, 1), TimeSpan.FromTicks(1)),
            ["NodeHitsBatch"] = new NodeHitsBatch("akka.tcp://vlink@10.0.0.7:4053",
            [
                new NodeHits("akka.tcp://vlink@10.0.0.7:4053", hits, [new PartitionTiming("docs.v2_en-GB/p3", 20, 1500)], 3_333),
                new NodeHits("akka.tcp://vlink@10.0.0.7:4053", [], [], 0),
            ], 7_777),
            ["NodeHitsBatch/empty"] = new NodeHitsBatch("", [], 0),

            // HybridMessages.cs
            ["SearchPartitionHybrid"] = new SearchPartitionHybrid(new PartitionRef("docs", "p3", 7), new HybridRequest(
                "OAuth2 login ✓", Vector(rng, 7), VLink.Core.Hybrid.HybridMethods.All, 10, 50, "{\"must\":[]}"u8.ToArray(), 128, 0.5, 1, 2.25)),
            ["SearchPartitionHybrid/text-only"] = new SearchPartitionHybrid(new PartitionRef("docs", "p3", 7), new HybridRequest("x", null, VLink.Core.Hybrid.HybridMethods.Keyword, 1, 1)),
            ["PartitionHybridHits"] = new PartitionHybridHits(new PartitionRef("docs", "p3", 7),
            [
                new VLink.Core.Hybrid.MethodRanking(VLink.Core.Hybrid.HybridMethods.Keyword, [new(7UL, 3.25), new("a5a1b4c6-0000-4000-8000-000000000001", double.Epsilon)]),
                new VLink.Core.Hybrid.MethodRanking(VLink.Core.Hybrid.HybridMethods.Semantic, []),
            ], long.MaxValue),
            ["NodeHybridSearch"] = new NodeHybridSearch("docs", new HybridRequest("q", [1f, -2f], VLink.Core.Hybrid.HybridMethods.Semantic | VLink.Core.Hybrid.HybridMethods.Exact, 3, 9), 42),
            ["NodeHybridHits"] = new NodeHybridHits("akka.tcp://vlink@10.0.0.1:4053",
                [new VLink.Core.Hybrid.MethodRanking(VLink.Core.Hybrid.HybridMethods.Exact, [new(1UL, 2), new("id", 1)])], ["docs@3/p0", "docs@3/p1"], true, 17),
            ["NodeHybridHits/empty"] = new NodeHybridHits("", [], [], false, 0),
            ["NodeHybridHits/missing"] = new NodeHybridHits("akka.tcp://vlink@10.0.0.1:4053", [], ["docs@1/p0"], true, 12, ["docs@1/p1"]),
            ["NodeHybridSearch/budget"] = new NodeHybridSearch("docs", new HybridRequest("q", null, VLink.Core.Hybrid.HybridMethods.Keyword, 3, 9), 42, default, TimeSpan.FromMilliseconds(900)),

            // CatalogMessages.cs
            ["CreateCollection/hash"] = create,
            ["CreateCollection/key"] = new CreateCollection(KeySpec),
            ["CreateCollection/regimes"] = new CreateCollection(RegimeCollection),
            ["CreateCollection/quantized"] = new CreateCollection(QuantizedSpec),
            ["CreateCollection/regions"] = new CreateCollection(RegionSpec),
            ["BeginRegions"] = new BeginRegions("regions", 4, [Vector(rng, 4), special[..4], [0f, 0f, 0f, 1f]]),
            ["BeginRegions/none"] = new BeginRegions("", 0, []),
            ["FinishRegions"] = new FinishRegions("regions", long.MaxValue),
            ["CreateCollection/text"] = new CreateCollection(TextSpec),
            ["CreateCollection/text-http"] = new CreateCollection(TextSpec with
            {
                Text = new TextSpec(["text"], new EmbeddingSpec("http", "http-ollama:nomic", "nomic", "http://10.0.0.1:11434", "ollama")),
            }),
            ["CreateCollection/text-keywords"] = new CreateCollection(TextSpec with { Text = new TextSpec(["text"]) }),
            ["DropCollection"] = new DropCollection("docs.v2_en-GB"),
            ["RegisterPartitionKey"] = new RegisterPartitionKey("markets", "BTC-USD"),
            ["GetCatalog"] = GetCatalog.Instance,
            ["CatalogAck"] = new CatalogAck(3, 1_000_000_000_000L),
            ["CatalogRejected"] = new CatalogRejected("Collection 'x' does not exist."),
            ["CatalogSnapshot"] = new CatalogSnapshot(4, 17,
            [
                new CollectionEntry(HashSpec, [], 5),
                new CollectionEntry(KeySpec, ["BTC-USD", "ETH-USD", "東京"], long.MaxValue),
                new CollectionEntry(RegionSpec, [], 6, [Vector(rng, 4), Vector(rng, 4)], RegionPhase.Moving),
                new CollectionEntry(RegionSpec with { Name = "active" }, [], 7, [special[4..8]], RegionPhase.Active),
            ]),
            ["CatalogSnapshot/empty"] = new CatalogSnapshot(0, 0, []),
            ["CatalogSnapshot/settings"] = new CatalogSnapshot(2, 9, [], 3, [new("gather.timeout", "5s"), new("note", "Zürich ✓")]),
            ["SetSetting"] = new SetSetting("gather.over-fetch", "2.5"),
            ["SetSetting/remove"] = new SetSetting("gather.over-fetch", ""),

            // WatermarkMessages.cs
            ["PartitionWatermark"] = new PartitionWatermark(p3.WithReplica(2), long.MaxValue),
            ["PartitionWatermark/unknown"] = new PartitionWatermark(market, 0),
            ["ReportWatermark"] = new ReportWatermark(market.WithReplica(1), 4_000_000_001L),
            ["GetWatermark"] = new GetWatermark(p3.WithReplica(3)),
            ["WatermarksConfirmed"] = new WatermarksConfirmed([new PartitionWatermark(p3, 200), new PartitionWatermark(market.WithReplica(2), long.MaxValue)]),
            ["WatermarksConfirmed/empty"] = new WatermarksConfirmed([]),
            ["CatalogStateSnapshot"] = new CatalogStateSnapshot(
                new CatalogSnapshot(4, 17, [new CollectionEntry(HashSpec, [], 5), new CollectionEntry(KeySpec, ["BTC-USD"], 9)], 1, [new("note", "Zürich ✓")]),
                [new PartitionWatermark(p3, 200), new PartitionWatermark(market.WithReplica(2), long.MaxValue)]),
            ["CatalogStateSnapshot/empty"] = new CatalogStateSnapshot(new CatalogSnapshot(0, 0, []), []),

            // InspectionMessages.cs
            ["GetNodeInventory"] = GetNodeInventory.Instance,
            ["NodeInventory"] = new NodeInventory("akka.tcp://vlink@10.0.0.7:4053",
                [new PartitionStats(p3, 123_456, "hnsw", 9_876_543_210L, 4_000_000_001L), new PartitionStats(market, 0, "empty", 0, 0) { HistoryLost = true }], 2),
            ["NodeInventory/empty"] = new NodeInventory("", [], 0),
            ["GetCatalogStatus"] = GetCatalogStatus.Instance,
            ["CatalogStatus"] = new CatalogStatus("akka.tcp://vlink@東京:4053", long.MaxValue, 1_000_000_000_000L, int.MaxValue, 1),

            // Events.cs
            ["PartitionInitialized"] = new PartitionInitialized(KeySpec),
            ["PointsUpserted/3d"] = new PointsUpserted(threeD),
            ["PointsUpserted/1537d"] = new PointsUpserted(wide),
            ["PointsUpserted/empty"] = new PointsUpserted([]),
            ["PointsDeleted"] = new PointsDeleted(ids),
            ["PointsDeleted/empty"] = new PointsDeleted([]),
            ["PointsDeleted/versioned"] = new PointsDeleted(ids, v1),
            ["PointsUpserted/versioned"] = new PointsUpserted(versioned),
            ["PayloadChanged/versioned"] = new PayloadChanged(PayloadChangeKind.Set, json, [], [2UL], v2),
            ["PartitionSnapshot/versions"] = new PartitionSnapshot(HashSpec, [1], false, snapshotPayloads)
            {
                Versions = [new KeyValuePair<PointId, PointVersion>(1UL, v1), new KeyValuePair<PointId, PointVersion>("z", v2)],
                Tombstones = [new KeyValuePair<PointId, PointVersion>("gone", v1)],
            },
            ["PayloadChanged/overwrite"] = new PayloadChanged(PayloadChangeKind.Overwrite, json, [], ids),
            ["PayloadChanged/delete keys"] = new PayloadChanged(PayloadChangeKind.DeleteKeys, null, ["x", ""], [1UL]),
            ["PartitionSnapshot/graph"] = new PartitionSnapshot(HashSpec, indexBytes, true, snapshotPayloads),
            ["PartitionSnapshot/empty"] = new PartitionSnapshot(DotSpec, [], false, []),
            ["PartitionSnapshot/market"] = new PartitionSnapshot(RegimeCollection, [3], false, snapshotPayloads, [], [9, 8, 7]),
            ["MarketDataIngested/ticks"] = new MarketDataIngested(TickBatch),
            ["MarketDataIngested/bars"] = new MarketDataIngested(BarBatch),
            ["PartitionSnapshot/documents"] = new PartitionSnapshot(HashSpec, [1, 2], false, snapshotPayloads,
                [new KeyValuePair<PointId, string>(1UL, "first"), new KeyValuePair<PointId, string>("z", ""), new KeyValuePair<PointId, string>(ulong.MaxValue, "東京 ✓")]),
            ["CatalogTermStarted"] = new CatalogTermStarted(long.MaxValue),
            ["CatalogEntryAppended/create"] = new CatalogEntryAppended(2, 5, create),
            ["CatalogEntryAppended/drop"] = new CatalogEntryAppended(2, 6, new DropCollection("docs")),
            ["CatalogEntryAppended/setting"] = new CatalogEntryAppended(2, 7, new SetSetting("k", "v")),
            ["CatalogEntryAppended/register"] = new CatalogEntryAppended(3, 7, new RegisterPartitionKey("markets", "東京")),
            ["CatalogEntryAppended/get"] = new CatalogEntryAppended(3, 8, GetCatalog.Instance),
            ["CatalogEntryAppended/begin regions"] = new CatalogEntryAppended(3, 9, new BeginRegions("regions", 4, [[1f, 2f, 3f, 4f]])),
            ["CatalogEntryAppended/finish regions"] = new CatalogEntryAppended(3, 10, new FinishRegions("regions", 4)),
            ["PartitionSealed"] = PartitionSealed.Instance,

            // Catch-up between replicas.
            ["GetReplicaDigest/bare"] = new GetReplicaDigest(new PartitionRef("docs", "p1", 3, 1)),
            ["GetReplicaDigest/with spec and digest"] = new GetReplicaDigest(new PartitionRef("docs", "p1", 3), HashSpec with { ReplicationFactor = 3, WriteConsistency = 2 }, [0UL, ulong.MaxValue, 42UL]),
            ["ReplicaDigest"] = new ReplicaDigest(new PartitionRef("docs", "p1", 3, 2), [1UL, 0UL, 0x8000_0000_0000_0000UL], new PointVersion(long.MaxValue, -7)),
            ["GetReplicaEntries"] = new GetReplicaEntries(new PartitionRef("docs", "p1", 3), [63, 0, 5], "after-me"),
            ["GetReplicaEntries/from the start"] = new GetReplicaEntries(new PartitionRef("docs", "p1", 3, 1), [], null),
            ["ReplicaEntries"] = new ReplicaEntries(new PartitionRef("docs", "p1", 3, 1),
                [new PointRecord(7UL, [1f, -0f, float.Epsilon], Encoding.UTF8.GetBytes("{\"a\":1}"), "doc", new PointVersion(99, 3)), new PointRecord("t", [2f, 3f, 4f], null, null, new PointVersion(1, 1))],
                [new KeyValuePair<PointId, PointVersion>(8UL, new PointVersion(100, 2)), new KeyValuePair<PointId, PointVersion>("gone", new PointVersion(5, -1))],
                [5, 6], 12UL),
            ["ReplicaEntries/last page"] = new ReplicaEntries(new PartitionRef("docs", "p1", 3), [], [], [], null),
        };
        return samples;
    }
}

/// <summary>
/// Field-by-field equality for protocol values: records holding arrays do not compare by value, and floats must
/// match bit for bit (so -0 differs from 0). Collections compare element-wise whatever their concrete type.
/// </summary>
internal static class DeepEquality
{
    public static void AssertEqual(object? expected, object? actual)
    {
        string? difference = FirstDifference(expected, actual);
        if (difference is not null) Assert.Fail(difference);
    }

    public static string? FirstDifference(object? expected, object? actual, string path = "$")
    {
        if (expected is null || actual is null)
            return expected is null && actual is null ? null : $"{path}: expected {Show(expected)}, got {Show(actual)}";
        switch (expected)
        {
            case float f:
                return actual is float g && BitConverter.SingleToInt32Bits(f) == BitConverter.SingleToInt32Bits(g)
                    ? null
                    : $"{path}: expected {f:R} (0x{BitConverter.SingleToInt32Bits(f):X8}), got {Show(actual)}";
            case double d:
                return actual is double e && BitConverter.DoubleToInt64Bits(d) == BitConverter.DoubleToInt64Bits(e)
                    ? null
                    : $"{path}: expected {d:R}, got {Show(actual)}";
            case string or bool or byte or int or long or ulong or Enum or DateTime or TimeSpan:
                return expected.Equals(actual) ? null : $"{path}: expected {Show(expected)}, got {Show(actual)}";
            case IEnumerable sequence:
                if (actual is not IEnumerable other) return $"{path}: expected a sequence, got {Show(actual)}";
                var xs = sequence.Cast<object?>().ToList();
                var ys = other.Cast<object?>().ToList();
                if (xs.Count != ys.Count) return $"{path}: expected {xs.Count} items, got {ys.Count}";
                for (int i = 0; i < xs.Count; i++)
                {
                    if (FirstDifference(xs[i], ys[i], $"{path}[{i}]") is { } difference) return difference;
                }
                return null;
        }
        if (expected.GetType() != actual.GetType())
            return $"{path}: expected a {expected.GetType().Name}, got a {actual.GetType().Name}";
        var properties = expected.GetType()
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .ToList();
        if (properties.Count == 0) return expected.Equals(actual) ? null : $"{path}: {Show(expected)} differs from {Show(actual)}";
        foreach (var property in properties)
        {
            if (FirstDifference(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}") is { } difference)
                return difference;
        }
        return null;
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        float f => $"{f:R} (0x{BitConverter.SingleToInt32Bits(f):X8})",
        _ => $"{value} ({value.GetType().Name})",
    };
}
