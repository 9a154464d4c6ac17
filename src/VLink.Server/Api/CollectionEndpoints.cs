using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Vectors;

namespace VLink.Server.Api;

/// <summary>Qdrant's collection routes: create, list, describe, delete.</summary>
public static class CollectionEndpoints
{
    /// <summary>Partitions of a collection whose request names no <c>shard_number</c>.</summary>
    public const int DefaultShardNumber = 4;

    /// <summary>Maps the collection routes.</summary>
    public static IEndpointRouteBuilder MapCollectionEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/collections/{name}", CreateAsync);
        app.MapGet("/collections", ListAsync);
        app.MapGet("/collections/{name}", GetAsync);
        app.MapGet("/collections/{name}/exists", ExistsAsync);
        app.MapDelete("/collections/{name}", DeleteAsync);
        return app;
    }

    /// <summary>Qdrant's name of a metric.</summary>
    public static string DistanceName(DistanceMetric metric) => metric switch
    {
        DistanceMetric.Cosine => "Cosine",
        DistanceMetric.Dot => "Dot",
        DistanceMetric.Euclidean => "Euclid",
        _ => metric.ToString(),
    };

    /// <summary>The catalog entry of a collection; 404 when it does not exist.</summary>
    public static async Task<CollectionEntry> FindAsync(VLinkNode node, string name) =>
        (await node.CatalogAsync().ConfigureAwait(false)).Find(name) ?? throw new UnknownCollectionException(name);

    /// <summary>
    /// The collection a search route reads, as the Gather Engine sees it (its cached catalog: no wait on the catalog
    /// singleton while it moves, so the search's deadline covers the whole request); 404 when unknown.
    /// </summary>
    public static Task<CollectionEntry> FindForSearchAsync(VLinkNode node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Gather.CollectionAsync(name);
    }

    private static async Task<IResult> CreateAsync(string name, HttpRequest request, VLinkNode node, Embeddings.EmbeddingProviders providers, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        RequestJson.OnlyFields(document.RootElement, "", "vectors", "shard_number", "replication_factor", "write_consistency_factor", "write_consistency",
            "hnsw_config", "quantization_config", "regions", "text_fields", "embedding");
        var (text, embeddedDimension) = await ParseTextAsync(document.RootElement, providers, cancellationToken).ConfigureAwait(false);
        var spec = ParseSpec(name, document.RootElement, embeddedDimension) with { Text = text };
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            string field = e.ParamName switch
            {
                nameof(CollectionSpec.Name) => "collection_name",
                nameof(CollectionSpec.Dimension) => "vectors.size",
                nameof(CollectionSpec.PartitionCount) => "shard_number",
                nameof(CollectionSpec.Regions) => "regions",
                nameof(CollectionSpec.ReplicationFactor) => "replication_factor",
                nameof(CollectionSpec.WriteConsistency) => "write_consistency_factor",
                nameof(TextSpec.Fields) => "text_fields",
                nameof(HnswOptions.M) => "hnsw_config.m",
                nameof(HnswOptions.EfConstruction) => "hnsw_config.ef_construct",
                _ => e.ParamName ?? "body",
            };
            throw ApiException.BadField(field, e.Message);
        }
        try
        {
            await node.ChangeCatalogAsync(new CreateCollection(spec)).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new ApiException(StatusCodes.Status409Conflict, "collection_name", $"collection_name: {e.Message}");
        }
        return Envelope.Ok(true, clock);
    }

    /// <summary>
    /// VLink's text settings of a collection: <c>text_fields</c> (payload keys; <c>["text"]</c> by default when the
    /// collection embeds) and <c>embedding</c> (<c>provider</c> default|onnx|http, <c>model</c>, <c>url</c>, <c>api</c>,
    /// <c>dimension</c>). The provider is made here, so its model id and dimension are recorded with the collection.
    /// </summary>
    private static async Task<(TextSpec? Text, int? Dimension)> ParseTextAsync(JsonElement root, Embeddings.EmbeddingProviders providers, CancellationToken cancellationToken)
    {
        List<string>? fields = null;
        if (RequestJson.TryGet(root, "text_fields", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array) throw ApiException.BadField("text_fields", "expected an array of payload keys");
            fields = [];
            int i = 0;
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
                    throw ApiException.BadField($"text_fields[{i}]", "expected a payload key");
                fields.Add(item.GetString()!);
                i++;
            }
        }
        if (!RequestJson.TryGet(root, "embedding", out var embedding) || embedding.ValueKind == JsonValueKind.Null)
            return (fields is null ? null : new TextSpec(fields), null);
        if (embedding.ValueKind != JsonValueKind.Object) throw ApiException.BadField("embedding", "expected an object");
        RequestJson.OnlyFields(embedding, "embedding", "provider", "model", "url", "api", "dimension");
        string? Text(string key)
        {
            if (!RequestJson.TryGet(embedding, key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            return value.ValueKind == JsonValueKind.String ? value.GetString() : throw ApiException.BadField("embedding." + key, "expected a string");
        }
        var config = new Embeddings.EmbeddingConfig(Text("provider") ?? "default", Text("model"), Text("url"), Text("api"),
            RequestJson.OptionalInt(embedding, "dimension", "embedding.dimension", 1, 65536));
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadField("embedding." + e.ParamName, e.Message);
        }
        var provider = await TextEmbedding.GetAsync(providers, config, "embedding.provider", cancellationToken).ConfigureAwait(false);
        var spec = new EmbeddingSpec(config.Provider, provider.ModelId, config.Model, config.Url, config.Api);
        return (new TextSpec(fields ?? ["text"], spec), provider.Dimension);
    }

    private static CollectionSpec ParseSpec(string name, JsonElement root, int? embeddedDimension = null)
    {
        // A collection that embeds its text takes its dimension from the model, and cosine distance unless told.
        bool hasVectors = RequestJson.TryGet(root, "vectors", out _);
        var vectors = embeddedDimension is not null && !hasVectors ? default : RequestJson.RequireObject(root, "vectors", "vectors");
        RequestJson.OnlyFields(vectors, "vectors", "size", "distance");
        int size = vectors.ValueKind == JsonValueKind.Undefined ? embeddedDimension!.Value
            : RequestJson.OptionalInt(vectors, "size", "vectors.size", 1, 65536) ?? embeddedDimension ?? throw ApiException.BadField("vectors.size", "is required");
        if (embeddedDimension is { } modelDimension && size != modelDimension)
            throw ApiException.BadField("vectors.size", $"is {size}, but the embedding model's vectors have {modelDimension} dimensions");
        JsonElement distance = default;
        if (vectors.ValueKind == JsonValueKind.Undefined || !RequestJson.TryGet(vectors, "distance", out distance))
        {
            if (embeddedDimension is null) throw ApiException.BadField("vectors.distance", "is required");
            distance = JsonDocument.Parse("\"Cosine\"").RootElement;
        }
        var metric = distance.ValueKind == JsonValueKind.String ? distance.GetString() switch
        {
            "Cosine" => DistanceMetric.Cosine,
            "Dot" => DistanceMetric.Dot,
            "Euclid" => DistanceMetric.Euclidean,
            _ => (DistanceMetric?)null,
        } : null;
        if (metric is null) throw ApiException.BadField("vectors.distance", "expected \"Cosine\", \"Dot\" or \"Euclid\"");
        var hnsw = HnswOptions.Default;
        if (RequestJson.TryGet(root, "hnsw_config", out var config))
        {
            if (config.ValueKind != JsonValueKind.Object) throw ApiException.BadField("hnsw_config", "expected an object");
            RequestJson.OnlyFields(config, "hnsw_config", "m", "ef_construct");
            if (RequestJson.OptionalInt(config, "m", "hnsw_config.m", 2, 256) is { } m) hnsw = hnsw with { M = m };
            if (RequestJson.OptionalInt(config, "ef_construct", "hnsw_config.ef_construct", 4, 100_000) is { } ef) hnsw = hnsw with { EfConstruction = ef };
        }
        if (RequestJson.TryGet(root, "quantization_config", out var quantization) && quantization.ValueKind != JsonValueKind.Null)
            hnsw = hnsw with { Quantization = ParseQuantization(quantization) };
        int shards = RequestJson.OptionalInt(root, "shard_number", "shard_number", 1, 65536) ?? DefaultShardNumber;
        var regions = ParseRegions(root);
        int replicas = RequestJson.OptionalInt(root, "replication_factor", "replication_factor", 1, CollectionSpec.MaxReplicationFactor) ?? 1;
        return new CollectionSpec(name, size, metric.Value, regions is null ? PartitionScheme.Hash : PartitionScheme.Region, shards, hnsw, Regions: regions,
            ReplicationFactor: replicas, WriteConsistency: ParseWriteConsistency(root, replicas));
    }

    /// <summary>
    /// Replicas that must journal a write before it is acknowledged: Qdrant's <c>write_consistency_factor</c> (a number),
    /// or <c>write_consistency</c> — a number, <c>"majority"</c> or <c>"all"</c> (fixed to a number at creation). 1 by default.
    /// </summary>
    private static int ParseWriteConsistency(JsonElement root, int replicas)
    {
        bool hasFactor = RequestJson.TryGet(root, "write_consistency_factor", out _);
        if (!RequestJson.TryGet(root, "write_consistency", out var consistency) || consistency.ValueKind == JsonValueKind.Null)
            return RequestJson.OptionalInt(root, "write_consistency_factor", "write_consistency_factor", 1, CollectionSpec.MaxReplicationFactor) ?? 1;
        if (hasFactor) throw ApiException.BadField("write_consistency", "give write_consistency or write_consistency_factor, not both");
        return consistency.ValueKind switch
        {
            JsonValueKind.Number => RequestJson.OptionalInt(root, "write_consistency", "write_consistency", 1, CollectionSpec.MaxReplicationFactor)!.Value,
            JsonValueKind.String when consistency.GetString() == "majority" => CollectionSpec.Majority(replicas),
            JsonValueKind.String when consistency.GetString() == "all" => replicas,
            _ => throw ApiException.BadField("write_consistency", "expected a number of replicas, \"majority\" or \"all\""),
        };
    }

    /// <summary>
    /// VLink's extension <c>"regions": {"train_size": n, "probes": p}</c> (or <c>true</c> for the defaults): the
    /// collection's shards become regions of a k-means router, trained on its first <c>train_size</c> points; a search
    /// visits the <c>probes</c> regions nearest its query (<c>params.probes</c> overrides per search).
    /// </summary>
    private static RegionSpec? ParseRegions(JsonElement root)
    {
        if (!RequestJson.TryGet(root, "regions", out var regions) || regions.ValueKind is JsonValueKind.Null or JsonValueKind.False) return null;
        if (regions.ValueKind == JsonValueKind.True) return new RegionSpec();
        if (regions.ValueKind != JsonValueKind.Object) throw ApiException.BadField("regions", "expected an object or true");
        RequestJson.OnlyFields(regions, "regions", "train_size", "probes");
        return new RegionSpec(
            RequestJson.OptionalInt(regions, "train_size", "regions.train_size", 1, 10_000_000) ?? RegionSpec.DefaultTrainSize,
            RequestJson.OptionalInt(regions, "probes", "regions.probes", 1, 65536) ?? RegionSpec.DefaultProbes);
    }

    /// <summary>
    /// Qdrant's <c>{"scalar": {"type": "int8", "quantile": q, "always_ram": b}}</c>. Codes are always in memory;
    /// <c>always_ram</c> true keeps the full-precision vectors in memory too, false (the default) memory-maps them.
    /// </summary>
    private static ScalarQuantization ParseQuantization(JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object) throw ApiException.BadField("quantization_config", "expected an object");
        RequestJson.OnlyFields(config, "quantization_config", "scalar", "product", "binary");
        foreach (var kind in new[] { "product", "binary" })
        {
            if (RequestJson.TryGet(config, kind, out _))
                throw ApiException.BadField($"quantization_config.{kind}", "is not supported; use \"scalar\" (int8)");
        }
        var scalar = RequestJson.RequireObject(config, "scalar", "quantization_config.scalar");
        RequestJson.OnlyFields(scalar, "quantization_config.scalar", "type", "quantile", "always_ram");
        if (!RequestJson.TryGet(scalar, "type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "int8")
            throw ApiException.BadField("quantization_config.scalar.type", "expected \"int8\"");
        var result = new ScalarQuantization();
        if (RequestJson.OptionalNumber(scalar, "quantile", "quantization_config.scalar.quantile") is { } quantile)
        {
            if (quantile is < 0.5 or > 1.0) throw ApiException.BadField("quantization_config.scalar.quantile", "must be within [0.5, 1]");
            result = result with { Quantile = quantile };
        }
        if (RequestJson.OptionalBool(scalar, "always_ram", "quantization_config.scalar.always_ram") is { } alwaysRam)
            result = result with { OriginalsInRam = alwaysRam };
        return result;
    }

    private static async Task<IResult> ListAsync(VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        var snapshot = await node.CatalogAsync().ConfigureAwait(false);
        var list = new JsonArray();
        foreach (var entry in snapshot.Collections.OrderBy(c => c.Spec.Name, StringComparer.Ordinal))
            list.Add(new JsonObject { ["name"] = entry.Spec.Name });
        return Envelope.Ok(new JsonObject { ["collections"] = list }, clock);
    }

    private static async Task<IResult> GetAsync(string name, VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        var entry = await FindAsync(node, name).ConfigureAwait(false);
        var spec = entry.Spec;
        var (points, indexed, unlinked) = await CountPointsAsync(node, entry).ConfigureAwait(false);
        var result = new JsonObject
        {
            // Qdrant's yellow: answers are complete, while points replayed after a restart are still being linked.
            ["status"] = unlinked > 0 ? "yellow" : "green",
            ["optimizer_status"] = "ok",
            ["points_count"] = points,
            ["indexed_vectors_count"] = indexed,
            ["segments_count"] = entry.Partitions().Count(),
            ["config"] = new JsonObject
            {
                ["params"] = new JsonObject
                {
                    ["vectors"] = new JsonObject { ["size"] = spec.Dimension, ["distance"] = DistanceName(spec.Metric) },
                    ["shard_number"] = spec.PartitionCount,
                    ["replication_factor"] = spec.ReplicationFactor,
                    ["write_consistency_factor"] = spec.WriteConsistency,
                },
                ["hnsw_config"] = new JsonObject { ["m"] = spec.Hnsw.M, ["ef_construct"] = spec.Hnsw.EfConstruction },
                ["quantization_config"] = spec.Hnsw.Quantization is { } q
                    ? new JsonObject
                    {
                        ["scalar"] = new JsonObject { ["type"] = "int8", ["quantile"] = q.Quantile, ["always_ram"] = q.OriginalsInRam },
                    }
                    : null,
            },
            ["payload_schema"] = new JsonObject(),
        };
        if (spec.Text is { } text)
        {
            var parameters = result["config"]!["params"]!;
            parameters["text_fields"] = new JsonArray([.. text.Fields.Select(f => (JsonNode)f)]);
            parameters["embedding"] = text.Embedding is { } e
                ? new JsonObject { ["provider"] = e.Provider, ["model"] = e.Model, ["url"] = e.Url, ["api"] = e.Api, ["model_id"] = e.ModelId }
                : null;
        }
        if (spec.Regions is { } regions)
        {
            result["config"]!["regions"] = new JsonObject
            {
                ["train_size"] = regions.TrainSize,
                ["probes"] = regions.Probes,
                ["phase"] = entry.Phase.ToString().ToLowerInvariant(),
            };
        }
        return Envelope.Ok(result, clock);
    }

    /// <summary>
    /// Sums the points of every partition, and those of partitions indexed by a graph (Qdrant's indexed vectors:
    /// small partitions are scanned exactly and index nothing, and points held but not yet linked are not indexed either),
    /// and the points not yet linked; nulls when some partition does not answer in time or lost history.
    /// </summary>
    private static async Task<(long? Points, long? Indexed, long Unlinked)> CountPointsAsync(VLinkNode node, CollectionEntry entry)
    {
        try
        {
            var stats = await node.PartitionStatsAsync(entry).ConfigureAwait(false);
            // A partition that lost history holds fewer points than were acknowledged: the sum is not known.
            if (stats.Any(s => s.HistoryLost)) return (null, null, 0);
            long unlinked = stats.Sum(s => (long)s.Unlinked);
            return (stats.Sum(s => (long)s.Points), stats.Where(s => s.IndexKind == "hnsw").Sum(s => (long)s.Points) - unlinked, unlinked);
        }
        catch (AskTimeoutException)
        {
            return (null, null, 0);
        }
    }

    private static async Task<IResult> ExistsAsync(string name, VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        bool exists = (await node.CatalogAsync().ConfigureAwait(false)).Find(name) is not null;
        return Envelope.Ok(new JsonObject { ["exists"] = exists }, clock);
    }

    private static async Task<IResult> DeleteAsync(string name, VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        // Idempotent, as Qdrant's: deleting a collection that is not there answers false (clients' "recreate" relies on it).
        if ((await node.CatalogAsync().ConfigureAwait(false)).Find(name) is null) return Envelope.Ok(false, clock);
        try
        {
            await node.ChangeCatalogAsync(new DropCollection(name)).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Dropped concurrently by someone else: gone either way.
            return Envelope.Ok(false, clock);
        }
        return Envelope.Ok(true, clock);
    }
}
