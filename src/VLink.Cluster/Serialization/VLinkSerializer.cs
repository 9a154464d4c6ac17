using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Serialization;

/// <summary>
/// The one serializer of every <see cref="IVLinkMessage"/>: messages between nodes, journal events and snapshots.
/// A hand-written, little-endian binary format, so float vectors travel as their raw bytes, never as text.
/// </summary>
/// <remarks>
/// <para>Every payload starts with a format version byte (<see cref="FormatVersion"/>), followed by the fields of
/// the message in declaration order:</para>
/// <list type="bullet">
/// <item><description>int, long, float and double: fixed width, little-endian; bool and enums: one byte.</description></item>
/// <item><description>Counts and lengths: unsigned LEB128 (7 bits a byte).</description></item>
/// <item><description>Strings: length in UTF-8 bytes, then the bytes. Byte arrays: length, then the bytes.</description></item>
/// <item><description>float[]: element count, then the raw IEEE-754 bytes (4 per element).</description></item>
/// <item><description>Nullable fields: a presence byte (0 absent, 1 present), then the value when present.</description></item>
/// <item><description><see cref="PointId"/>: tag 0 then a ulong, or tag 1 then a string.</description></item>
/// <item><description>Lists: count, then the items. A nested catalog command: its manifest (a string), then its fields.</description></item>
/// </list>
/// <para>Manifests are short and stable: journal entries name them forever, so a manifest is never reused or changed.</para>
/// <para>Version history: 1 — the first layout; 2 — points and point records end with an optional document (a string),
/// and partition snapshots end with the list of (id, document). Version 1 payloads are still read (no documents).
/// 3 — collection specs end with an optional regime spec (feature set, bar interval, tolerance), partition snapshots with
/// optional market state bytes; market batches (ticks or bars with their sequence numbers) appear. Older payloads read
/// as plain collections without market state. 4 — collection specs end with optional scalar quantization (quantile,
/// oversampling, originals in memory, training points); older specs read as unquantized. Partition stats end with
/// the bytes memory-mapped (0 when read from older payloads). 5 — collection specs end with optional region settings
/// (training size, probes), catalog entries with the centroids (a list of float arrays) and the region phase (a byte),
/// search requests with the optional list of partition keys they visit; older payloads read as collections without
/// regions and requests that visit every partition. 6 — collection specs end with an optional text spec
/// (the text fields, then an optional embedding: provider, model id, and optional model, url and api); older specs read
/// without text. 7 — point versions (hybrid logical time as an int64, then the node id as an int32) end points,
/// point records, deletes (by ids and by filter, commands and events) and payload changes (commands and events);
/// partition snapshots end with the versions of their points and their tombstones (two lists of id and version).
/// Older payloads read as version 0 (none) and snapshots without versions or tombstones. 8 — partition references end
/// with the replica index (unsigned LEB128), collection specs with the replication factor and the write consistency
/// (two int32); older payloads read as replica 0 of collections with one replica. 9 — node searches (plain, batch and
/// hybrid) end with the replica choice (factor and offset, two int32); older ones read replica 0. 10 — partition
/// statistics end with the replica digest folded into one number (uint64) and the high-water version; older ones read
/// as 0 and none. 11 — partition statistics end with whether the partition lost history (a bool); older ones read as
/// false. Watermark messages appear (a partition reference and a sequence number; the catalog's event is a list of them).
/// 12 — node searches (plain, batch, hybrid, and the hedge's) end with the coordinator's time budget (int64 ticks, 0 for
/// none), node answers (plain and hybrid) with the local partitions that did not answer (a list of entity ids); older
/// ones read without a budget and with none missing. 13 — partition statistics end with the points held but not yet
/// linked into the graph (an int32); older ones read as 0.</para>
/// <para>Market batches: source, row count, kind (0 ticks, 1 bars); sequence numbers as the first one then the
/// increments, each unsigned LEB128 (64-bit); a tick is its time as the zigzag LEB128 step from the previous tick's
/// (from 0 for the first), price (double), a presence byte (bit 0 size as a double, bit 3 size as LEB128 when it is a
/// whole number, bit 1 bid, bit 2 ask) and the present values; a bar is start, end, open, high, low, close and an
/// optional volume.</para>
/// </remarks>
public sealed class VLinkSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer's id, as bound in <c>hocon/vlink.conf</c>.</summary>
    public const int SerializerId = 4711;

    /// <summary>The version byte every payload this build writes starts with; a reader refuses versions it does not know.</summary>
    public const byte FormatVersion = 13;

    /// <summary>The oldest format version this build still reads (journals and snapshots outlive builds).</summary>
    public const byte OldestReadableVersion = 1;

    // One row per message: its type, its manifest, how it is written and how it is read.
    private static readonly Codec[] Codecs =
    [
        // PartitionCommands.cs
        Codec.Of<UpsertPoints>("UP", WriteUpsertPoints, ReadUpsertPoints),
        Codec.Of<DeletePoints>("DP", WriteDeletePoints, ReadDeletePoints),
        Codec.Of<WriteAck>("WA", WriteWriteAck, ReadWriteAck),
        Codec.Of<WriteRejected>("WR", WriteWriteRejected, ReadWriteRejected),
        Codec.Of<GetPoints>("GP", WriteGetPoints, ReadGetPoints),
        Codec.Of<PointsFound>("PF", WritePointsFound, ReadPointsFound),
        Codec.Of<GetPartitionStats>("GS", WriteGetPartitionStats, ReadGetPartitionStats),
        Codec.Of<PartitionStats>("PS", WritePartitionStats, ReadPartitionStats),
        Codec.Of<DeletePointsByFilter>("DF", WriteDeletePointsByFilter, ReadDeletePointsByFilter),
        Codec.Of<ScrollPartition>("SC", WriteScrollPartition, ReadScrollPartition),
        Codec.Of<CountPartition>("PN", WriteCountPartition, ReadCountPartition),
        Codec.Of<PointCount>("PC", WritePointCount, ReadPointCount),
        Codec.Of<ChangePayload>("CP", WriteChangePayload, ReadChangePayload),
        Codec.Of<SealPartition>("SZ", (w, m) => WritePartitionRef(w, m.Partition), r => new SealPartition(ReadPartitionRef(r))),
        Codec.Of<WriteSealed>("WS", (w, m) => WritePartitionRef(w, m.Partition), r => new WriteSealed(ReadPartitionRef(r))),

        // JournalMessages.cs
        Codec.Of<JournalUnavailable>("JU", (w, m) => w.String(m.Reason), r => new JournalUnavailable(r.String())),

        // MarketMessages.cs
        Codec.Of<IngestMarketData>("MI", WriteIngestMarketData, ReadIngestMarketData),
        Codec.Of<MarketIngestAck>("MK", WriteMarketIngestAck, ReadMarketIngestAck),
        Codec.Of<FindRegimeVector>("MF", WriteFindRegimeVector, ReadFindRegimeVector),
        Codec.Of<GetMarketStats>("MG", WriteGetMarketStats, ReadGetMarketStats),
        Codec.Of<GetBaseRate>("MB", WriteGetBaseRate, ReadGetBaseRate),
        Codec.Of<BaseRate>("MR", WriteBaseRate, ReadBaseRate),
        Codec.Of<MarketStats>("MS", WriteMarketStats, ReadMarketStats),

        // SearchMessages.cs
        Codec.Of<SearchPartition>("SP", WriteSearchPartition, ReadSearchPartition),
        Codec.Of<PartitionHits>("PH", WritePartitionHits, ReadPartitionHits),
        Codec.Of<NodeSearch>("NS", WriteNodeSearch, ReadNodeSearch),
        Codec.Of<NodeHits>("NH", WriteNodeHits, ReadNodeHits),

        // HybridMessages.cs
        Codec.Of<SearchPartitionHybrid>("HQ", (w, m) => { WritePartitionRef(w, m.Partition); WriteHybridRequest(w, m.Request); }, r => new SearchPartitionHybrid(ReadPartitionRef(r), ReadHybridRequest(r))),
        Codec.Of<PartitionHybridHits>("HP", WritePartitionHybridHits, ReadPartitionHybridHits),
        Codec.Of<NodeHybridSearch>("HN", (w, m) => { w.String(m.Collection); WriteHybridRequest(w, m.Request); w.Int64(m.Generation); WriteReplicaChoice(w, m.Replicas); WriteBudget(w, m.Budget); },
            r => new NodeHybridSearch(r.String(), ReadHybridRequest(r), r.Int64(), ReadReplicaChoice(r), ReadBudget(r))),
        Codec.Of<NodeHybridHits>("HH", WriteNodeHybridHits, ReadNodeHybridHits),
        Codec.Of<SearchPartitionBatch>("SB", WriteSearchPartitionBatch, ReadSearchPartitionBatch),
        Codec.Of<PartitionHitsBatch>("PB", WritePartitionHitsBatch, ReadPartitionHitsBatch),
        Codec.Of<NodeSearchBatch>("NB", WriteNodeSearchBatch, ReadNodeSearchBatch),
        Codec.Of<NodeHitsBatch>("HB", WriteNodeHitsBatch, ReadNodeHitsBatch),

        // CatalogMessages.cs
        Codec.Of<CreateCollection>("CC", WriteCreateCollection, ReadCreateCollection),
        Codec.Of<DropCollection>("CD", WriteDropCollection, ReadDropCollection),
        Codec.Of<RegisterPartitionKey>("CK", WriteRegisterPartitionKey, ReadRegisterPartitionKey),
        Codec.Of<GetCatalog>("CG", WriteGetCatalog, ReadGetCatalog),
        Codec.Of<CatalogAck>("CA", WriteCatalogAck, ReadCatalogAck),
        Codec.Of<CatalogRejected>("CR", WriteCatalogRejected, ReadCatalogRejected),
        Codec.Of<CatalogSnapshot>("CS", WriteCatalogSnapshot, ReadCatalogSnapshot),
        Codec.Of<SetSetting>("CT", WriteSetSetting, ReadSetSetting),
        Codec.Of<BeginRegions>("CB", WriteBeginRegions, ReadBeginRegions),
        Codec.Of<FinishRegions>("CF", WriteFinishRegions, ReadFinishRegions),

        // InspectionMessages.cs
        Codec.Of<GetNodeInventory>("NI", WriteGetNodeInventory, ReadGetNodeInventory),
        Codec.Of<NodeInventory>("NV", WriteNodeInventory, ReadNodeInventory),
        Codec.Of<GetCatalogStatus>("CQ", WriteGetCatalogStatus, ReadGetCatalogStatus),
        Codec.Of<CatalogStatus>("CN", WriteCatalogStatus, ReadCatalogStatus),

        // Events.cs (journal and snapshot store)
        Codec.Of<PartitionInitialized>("EI", WritePartitionInitialized, ReadPartitionInitialized),
        Codec.Of<PointsUpserted>("EU", WritePointsUpserted, ReadPointsUpserted),
        Codec.Of<PointsDeleted>("ED", WritePointsDeleted, ReadPointsDeleted),
        Codec.Of<PartitionSnapshot>("ES", WritePartitionSnapshot, ReadPartitionSnapshot),
        Codec.Of<PayloadChanged>("EP", WritePayloadChanged, ReadPayloadChanged),
        Codec.Of<MarketDataIngested>("EM", WriteMarketDataIngested, ReadMarketDataIngested),
        Codec.Of<CatalogTermStarted>("ET", WriteCatalogTermStarted, ReadCatalogTermStarted),
        Codec.Of<CatalogEntryAppended>("EA", WriteCatalogEntryAppended, ReadCatalogEntryAppended),
        Codec.Of<PartitionSealed>("EZ", static (_, _) => { }, static _ => PartitionSealed.Instance),
        Codec.Of<ChunkedSnapshot>("EK", static (w, m) => { w.Int32(m.Chunks); w.Int64(m.Bytes); }, static r => new ChunkedSnapshot(r.Int32(), r.Int64())),

        // ReplicationMessages.cs (catch-up between the replicas of a partition)
        Codec.Of<GetReplicaDigest>("AD", WriteGetReplicaDigest, ReadGetReplicaDigest),
        Codec.Of<ReplicaDigest>("AG", WriteReplicaDigest, ReadReplicaDigest),
        Codec.Of<GetReplicaEntries>("AE", WriteGetReplicaEntries, ReadGetReplicaEntries),
        Codec.Of<ReplicaEntries>("AN", WriteReplicaEntries, ReadReplicaEntries),

        // WatermarkMessages.cs (partitions and the catalog; "EW" is a catalog journal event)
        Codec.Of<PartitionWatermark>("KW", WritePartitionWatermark, ReadPartitionWatermark),
        Codec.Of<ReportWatermark>("KR", static (w, m) => { WritePartitionRef(w, m.Partition); w.Int64(m.SequenceNr); }, static r => new ReportWatermark(ReadPartitionRef(r), r.Int64())),
        Codec.Of<GetWatermark>("KG", static (w, m) => WritePartitionRef(w, m.Partition), static r => new GetWatermark(ReadPartitionRef(r))),
        Codec.Of<WatermarksConfirmed>("EW", static (w, m) => w.List(m.Watermarks, WritePartitionWatermark), static r => new WatermarksConfirmed(r.List(ReadPartitionWatermark))),
        Codec.Of<CatalogStateSnapshot>("EC",
            static (w, m) =>
            {
                Writer.Require(m.Catalog);
                WriteCatalogSnapshot(w, m.Catalog);
                w.List(m.Watermarks, WritePartitionWatermark);
            },
            static r => new CatalogStateSnapshot(ReadCatalogSnapshot(r), r.List(ReadPartitionWatermark))),

        // The hedge of a replicated read through the node agents ("NP" and "NQ", the search-only hedge of format 11, are
        // retired): the partition message asked, and each answer, nested as manifest then fields.
        Codec.Of<NodeAskPartitions>("NA",
            static (w, m) =>
            {
                w.String(m.Collection);
                w.Int64(m.Generation);
                w.List(m.Keys, static (w2, key) => w2.String(key));
                WriteNested(w, m.Ask);
                WriteBudget(w, m.Budget);
            },
            static r => new NodeAskPartitions(r.String(), r.Int64(), r.List(static r2 => r2.String()), ReadNested<IPartitionMessage>(r), ReadBudget(r))),
        Codec.Of<NodePartitionAnswers>("NR",
            static (w, m) =>
            {
                w.String(m.Node);
                w.List(m.Answers, static (w2, a) => WriteNested(w2, a));
            },
            static r => new NodePartitionAnswers(r.String(), r.List(static r2 => ReadNested<IVLinkMessage>(r2)))),
    ];

    private static readonly Dictionary<Type, Codec> ByType = Codecs.ToDictionary(c => c.Type);
    private static readonly Dictionary<string, Codec> ByManifest = Codecs.ToDictionary(c => c.Manifest, StringComparer.Ordinal);

    /// <summary>Created by Akka's serialization extension from the HOCON binding.</summary>
    public VLinkSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) => ManifestOf(o);

    /// <summary>The manifest a message is written under.</summary>
    public static string ManifestOf(object o) => CodecOf(o).Manifest;

    /// <summary>The manifest messages of a type are written under.</summary>
    public static string ManifestOf<T>() where T : IVLinkMessage => ByType[typeof(T)].Manifest;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        byte[] bytes = Encode(obj);
        // Snapshots are only ever serialized for the snapshot store.
        if (obj is PartitionSnapshot) Telemetry.VLinkMetrics.SnapshotBytes.Add(bytes.Length);
        return bytes;
    }

    /// <summary>A message's bytes, as <see cref="ToBinary"/> writes them (for VLink's own stores, without an actor system).</summary>
    /// <exception cref="SerializationException">The message is not one this serializer knows, or cannot be written.</exception>
    public static byte[] Encode(object obj)
    {
        var codec = CodecOf(obj);
        var writer = new Writer(SizeHint(obj));
        writer.Byte(FormatVersion);
        try
        {
            codec.Write(writer, obj);
        }
        catch (SerializationException e)
        {
            throw new SerializationException($"Cannot serialize {codec.Type.Name}: {e.Message}", e);
        }
        return writer.ToArray();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => Decode(bytes, manifest);

    /// <summary>Reads a message written by <see cref="Encode"/> under its manifest (<see cref="Manifest"/>).</summary>
    /// <exception cref="SerializationException">The bytes are not such a message.</exception>
    public static object Decode(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (!ByManifest.TryGetValue(manifest ?? "", out var codec))
            throw new SerializationException($"Unknown VLink message manifest '{manifest}'.");
        try
        {
            var reader = new Reader(bytes);
            byte version = reader.Byte();
            if (version is < OldestReadableVersion or > FormatVersion)
                throw new SerializationException($"format version {version} is not supported (this node reads versions {OldestReadableVersion} to {FormatVersion})");
            reader.Version = version;
            object message = codec.Read(reader);
            reader.End();
            return message;
        }
        catch (Exception e) when (e is SerializationException or ArgumentException)
        {
            // ArgumentException: a value the protocol's own types refuse (an empty string id, invalid UTF-8).
            throw new SerializationException($"Cannot deserialize '{manifest}' ({codec.Type.Name}, {bytes.Length} bytes): {e.Message}", e);
        }
    }

    // The large messages are sized up front, so their buffer is not regrown (and copied) while they are written.
    private static int SizeHint(object message)
    {
        static long Points(IReadOnlyList<PointWrite>? points) =>
            points?.Sum(p => 32L + sizeof(float) * (long)(p?.Vector?.Length ?? 0) + (p?.Payload?.Length ?? 0) + 3L * (p?.Document?.Length ?? 0)) ?? 0;
        long size = 256 + message switch
        {
            UpsertPoints m => Points(m.Points),
            IngestMarketData m => 24L * (m.Batch?.Count ?? 0),
            MarketDataIngested m => 24L * (m.Batch?.Count ?? 0),
            PointsUpserted m => Points(m.Points),
            ReplicaEntries m => m.Points?.Sum(p => 48L + sizeof(float) * (long)(p?.Vector?.Length ?? 0) + (p?.Payload?.Length ?? 0) + 3L * (p?.Document?.Length ?? 0)) ?? 0,
            PartitionSnapshot m => (m.Index?.Length ?? 0) + (m.Market?.Length ?? 0) + (m.Payloads?.Sum(p => 32L + (p.Value?.Length ?? 0)) ?? 0)
                + (m.Documents?.Sum(p => 32L + 3L * (p.Value?.Length ?? 0)) ?? 0),
            _ => 0,
        };
        return (int)Math.Min(size, Array.MaxLength);
    }

    private static Codec CodecOf(object? message) =>
        message is not null && ByType.TryGetValue(message.GetType(), out var codec)
            ? codec
            : throw new SerializationException($"{message?.GetType().FullName ?? "null"} is not a message the VLink serializer knows.");

    // ---- PartitionRef.cs, CollectionSpec.cs, Points.cs: values nested in messages ----

    private static void WritePartitionRef(Writer w, PartitionRef p)
    {
        w.String(p.Collection);
        w.String(p.Key);
        w.Int64(p.Generation);
        w.VarUInt64((ulong)p.Replica);
    }

    private static PartitionRef ReadPartitionRef(Reader r) => new(r.String(), r.String(), r.Int64(), r.Version >= 8 ? ReadReplica(r) : 0);

    private static int ReadReplica(Reader r)
    {
        ulong replica = r.VarUInt64();
        return replica < CollectionSpec.MaxReplicationFactor ? (int)replica : throw Reader.Damaged($"replica index {replica} is out of range");
    }

    private static void WritePointId(Writer w, PointId id)
    {
        if (id.Text is { } text)
        {
            w.Byte(1);
            w.String(text);
        }
        else
        {
            w.Byte(0);
            w.UInt64(id.Number);
        }
    }

    private static PointId ReadPointId(Reader r)
    {
        byte tag = r.Byte();
        return tag switch
        {
            0 => new PointId(r.UInt64()),
            1 => new PointId(r.String()),
            _ => throw Reader.Damaged($"unknown point id tag {tag}"),
        };
    }

    private static void WritePointVersion(Writer w, PointVersion v)
    {
        w.Int64(v.Time);
        w.Int32(v.Node);
    }

    // Payloads before format 7 carry no versions: they read as none.
    private static PointVersion ReadPointVersion(Reader r) => r.Version >= 7 ? new PointVersion(r.Int64(), r.Int32()) : PointVersion.None;

    private static void WriteVersionedIds(Writer w, IReadOnlyList<KeyValuePair<PointId, PointVersion>> entries) =>
        w.List(entries, static (w2, e) =>
        {
            WritePointId(w2, e.Key);
            WritePointVersion(w2, e.Value);
        });

    private static KeyValuePair<PointId, PointVersion>[] ReadVersionedIds(Reader r) =>
        r.Version >= 7 ? r.List(static r2 => new KeyValuePair<PointId, PointVersion>(ReadPointId(r2), ReadPointVersion(r2))) : [];

    private static void WriteHnswOptions(Writer w, HnswOptions o)
    {
        Writer.Require(o);
        w.Int32(o.M);
        w.Int32(o.EfConstruction);
        w.Int32(o.EfSearch);
        w.Int32(o.Seed);
        w.Double(o.FilteredScanSelectivity);
    }

    private static HnswOptions ReadHnswOptions(Reader r) => new()
    {
        M = r.Int32(),
        EfConstruction = r.Int32(),
        EfSearch = r.Int32(),
        Seed = r.Int32(),
        FilteredScanSelectivity = r.Double(),
    };

    private static void WriteCollectionSpec(Writer w, CollectionSpec s)
    {
        Writer.Require(s);
        w.String(s.Name);
        w.Int32(s.Dimension);
        w.Byte((byte)s.Metric);
        w.Byte((byte)s.Scheme);
        w.Int32(s.PartitionCount);
        WriteHnswOptions(w, s.Hnsw);
        w.Int32(s.FlatThreshold);
        w.Bool(s.Regime is not null);
        if (s.Regime is { } regime)
        {
            w.String(regime.FeatureSet);
            w.Int64(regime.BarIntervalTicks);
            w.Int64(regime.ToleranceTicks);
        }
        w.Bool(s.Hnsw.Quantization is not null);
        if (s.Hnsw.Quantization is { } q)
        {
            w.Double(q.Quantile);
            w.Double(q.Oversampling);
            w.Bool(q.OriginalsInRam);
            w.Int32(q.TrainingPoints);
        }
        w.Bool(s.Regions is not null);
        if (s.Regions is { } regions)
        {
            w.Int32(regions.TrainSize);
            w.Int32(regions.Probes);
        }
        w.Bool(s.Text is not null);
        if (s.Text is { } text)
        {
            w.List(text.Fields, (w2, f) => w2.String(f));
            w.Bool(text.Embedding is not null);
            if (text.Embedding is { } e)
            {
                w.String(e.Provider);
                w.String(e.ModelId);
                w.OptionalString(e.Model);
                w.OptionalString(e.Url);
                w.OptionalString(e.Api);
            }
        }
        w.Int32(s.ReplicationFactor);
        w.Int32(s.WriteConsistency);
    }

    private static CollectionSpec ReadCollectionSpec(Reader r)
    {
        var spec = new CollectionSpec(
            Name: r.String(),
            Dimension: r.Int32(),
            Metric: r.Enum<DistanceMetric>(),
            Scheme: r.Enum<PartitionScheme>(),
            PartitionCount: r.Int32(),
            Hnsw: ReadHnswOptions(r),
            FlatThreshold: r.Int32(),
            Regime: r.Version >= 3 && r.Bool() ? new RegimeSpec(r.String(), r.Int64(), r.Int64()) : null);
        if (r.Version >= 4 && r.Bool())
        {
            var quantization = new ScalarQuantization
            {
                Quantile = r.Double(),
                Oversampling = r.Double(),
                OriginalsInRam = r.Bool(),
                TrainingPoints = r.Int32(),
            };
            spec = spec with { Hnsw = spec.Hnsw with { Quantization = quantization } };
        }
        if (r.Version >= 5 && r.Bool())
            spec = spec with { Regions = new RegionSpec(r.Int32(), r.Int32()) };
        if (r.Version >= 6 && r.Bool())
        {
            var fields = r.List(r2 => r2.String());
            var embedding = r.Bool() ? new EmbeddingSpec(r.String(), r.String(), r.OptionalString(), r.OptionalString(), r.OptionalString()) : null;
            spec = spec with { Text = new TextSpec(fields, embedding) };
        }
        if (r.Version >= 8)
            spec = spec with { ReplicationFactor = r.Int32(), WriteConsistency = r.Int32() };
        return spec;
    }

    private static void WritePointWrite(Writer w, PointWrite p)
    {
        Writer.Require(p);
        WritePointId(w, p.Id);
        w.Floats(p.Vector);
        w.OptionalBytes(p.Payload);
        w.OptionalString(p.Document);
        WritePointVersion(w, p.Version);
    }

    private static PointWrite ReadPointWrite(Reader r) =>
        new(ReadPointId(r), r.Floats(), r.OptionalBytes(), r.Version >= 2 ? r.OptionalString() : null, ReadPointVersion(r));

    private static void WritePointRecord(Writer w, PointRecord p)
    {
        Writer.Require(p);
        WritePointId(w, p.Id);
        w.OptionalFloats(p.Vector);
        w.OptionalBytes(p.Payload);
        w.OptionalString(p.Document);
        WritePointVersion(w, p.Version);
    }

    private static PointRecord ReadPointRecord(Reader r) =>
        new(ReadPointId(r), r.OptionalFloats(), r.OptionalBytes(), r.Version >= 2 ? r.OptionalString() : null, ReadPointVersion(r));

    // ---- PartitionCommands.cs ----

    private static void WriteUpsertPoints(Writer w, UpsertPoints m)
    {
        WritePartitionRef(w, m.Partition);
        WriteCollectionSpec(w, m.Spec);
        w.List(m.Points, WritePointWrite);
    }

    private static UpsertPoints ReadUpsertPoints(Reader r) => new(ReadPartitionRef(r), ReadCollectionSpec(r), r.List(ReadPointWrite));

    private static void WriteDeletePoints(Writer w, DeletePoints m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Ids, WritePointId);
        WritePointVersion(w, m.Version);
    }

    private static DeletePoints ReadDeletePoints(Reader r) => new(ReadPartitionRef(r), r.List(ReadPointId), ReadPointVersion(r));

    private static void WriteWriteAck(Writer w, WriteAck m)
    {
        WritePartitionRef(w, m.Partition);
        w.Int32(m.Applied);
        w.Int64(m.SequenceNr);
    }

    private static WriteAck ReadWriteAck(Reader r) => new(ReadPartitionRef(r), r.Int32(), r.Int64());

    private static void WriteWriteRejected(Writer w, WriteRejected m)
    {
        WritePartitionRef(w, m.Partition);
        w.String(m.Reason);
    }

    private static WriteRejected ReadWriteRejected(Reader r) => new(ReadPartitionRef(r), r.String());

    private static void WriteGetPoints(Writer w, GetPoints m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Ids, WritePointId);
        w.Bool(m.WithVector);
    }

    private static GetPoints ReadGetPoints(Reader r) => new(ReadPartitionRef(r), r.List(ReadPointId), r.Bool());

    private static void WritePointsFound(Writer w, PointsFound m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Points, WritePointRecord);
    }

    private static PointsFound ReadPointsFound(Reader r) => new(ReadPartitionRef(r), r.List(ReadPointRecord));

    private static void WriteGetPartitionStats(Writer w, GetPartitionStats m) => WritePartitionRef(w, m.Partition);

    private static GetPartitionStats ReadGetPartitionStats(Reader r) => new(ReadPartitionRef(r));

    private static void WritePartitionStats(Writer w, PartitionStats m)
    {
        WritePartitionRef(w, m.Partition);
        w.Int32(m.Points);
        w.String(m.IndexKind);
        w.Int64(m.MemoryBytes);
        w.Int64(m.SequenceNr);
        w.Int64(m.MappedBytes);
        w.UInt64(m.Digest);
        WritePointVersion(w, m.HighWater);
        w.Bool(m.HistoryLost);
        w.Int32(m.Unlinked);
    }

    private static PartitionStats ReadPartitionStats(Reader r) =>
        new(ReadPartitionRef(r), r.Int32(), r.String(), r.Int64(), r.Int64(), r.Version >= 4 ? r.Int64() : 0,
            r.Version >= 10 ? r.UInt64() : 0, r.Version >= 10 ? ReadPointVersion(r) : PointVersion.None)
        {
            HistoryLost = r.Version >= 11 && r.Bool(),
            Unlinked = r.Version >= 13 ? r.Int32() : 0,
        };

    // ---- WatermarkMessages.cs ----

    private static void WritePartitionWatermark(Writer w, PartitionWatermark m)
    {
        Writer.Require(m);
        WritePartitionRef(w, m.Partition);
        w.Int64(m.SequenceNr);
    }

    private static PartitionWatermark ReadPartitionWatermark(Reader r) => new(ReadPartitionRef(r), r.Int64());

    // ---- ReplicationMessages.cs ----

    private static void WriteOptionalPointId(Writer w, PointId? id)
    {
        w.Bool(id.HasValue);
        if (id is { } value) WritePointId(w, value);
    }

    private static PointId? ReadOptionalPointId(Reader r) => r.Bool() ? ReadPointId(r) : default(PointId?);

    private static void WriteGetReplicaDigest(Writer w, GetReplicaDigest m)
    {
        WritePartitionRef(w, m.Partition);
        w.Bool(m.Spec is not null);
        if (m.Spec is { } spec) WriteCollectionSpec(w, spec);
        w.Bool(m.Digest is not null);
        if (m.Digest is { } digest) w.List(digest, static (w2, b) => w2.UInt64(b));
    }

    private static GetReplicaDigest ReadGetReplicaDigest(Reader r) => new(
        ReadPartitionRef(r),
        r.Bool() ? ReadCollectionSpec(r) : (CollectionSpec?)null,
        r.Bool() ? r.List(static r2 => r2.UInt64()) : (ulong[]?)null);

    private static void WriteReplicaDigest(Writer w, ReplicaDigest m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Buckets, static (w2, b) => w2.UInt64(b));
        WritePointVersion(w, m.HighWater);
    }

    private static ReplicaDigest ReadReplicaDigest(Reader r) => new(ReadPartitionRef(r), r.List(static r2 => r2.UInt64()), ReadPointVersion(r));

    private static void WriteGetReplicaEntries(Writer w, GetReplicaEntries m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Buckets, static (w2, b) => w2.Int32(b));
        WriteOptionalPointId(w, m.After);
    }

    private static GetReplicaEntries ReadGetReplicaEntries(Reader r) => new(ReadPartitionRef(r), r.List(static r2 => r2.Int32()), ReadOptionalPointId(r));

    private static void WriteReplicaEntries(Writer w, ReplicaEntries m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Points, WritePointRecord);
        WriteVersionedIds(w, m.Tombstones);
        w.List(m.Remaining, static (w2, b) => w2.Int32(b));
        WriteOptionalPointId(w, m.After);
    }

    private static ReplicaEntries ReadReplicaEntries(Reader r) =>
        new(ReadPartitionRef(r), r.List(ReadPointRecord), ReadVersionedIds(r), r.List(static r2 => r2.Int32()), ReadOptionalPointId(r));

    // ---- MarketMessages.cs ----

    private static void WriteMarketBatch(Writer w, MarketBatch b)
    {
        Writer.Require(b);
        Writer.Require(b.Sequences);
        Writer.Require(b.Ticks);
        Writer.Require(b.Bars);
        if (b.Ticks.Length > 0 && b.Bars.Length > 0) throw new SerializationException("a market batch holds ticks or bars, not both");
        if (b.Sequences.Length != b.Count) throw new SerializationException($"{b.Sequences.Length} sequence numbers for {b.Count} rows");
        w.String(b.Source);
        w.Count(b.Count);
        w.Byte(b.Bars.Length > 0 ? (byte)1 : (byte)0);
        long previous = 0;
        foreach (long sequence in b.Sequences)
        {
            if (sequence <= previous) throw new SerializationException($"sequence numbers must be positive and increase ({previous} then {sequence})");
            w.VarUInt64((ulong)(sequence - previous));
            previous = sequence;
        }
        long previousTime = 0;
        foreach (var t in b.Ticks)
        {
            // Times as zigzag LEB128 steps from the previous tick (a few bytes), whole sizes as LEB128.
            long step = unchecked(t.Time - previousTime);
            w.VarUInt64(unchecked((ulong)((step << 1) ^ (step >> 63))));
            previousTime = t.Time;
            w.Double(t.Price);
            bool wholeSize = t.Size is { } s && s >= 0 && s <= 9_007_199_254_740_992 && Math.Floor(s) == s && !(s == 0 && double.IsNegative(s));
            w.Byte((byte)((t.Size.HasValue && !wholeSize ? 1 : 0) | (t.Bid.HasValue ? 2 : 0) | (t.Ask.HasValue ? 4 : 0) | (wholeSize ? 8 : 0)));
            if (wholeSize) w.VarUInt64((ulong)t.Size!.Value);
            else if (t.Size is { } size) w.Double(size);
            if (t.Bid is { } bid) w.Double(bid);
            if (t.Ask is { } ask) w.Double(ask);
        }
        foreach (var bar in b.Bars)
        {
            w.Int64(bar.Start);
            w.Int64(bar.End);
            w.Double(bar.Open);
            w.Double(bar.High);
            w.Double(bar.Low);
            w.Double(bar.Close);
            w.Bool(bar.Volume.HasValue);
            if (bar.Volume is { } volume) w.Double(volume);
        }
    }

    private static MarketBatch ReadMarketBatch(Reader r)
    {
        string source = r.String();
        int count = r.Count(bytesPerItem: 11);
        byte kind = r.Byte();
        if (kind > 1) throw Reader.Damaged($"unknown market batch kind {kind}");
        var sequences = new long[count];
        long previous = 0;
        for (int i = 0; i < count; i++)
        {
            ulong step = r.VarUInt64();
            if (step == 0 || step > (ulong)(long.MaxValue - previous)) throw Reader.Damaged($"sequence step {step} after {previous}");
            previous += (long)step;
            sequences[i] = previous;
        }
        var ticks = kind == 0 ? new Core.Ingest.Tick[count] : [];
        var bars = kind == 1 ? new Core.Ingest.Bar[count] : [];
        long time = 0;
        for (int i = 0; i < ticks.Length; i++)
        {
            ulong zigzag = r.VarUInt64();
            time = unchecked(time + ((long)(zigzag >> 1) ^ -(long)(zigzag & 1)));
            double price = r.Double();
            byte present = r.Byte();
            if (present > 15 || (present & 9) == 9) throw Reader.Damaged($"tick presence byte {present}");
            double? size = (present & 1) != 0 ? r.Double() : (present & 8) != 0 ? r.VarUInt64() : null;
            double? bid = (present & 2) != 0 ? r.Double() : null;
            double? ask = (present & 4) != 0 ? r.Double() : null;
            ticks[i] = new Core.Ingest.Tick(time, price, size, bid, ask);
        }
        for (int i = 0; i < bars.Length; i++)
            bars[i] = new Core.Ingest.Bar(r.Int64(), r.Int64(), r.Double(), r.Double(), r.Double(), r.Double(), r.Bool() ? r.Double() : null);
        return new MarketBatch(source, sequences, ticks, bars);
    }

    private static void WriteRowError(Writer w, Core.Ingest.RowError e)
    {
        Writer.Require(e);
        w.String(e.Source);
        w.Int64(e.Line);
        w.Byte((byte)e.Kind);
        w.String(e.Detail);
    }

    private static Core.Ingest.RowError ReadRowError(Reader r) => new(r.String(), r.Int64(), r.Enum<Core.Ingest.RowErrorKind>(), r.String());

    private static void WriteIngestMarketData(Writer w, IngestMarketData m)
    {
        WritePartitionRef(w, m.Partition);
        WriteCollectionSpec(w, m.Spec);
        WriteMarketBatch(w, m.Batch);
    }

    private static IngestMarketData ReadIngestMarketData(Reader r) => new(ReadPartitionRef(r), ReadCollectionSpec(r), ReadMarketBatch(r));

    private static void WriteMarketIngestAck(Writer w, MarketIngestAck m)
    {
        WritePartitionRef(w, m.Partition);
        w.Int32(m.Accepted);
        w.Int32(m.Duplicates);
        w.Int32(m.Rejected);
        w.List(m.RejectedByKind, static (w2, p) =>
        {
            w2.Byte((byte)p.Key);
            w2.Int32(p.Value);
        });
        w.List(m.Errors, WriteRowError);
        w.Int32(m.Bars);
        w.Int32(m.Vectors);
        w.Int64(m.SequenceNr);
    }

    private static MarketIngestAck ReadMarketIngestAck(Reader r) => new(
        ReadPartitionRef(r), r.Int32(), r.Int32(), r.Int32(),
        r.List(static r2 => new KeyValuePair<Core.Ingest.RowErrorKind, int>(r2.Enum<Core.Ingest.RowErrorKind>(), r2.Int32())),
        r.List(ReadRowError), r.Int32(), r.Int32(), r.Int64());

    private static void WriteMarketDataIngested(Writer w, MarketDataIngested m) => WriteMarketBatch(w, m.Batch);

    private static MarketDataIngested ReadMarketDataIngested(Reader r) => new(ReadMarketBatch(r));

    private static void WriteFindRegimeVector(Writer w, FindRegimeVector m)
    {
        WritePartitionRef(w, m.Partition);
        w.Int64(m.At);
    }

    private static FindRegimeVector ReadFindRegimeVector(Reader r) => new(ReadPartitionRef(r), r.Int64());

    private static void WriteGetBaseRate(Writer w, GetBaseRate m)
    {
        WritePartitionRef(w, m.Partition);
        w.Bool(m.From is not null);
        if (m.From is { } from) w.Double(from);
        w.Bool(m.To is not null);
        if (m.To is { } to) w.Double(to);
        w.List(m.Horizons, static (w2, h) => w2.Int32(h));
    }

    private static GetBaseRate ReadGetBaseRate(Reader r) =>
        new(ReadPartitionRef(r), r.Bool() ? r.Double() : null, r.Bool() ? r.Double() : null, r.List(static r2 => r2.Int32()));

    private static void WriteBaseRate(Writer w, BaseRate m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Horizons, static (w2, h) =>
        {
            w2.Int32(h.Horizon);
            w2.Int64(h.Known);
            w2.Int64(h.Positive);
            w2.Double(h.ReturnSum);
            w2.Double(h.VolatilitySum);
        });
    }

    private static BaseRate ReadBaseRate(Reader r) =>
        new(ReadPartitionRef(r), r.List(static r2 => new OutcomeSums(r2.Int32(), r2.Int64(), r2.Int64(), r2.Double(), r2.Double())));

    private static void WriteGetMarketStats(Writer w, GetMarketStats m) => WritePartitionRef(w, m.Partition);

    private static GetMarketStats ReadGetMarketStats(Reader r) => new(ReadPartitionRef(r));

    private static void WriteMarketStats(Writer w, MarketStats m)
    {
        WritePartitionRef(w, m.Partition);
        w.Int64(m.Ticks);
        w.Int64(m.Bars);
        w.Int32(m.Vectors);
        w.Int64(m.Rejected);
        w.Int64(m.FirstBarStart);
        w.Int64(m.LastBarEnd);
        w.Int64(m.Watermark);
        w.Int32(m.OpenBars);
        w.List(m.Sources, static (w2, p) =>
        {
            w2.String(p.Key);
            w2.Int64(p.Value);
        });
        w.Int64(m.SequenceNr);
    }

    private static MarketStats ReadMarketStats(Reader r) => new(
        ReadPartitionRef(r), r.Int64(), r.Int64(), r.Int32(), r.Int64(), r.Int64(), r.Int64(), r.Int64(), r.Int32(),
        r.List(static r2 => new KeyValuePair<string, long>(r2.String(), r2.Int64())), r.Int64());

    // ---- InspectionMessages.cs ----

    private static void WriteGetNodeInventory(Writer w, GetNodeInventory m)
    {
        // No fields: the version byte alone.
    }

    private static GetNodeInventory ReadGetNodeInventory(Reader r) => GetNodeInventory.Instance;

    private static void WriteNodeInventory(Writer w, NodeInventory m)
    {
        w.String(m.Node);
        w.List(m.Partitions, (w2, s) =>
        {
            Writer.Require(s);
            WritePartitionStats(w2, s);
        });
        w.Int32(m.Unanswered);
    }

    private static NodeInventory ReadNodeInventory(Reader r) => new(r.String(), r.List(ReadPartitionStats), r.Int32());

    private static void WriteGetCatalogStatus(Writer w, GetCatalogStatus m)
    {
        // No fields: the version byte alone.
    }

    private static GetCatalogStatus ReadGetCatalogStatus(Reader r) => GetCatalogStatus.Instance;

    private static void WriteCatalogStatus(Writer w, CatalogStatus m)
    {
        w.String(m.Node);
        w.Int64(m.Term);
        w.Int64(m.Index);
        w.Int32(m.Collections);
        w.Int32(m.SchemaVersion);
    }

    private static CatalogStatus ReadCatalogStatus(Reader r) => new(r.String(), r.Int64(), r.Int64(), r.Int32(), r.Int32());
    private static void WriteDeletePointsByFilter(Writer w, DeletePointsByFilter m)
    {
        WritePartitionRef(w, m.Partition);
        w.Bytes(m.Filter);
        WritePointVersion(w, m.Version);
    }

    private static DeletePointsByFilter ReadDeletePointsByFilter(Reader r) => new(ReadPartitionRef(r), r.Bytes(), ReadPointVersion(r));

    private static void WriteScrollPartition(Writer w, ScrollPartition m)
    {
        WritePartitionRef(w, m.Partition);
        w.OptionalBytes(m.Filter);
        w.Bool(m.From.HasValue);
        if (m.From is { } from) WritePointId(w, from);
        w.Int32(m.Limit);
        w.Bool(m.WithPayload);
        w.Bool(m.WithVector);
    }

    private static ScrollPartition ReadScrollPartition(Reader r) =>
        new(ReadPartitionRef(r), r.OptionalBytes(), r.Bool() ? ReadPointId(r) : (PointId?)null, r.Int32(), r.Bool(), r.Bool());

    private static void WriteCountPartition(Writer w, CountPartition m)
    {
        WritePartitionRef(w, m.Partition);
        w.OptionalBytes(m.Filter);
    }

    private static CountPartition ReadCountPartition(Reader r) => new(ReadPartitionRef(r), r.OptionalBytes());

    private static void WritePointCount(Writer w, PointCount m)
    {
        WritePartitionRef(w, m.Partition);
        w.Int64(m.Count);
    }

    private static PointCount ReadPointCount(Reader r) => new(ReadPartitionRef(r), r.Int64());

    private static void WriteChangePayload(Writer w, ChangePayload m)
    {
        WritePartitionRef(w, m.Partition);
        w.Byte((byte)m.Kind);
        w.OptionalBytes(m.Payload);
        w.List(m.Keys, static (w2, key) => w2.String(key));
        w.Bool(m.Ids is not null);
        if (m.Ids is not null) w.List(m.Ids, WritePointId);
        w.OptionalBytes(m.Filter);
        WritePointVersion(w, m.Version);
    }

    private static ChangePayload ReadChangePayload(Reader r) => new(
        ReadPartitionRef(r),
        r.Enum<PayloadChangeKind>(),
        r.OptionalBytes(),
        r.List(static r2 => r2.String()),
        r.Bool() ? r.List(ReadPointId) : null,
        r.OptionalBytes(),
        ReadPointVersion(r));

    // ---- SearchMessages.cs ----

    private static void WriteSearchRequest(Writer w, SearchRequest q)
    {
        Writer.Require(q);
        w.Floats(q.Vector);
        w.Int32(q.K);
        w.Int32(q.FetchK);
        w.OptionalInt32(q.Ef);
        w.Bool(q.Exact);
        w.OptionalBytes(q.Filter);
        w.Bool(q.Keys is not null);
        if (q.Keys is not null) w.List(q.Keys, static (w2, key) => w2.String(key));
    }

    private static SearchRequest ReadSearchRequest(Reader r) => new(
        r.Floats(), r.Int32(), r.Int32(), r.OptionalInt32(), r.Bool(), r.OptionalBytes(),
        r.Version >= 5 && r.Bool() ? r.List(static r2 => r2.String()) : null);

    private static void WriteHybridRequest(Writer w, HybridRequest q)
    {
        Writer.Require(q);
        w.String(q.Query);
        w.OptionalFloats(q.Vector);
        w.Byte((byte)q.Methods);
        w.Int32(q.K);
        w.Int32(q.Depth);
        w.OptionalBytes(q.Filter);
        w.OptionalInt32(q.Ef);
        w.Double(q.ExactWeight);
        w.Double(q.KeywordWeight);
        w.Double(q.SemanticWeight);
    }

    private static HybridRequest ReadHybridRequest(Reader r) => new(
        r.String(), r.OptionalFloats(), (Core.Hybrid.HybridMethods)r.Byte(), r.Int32(), r.Int32(), r.OptionalBytes(), r.OptionalInt32(),
        r.Double(), r.Double(), r.Double());

    private static void WritePartitionHybridHits(Writer w, PartitionHybridHits m)
    {
        WritePartitionRef(w, m.Partition);
        WriteRankings(w, m.Rankings);
        w.Int64(m.ElapsedMicros);
    }

    private static void WriteRankings(Writer w, IReadOnlyList<Core.Hybrid.MethodRanking> rankings) =>
        w.List(rankings, static (w2, ranking) =>
        {
            w2.Byte((byte)ranking.Method);
            w2.List(ranking.Points, static (w3, p) =>
            {
                WritePointId(w3, p.Id);
                w3.Double(p.Score);
            });
        });

    private static Core.Hybrid.MethodRanking[] ReadRankings(Reader r) =>
        r.List(static r2 => new Core.Hybrid.MethodRanking((Core.Hybrid.HybridMethods)r2.Byte(), r2.List(static r3 => new Core.Hybrid.ScoredPoint(ReadPointId(r3), r3.Double()))));

    private static PartitionHybridHits ReadPartitionHybridHits(Reader r) => new(
        ReadPartitionRef(r),
        ReadRankings(r),
        r.Int64());

    private static void WriteNodeHybridHits(Writer w, NodeHybridHits m)
    {
        w.String(m.Node);
        WriteRankings(w, m.Rankings);
        w.List(m.Partitions, static (w2, p) => w2.String(p));
        w.Bool(m.SemanticRan);
        w.Int64(m.ElapsedMicros);
        WriteMissing(w, m.Missing);
    }

    private static NodeHybridHits ReadNodeHybridHits(Reader r) => new(
        r.String(),
        ReadRankings(r),
        r.List(static r2 => r2.String()),
        r.Bool(),
        r.Int64(),
        ReadMissing(r));

    // Format 12: the coordinator's budget of a node search, and the partitions a node answer misses.
    private static void WriteBudget(Writer w, TimeSpan budget) => w.Int64(budget.Ticks);

    private static TimeSpan ReadBudget(Reader r) => r.Version >= 12 ? TimeSpan.FromTicks(r.Int64()) : TimeSpan.Zero;

    private static void WriteMissing(Writer w, IReadOnlyList<string> missing) => w.List(missing, static (w2, p) => w2.String(p));

    private static IReadOnlyList<string> ReadMissing(Reader r) => r.Version >= 12 ? r.List(static r2 => r2.String()) : [];

    private static void WriteSearchHit(Writer w, SearchHit h)
    {
        WritePointId(w, h.Id);
        w.Single(h.Distance);
    }

    private static SearchHit ReadSearchHit(Reader r) => new(ReadPointId(r), r.Single());

    private static void WritePartitionTiming(Writer w, PartitionTiming t)
    {
        Writer.Require(t);
        w.String(t.Partition);
        w.Int32(t.Candidates);
        w.Int64(t.ElapsedMicros);
    }

    private static PartitionTiming ReadPartitionTiming(Reader r) => new(r.String(), r.Int32(), r.Int64());

    private static void WriteSearchPartition(Writer w, SearchPartition m)
    {
        WritePartitionRef(w, m.Partition);
        WriteSearchRequest(w, m.Request);
    }

    private static SearchPartition ReadSearchPartition(Reader r) => new(ReadPartitionRef(r), ReadSearchRequest(r));

    private static void WritePartitionHits(Writer w, PartitionHits m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Hits, WriteSearchHit);
        w.Int32(m.Points);
        w.Int64(m.ElapsedMicros);
    }

    private static PartitionHits ReadPartitionHits(Reader r) => new(ReadPartitionRef(r), r.List(ReadSearchHit), r.Int32(), r.Int64());

    private static void WriteNodeSearch(Writer w, NodeSearch m)
    {
        w.String(m.Collection);
        WriteSearchRequest(w, m.Request);
        w.Int64(m.Generation);
        WriteReplicaChoice(w, m.Replicas);
        WriteBudget(w, m.Budget);
    }

    private static NodeSearch ReadNodeSearch(Reader r) => new(r.String(), ReadSearchRequest(r), r.Int64(), ReadReplicaChoice(r), ReadBudget(r));

    // Format 9 added the replica choice to node searches; before, every node searched replica 0.
    private static void WriteReplicaChoice(Writer w, ReplicaChoice c)
    {
        w.Int32(c.Factor);
        w.Int32(c.Offset);
    }

    private static ReplicaChoice ReadReplicaChoice(Reader r) => r.Version >= 9 ? new ReplicaChoice(r.Int32(), r.Int32()) : default;

    private static void WriteNodeHits(Writer w, NodeHits m)
    {
        w.String(m.Node);
        w.List(m.Hits, WriteSearchHit);
        w.List(m.Partitions, WritePartitionTiming);
        w.Int64(m.ElapsedMicros);
        WriteMissing(w, m.Missing);
    }

    private static NodeHits ReadNodeHits(Reader r) => new(r.String(), r.List(ReadSearchHit), r.List(ReadPartitionTiming), r.Int64(), ReadMissing(r));

    private static void WriteSearchPartitionBatch(Writer w, SearchPartitionBatch m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Requests, WriteSearchRequest);
    }

    private static SearchPartitionBatch ReadSearchPartitionBatch(Reader r) => new(ReadPartitionRef(r), r.List(ReadSearchRequest));

    private static void WritePartitionHitsBatch(Writer w, PartitionHitsBatch m)
    {
        WritePartitionRef(w, m.Partition);
        w.List(m.Answers, (w2, a) =>
        {
            Writer.Require(a);
            WritePartitionHits(w2, a);
        });
    }

    private static PartitionHitsBatch ReadPartitionHitsBatch(Reader r) => new(ReadPartitionRef(r), r.List(ReadPartitionHits));

    private static void WriteNodeSearchBatch(Writer w, NodeSearchBatch m)
    {
        w.String(m.Collection);
        w.List(m.Requests, WriteSearchRequest);
        w.Int64(m.Generation);
        WriteReplicaChoice(w, m.Replicas);
        WriteBudget(w, m.Budget);
    }

    private static NodeSearchBatch ReadNodeSearchBatch(Reader r) => new(r.String(), r.List(ReadSearchRequest), r.Int64(), ReadReplicaChoice(r), ReadBudget(r));

    private static void WriteNodeHitsBatch(Writer w, NodeHitsBatch m)
    {
        w.String(m.Node);
        w.List(m.Answers, (w2, a) =>
        {
            Writer.Require(a);
            WriteNodeHits(w2, a);
        });
        w.Int64(m.ElapsedMicros);
    }

    private static NodeHitsBatch ReadNodeHitsBatch(Reader r) => new(r.String(), r.List(ReadNodeHits), r.Int64());

    // ---- CatalogMessages.cs ----

    private static void WriteCreateCollection(Writer w, CreateCollection m) => WriteCollectionSpec(w, m.Spec);

    private static CreateCollection ReadCreateCollection(Reader r) => new(ReadCollectionSpec(r));

    private static void WriteDropCollection(Writer w, DropCollection m) => w.String(m.Name);

    private static DropCollection ReadDropCollection(Reader r) => new(r.String());

    private static void WriteRegisterPartitionKey(Writer w, RegisterPartitionKey m)
    {
        w.String(m.Collection);
        w.String(m.Key);
    }

    private static RegisterPartitionKey ReadRegisterPartitionKey(Reader r) => new(r.String(), r.String());

    private static void WriteGetCatalog(Writer w, GetCatalog m)
    {
        // No fields: the version byte alone.
    }

    private static GetCatalog ReadGetCatalog(Reader r) => GetCatalog.Instance;

    private static void WriteCatalogAck(Writer w, CatalogAck m)
    {
        w.Int64(m.Term);
        w.Int64(m.Index);
    }

    private static CatalogAck ReadCatalogAck(Reader r) => new(r.Int64(), r.Int64());

    private static void WriteCatalogRejected(Writer w, CatalogRejected m) => w.String(m.Reason);

    private static CatalogRejected ReadCatalogRejected(Reader r) => new(r.String());

    private static void WriteCollectionEntry(Writer w, CollectionEntry e)
    {
        Writer.Require(e);
        WriteCollectionSpec(w, e.Spec);
        w.List(e.Keys, (w2, key) => w2.String(key));
        w.Int64(e.Generation);
        w.List(e.Centroids, static (w2, c) => w2.Floats(c));
        w.Byte((byte)e.Phase);
    }

    private static CollectionEntry ReadCollectionEntry(Reader r)
    {
        var entry = new CollectionEntry(ReadCollectionSpec(r), r.List(r2 => r2.String()), r.Int64());
        return r.Version >= 5 ? entry with { Centroids = r.List(static r2 => r2.Floats()), Phase = r.Enum<RegionPhase>() } : entry;
    }

    private static void WriteBeginRegions(Writer w, BeginRegions m)
    {
        w.String(m.Collection);
        w.Int64(m.Generation);
        w.List(m.Centroids, static (w2, c) => w2.Floats(c));
    }

    private static BeginRegions ReadBeginRegions(Reader r) => new(r.String(), r.Int64(), r.List(static r2 => r2.Floats()));

    private static void WriteFinishRegions(Writer w, FinishRegions m)
    {
        w.String(m.Collection);
        w.Int64(m.Generation);
    }

    private static FinishRegions ReadFinishRegions(Reader r) => new(r.String(), r.Int64());

    private static void WriteCatalogSnapshot(Writer w, CatalogSnapshot m)
    {
        w.Int64(m.Term);
        w.Int64(m.Index);
        w.List(m.Collections, WriteCollectionEntry);
        w.Int32(m.SchemaVersion);
        w.List(m.Settings, static (w2, kv) =>
        {
            w2.String(kv.Key);
            w2.String(kv.Value);
        });
    }

    private static CatalogSnapshot ReadCatalogSnapshot(Reader r) =>
        new(r.Int64(), r.Int64(), r.List(ReadCollectionEntry), r.Int32(), r.List(static r2 => new KeyValuePair<string, string>(r2.String(), r2.String())));

    private static void WriteSetSetting(Writer w, SetSetting m)
    {
        w.String(m.Key);
        w.String(m.Value);
    }

    private static SetSetting ReadSetSetting(Reader r) => new(r.String(), r.String());

    // ---- Events.cs ----

    private static void WritePartitionInitialized(Writer w, PartitionInitialized m) => WriteCollectionSpec(w, m.Spec);

    private static PartitionInitialized ReadPartitionInitialized(Reader r) => new(ReadCollectionSpec(r));

    private static void WritePointsUpserted(Writer w, PointsUpserted m) => w.List(m.Points, WritePointWrite);

    private static PointsUpserted ReadPointsUpserted(Reader r) => new(r.List(ReadPointWrite));

    private static void WritePointsDeleted(Writer w, PointsDeleted m)
    {
        w.List(m.Ids, WritePointId);
        WritePointVersion(w, m.Version);
    }

    private static PointsDeleted ReadPointsDeleted(Reader r) => new(r.List(ReadPointId), ReadPointVersion(r));

    private static void WritePartitionSnapshot(Writer w, PartitionSnapshot m)
    {
        WriteCollectionSpec(w, m.Spec);
        w.Bytes(m.Index);
        w.Bool(m.IsGraph);
        w.List(m.Payloads, (w2, p) =>
        {
            WritePointId(w2, p.Key);
            w2.Bytes(p.Value);
        });
        w.List(m.Documents, (w2, d) =>
        {
            WritePointId(w2, d.Key);
            w2.String(d.Value);
        });
        w.OptionalBytes(m.Market);
        WriteVersionedIds(w, m.Versions);
        WriteVersionedIds(w, m.Tombstones);
    }

    private static PartitionSnapshot ReadPartitionSnapshot(Reader r) => new(
        ReadCollectionSpec(r),
        r.Bytes(),
        r.Bool(),
        r.List(r2 => new KeyValuePair<PointId, byte[]>(ReadPointId(r2), r2.Bytes())),
        r.Version >= 2 ? r.List(r2 => new KeyValuePair<PointId, string>(ReadPointId(r2), r2.String())) : [],
        r.Version >= 3 ? r.OptionalBytes() : null)
    {
        Versions = ReadVersionedIds(r),
        Tombstones = ReadVersionedIds(r),
    };

    private static void WritePayloadChanged(Writer w, PayloadChanged m)
    {
        w.Byte((byte)m.Kind);
        w.OptionalBytes(m.Payload);
        w.List(m.Keys, static (w2, key) => w2.String(key));
        w.List(m.Ids, WritePointId);
        WritePointVersion(w, m.Version);
    }

    private static PayloadChanged ReadPayloadChanged(Reader r) =>
        new(r.Enum<PayloadChangeKind>(), r.OptionalBytes(), r.List(static r2 => r2.String()), r.List(ReadPointId), ReadPointVersion(r));

    private static void WriteCatalogTermStarted(Writer w, CatalogTermStarted m) => w.Int64(m.Term);

    private static CatalogTermStarted ReadCatalogTermStarted(Reader r) => new(r.Int64());

    private static void WriteCatalogEntryAppended(Writer w, CatalogEntryAppended m)
    {
        w.Int64(m.Term);
        w.Int64(m.Index);
        // The change is itself a message: its manifest, then its fields.
        var change = CodecOf(m.Change);
        w.String(change.Manifest);
        change.Write(w, m.Change);
    }

    // A message inside another: its manifest, then its fields.
    private static void WriteNested(Writer w, IVLinkMessage message)
    {
        Writer.Require(message);
        var codec = CodecOf(message);
        w.String(codec.Manifest);
        codec.Write(w, message);
    }

    private static T ReadNested<T>(Reader r)
    {
        string manifest = r.String();
        if (!ByManifest.TryGetValue(manifest, out var codec))
            throw Reader.Damaged($"unknown manifest '{manifest}' of a nested message");
        return codec.Read(r) is T message ? message : throw Reader.Damaged($"the nested '{manifest}' is a {codec.Type.Name}, not a {typeof(T).Name}");
    }

    private static CatalogEntryAppended ReadCatalogEntryAppended(Reader r)
    {
        long term = r.Int64();
        long index = r.Int64();
        string manifest = r.String();
        if (!ByManifest.TryGetValue(manifest, out var codec))
            throw Reader.Damaged($"unknown manifest '{manifest}' of the nested catalog change");
        if (codec.Read(r) is not ICatalogCommand change)
            throw Reader.Damaged($"the nested change '{manifest}' is a {codec.Type.Name}, not a catalog command");
        return new CatalogEntryAppended(term, index, change);
    }

    // ---- The table row and the two cursors ----

    private sealed class Codec(Type type, string manifest, Action<Writer, object> write, Func<Reader, object> read)
    {
        public Type Type { get; } = type;

        public string Manifest { get; } = manifest;

        public Action<Writer, object> Write { get; } = write;

        public Func<Reader, object> Read { get; } = read;

        public static Codec Of<T>(string manifest, Action<Writer, T> write, Func<Reader, T> read)
            where T : class, IVLinkMessage =>
            new(typeof(T), manifest, (w, o) => write(w, (T)o), r => read(r));
    }

    /// <summary>Appends little-endian values to a growing buffer.</summary>
    private sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _buffer;

        public Writer(int capacity) => _buffer = new ArrayBufferWriter<byte>(capacity);

        public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

        /// <summary>Fields the protocol declares non-nullable must not be null on the wire.</summary>
        public static void Require(object? value)
        {
            if (value is null) throw new SerializationException("a required field is null");
        }

        public void Byte(byte value)
        {
            _buffer.GetSpan(1)[0] = value;
            _buffer.Advance(1);
        }

        public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

        public void Int32(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), value);
            _buffer.Advance(4);
        }

        public void Int64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), value);
            _buffer.Advance(8);
        }

        public void UInt64(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
            _buffer.Advance(8);
        }

        public void Single(float value)
        {
            BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), value);
            _buffer.Advance(4);
        }

        public void Double(double value)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), value);
            _buffer.Advance(8);
        }

        /// <summary>A count or length: unsigned LEB128.</summary>
        public void Count(int count)
        {
            uint value = (uint)count;
            while (value >= 0x80)
            {
                Byte((byte)(value | 0x80));
                value >>= 7;
            }
            Byte((byte)value);
        }

        /// <summary>An unsigned 64-bit value: LEB128 (7 bits a byte).</summary>
        public void VarUInt64(ulong value)
        {
            while (value >= 0x80)
            {
                Byte((byte)(value | 0x80));
                value >>= 7;
            }
            Byte((byte)value);
        }

        public void String(string? value)
        {
            Require(value);
            int length = Encoding.UTF8.GetByteCount(value!);
            Count(length);
            Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
            _buffer.Advance(length);
        }

        public void Bytes(byte[]? value)
        {
            Require(value);
            Count(value!.Length);
            value.CopyTo(_buffer.GetSpan(value.Length));
            _buffer.Advance(value.Length);
        }

        public void Floats(float[]? value)
        {
            Require(value);
            Count(value!.Length);
            var target = _buffer.GetSpan(value.Length * sizeof(float));
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(value.AsSpan()).CopyTo(target);
            }
            else
            {
                for (int i = 0; i < value.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(target[(i * sizeof(float))..], value[i]);
            }
            _buffer.Advance(value.Length * sizeof(float));
        }

        public void OptionalBytes(byte[]? value)
        {
            Bool(value is not null);
            if (value is not null) Bytes(value);
        }

        public void OptionalString(string? value)
        {
            Bool(value is not null);
            if (value is not null) String(value);
        }

        public void OptionalFloats(float[]? value)
        {
            Bool(value is not null);
            if (value is not null) Floats(value);
        }

        public void OptionalInt32(int? value)
        {
            Bool(value.HasValue);
            if (value is { } v) Int32(v);
        }

        public void List<T>(IReadOnlyList<T>? items, Action<Writer, T> item)
        {
            Require(items);
            Count(items!.Count);
            for (int i = 0; i < items.Count; i++) item(this, items[i]);
        }
    }

    /// <summary>Reads what <see cref="Writer"/> wrote; every read checks the bytes remaining.</summary>
    private sealed class Reader(byte[] data)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private int _position;

        private int Remaining => data.Length - _position;

        /// <summary>The format version of the payload being read (older versions lack later fields).</summary>
        public byte Version { get; set; } = FormatVersion;

        public static SerializationException Damaged(string problem) => new(problem);

        /// <summary>Throws unless every byte was read: trailing bytes mean a different layout.</summary>
        public void End()
        {
            if (Remaining != 0) throw Damaged($"{Remaining} unexpected trailing bytes at offset {_position}");
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            if (length > Remaining)
                throw Damaged($"truncated: {length} bytes needed at offset {_position}, {Remaining} left");
            var span = data.AsSpan(_position, length);
            _position += length;
            return span;
        }

        public byte Byte() => Take(1)[0];

        public bool Bool() => Byte() switch
        {
            0 => false,
            1 => true,
            var b => throw Damaged($"byte {b} at offset {_position - 1} is neither 0 nor 1"),
        };

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public float Single() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

        public double Double() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

        public TEnum Enum<TEnum>() where TEnum : struct, Enum
        {
            byte raw = Byte();
            var value = (TEnum)System.Enum.ToObject(typeof(TEnum), raw);
            return System.Enum.IsDefined(value) ? value : throw Damaged($"{raw} is not a {typeof(TEnum).Name}");
        }

        /// <summary>
        /// A count or length written by <see cref="Writer.Count"/>. Each of the items takes at least
        /// <paramref name="bytesPerItem"/> bytes, so a damaged count fails here instead of allocating.
        /// </summary>
        public int Count(int bytesPerItem = 1)
        {
            int start = _position;
            uint value = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (shift > 28) throw Damaged($"the count at offset {start} is longer than 5 bytes");
                byte b = Byte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            if (value > int.MaxValue || (long)value * bytesPerItem > Remaining)
                throw Damaged($"truncated: the count {value} at offset {start} exceeds the {Remaining} bytes left");
            return (int)value;
        }

        /// <summary>A value written by <see cref="Writer.VarUInt64"/>.</summary>
        public ulong VarUInt64()
        {
            int start = _position;
            ulong value = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (shift > 63) throw Damaged($"the number at offset {start} is longer than 10 bytes");
                byte b = Byte();
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
        }

        public string String() => StrictUtf8.GetString(Take(Count()));

        public byte[] Bytes() => Take(Count()).ToArray();

        public float[] Floats()
        {
            int length = Count(sizeof(float));
            var bytes = Take(length * sizeof(float));
            var value = new float[length];
            if (BitConverter.IsLittleEndian)
            {
                bytes.CopyTo(MemoryMarshal.AsBytes(value.AsSpan()));
            }
            else
            {
                for (int i = 0; i < length; i++)
                    value[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
            }
            return value;
        }

        public byte[]? OptionalBytes() => Bool() ? Bytes() : null;

        public float[]? OptionalFloats() => Bool() ? Floats() : null;

        public string? OptionalString() => Bool() ? String() : null;

        public int? OptionalInt32() => Bool() ? Int32() : null;

        public T[] List<T>(Func<Reader, T> item)
        {
            var items = new T[Count()];
            for (int i = 0; i < items.Length; i++) items[i] = item(this);
            return items;
        }
    }
}
