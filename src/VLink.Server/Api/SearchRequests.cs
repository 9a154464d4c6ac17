using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Server.Api;

/// <summary>One k-NN search as Qdrant's search and query requests ask for it, validated against the collection.</summary>
/// <param name="Vector">The query vector.</param>
/// <param name="Limit">Points wanted.</param>
/// <param name="Offset">Best points skipped first.</param>
/// <param name="Ef">HNSW ef, or null for the collection's default.</param>
/// <param name="Exact">Exact scan instead of the graph.</param>
/// <param name="ScoreThreshold">Scores worse than this are left out (at least it for similarities, at most it for distances).</param>
/// <param name="Filter">Qdrant filter JSON, validated; null for none.</param>
/// <param name="Payload">Which payload to return.</param>
/// <param name="WithVector">Whether to return vectors.</param>
/// <param name="Exclude">A point left out of the answer (the point whose vector is the query).</param>
/// <param name="Probes">Regions visited in a region-partitioned collection (<c>params.probes</c>), or null for its default.</param>
public sealed record SearchQuery(
    float[] Vector,
    int Limit,
    int Offset,
    int? Ef,
    bool Exact,
    double? ScoreThreshold,
    byte[]? Filter,
    PayloadSelector Payload,
    bool WithVector,
    PointId? Exclude = null,
    int? Probes = null)
{
    /// <summary>For a fusion query (<c>"query": {"fusion": "rrf"}</c>): the prefetch searches whose rankings are fused; null otherwise.</summary>
    public IReadOnlyList<SearchQuery>? Prefetch { get; init; }
}

/// <summary>The scored points of one search and what the answer knows about its own completeness.</summary>
/// <param name="Points">Qdrant's scored points: <c>{"id", "version", "score", "payload", "vector"}</c>, best first.</param>
/// <param name="Complete">True when every partition answered.</param>
/// <param name="MissingPartitions">The partitions that did not answer in time.</param>
public sealed record SearchAnswer(JsonArray Points, bool Complete, IReadOnlyList<string> MissingPartitions);

/// <summary>
/// Parses and runs the searches of Qdrant's search, batch search, query and batch query requests: one parser per
/// request shape, one executor for all of them.
/// </summary>
public static class SearchRequests
{
    /// <summary>Searches one batch request may carry.</summary>
    public const int MaxBatch = 100;

    // The fields every search and query reads (ParseCommon), and those of each request shape.
    private static readonly string[] CommonFields = ["shard_key", "limit", "offset", "params", "score_threshold", "with_payload", "with_vector", "filter"];
    private static readonly string[] SearchFields = [.. CommonFields, "vector"];
    private static readonly string[] QueryFields = [.. CommonFields, "query", "prefetch", "using", "lookup_from"];

    // The query kinds of Qdrant's universal query API that VLink does not run.
    private static readonly string[] UnsupportedQueryKinds =
        ["recommend", "discover", "context", "order_by", "fusion", "rrf", "formula", "sample", "mmr", "relevance_feedback"];

    /// <summary>Reads a search request (<c>/points/search</c>) whose fields sit under <paramref name="prefix"/>.</summary>
    public static SearchQuery ParseSearch(JsonElement root, string prefix, CollectionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadField(prefix.Length == 0 ? "body" : prefix, "expected an object");
        RequestJson.OnlyFields(root, prefix, SearchFields);
        var vector = RequestJson.RequireVector(root, "vector", RequestJson.Field(prefix, "vector"), spec.Dimension, spec.Metric == DistanceMetric.Cosine);
        return ParseCommon(root, prefix, vector, exclude: null);
    }

    /// <summary>
    /// Reads a universal query (<c>/points/query</c>) whose fields sit under <paramref name="prefix"/>: <c>query</c> is a
    /// vector, a point id (search by that point's vector, the point itself left out), or <c>{"nearest": vector or id}</c>.
    /// </summary>
    public static async Task<SearchQuery> ParseQueryAsync(JsonElement root, string prefix, CollectionEntry entry, VLinkNode node)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(node);
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadField(prefix.Length == 0 ? "body" : prefix, "expected an object");
        var spec = entry.Spec;
        RequestJson.OnlyFields(root, prefix, QueryFields);
        if (RequestJson.TryGet(root, "prefetch", out var prefetch) && prefetch.ValueKind != JsonValueKind.Null)
            return await ParseFusionAsync(root, prefix, prefetch, entry, node).ConfigureAwait(false);
        RequestJson.Unsupported(root, "using", RequestJson.Field(prefix, "using"), "named vectors are not supported: a collection has one unnamed vector");
        RequestJson.Unsupported(root, "lookup_from", RequestJson.Field(prefix, "lookup_from"), "lookup_from (vectors of another collection) is not supported");
        string queryPath = RequestJson.Field(prefix, "query");
        if (!RequestJson.TryGet(root, "query", out var query))
            throw ApiException.BadField(queryPath, "is required (to list points in id order use /points/scroll)");

        var input = query;
        string inputPath = queryPath;
        if (query.ValueKind == JsonValueKind.Object)
        {
            RequestJson.OnlyFields(query, queryPath, ["nearest", .. UnsupportedQueryKinds]);
            foreach (string kind in UnsupportedQueryKinds)
                RequestJson.Unsupported(query, kind, queryPath + "." + kind, $"{kind} queries are not supported; use a vector, a point id or nearest");
            if (!RequestJson.TryGet(query, "nearest", out input))
                throw ApiException.BadField(queryPath, "expected a vector, a point id, or {\"nearest\": vector or point id}");
            inputPath = queryPath + ".nearest";
        }

        float[] vector;
        PointId? exclude = null;
        switch (input.ValueKind)
        {
            case JsonValueKind.Array:
                vector = RequestJson.RequireVector(query.ValueKind == JsonValueKind.Object ? query : root,
                    query.ValueKind == JsonValueKind.Object ? "nearest" : "query", inputPath, spec.Dimension, spec.Metric == DistanceMetric.Cosine);
                break;
            case JsonValueKind.Number or JsonValueKind.String:
                var id = RequestJson.ReadId(input, inputPath);
                var found = await FetchAsync(node, entry, [id], withVector: true).ConfigureAwait(false);
                if (!found.TryGetValue(id, out var point) || point.Vector is null)
                    throw new ApiException(StatusCodes.Status404NotFound, inputPath, $"{inputPath}: no point with id {id}");
                vector = point.Vector;
                exclude = id;
                break;
            default:
                throw ApiException.BadField(inputPath, "expected a vector or a point id (sparse, multi-vector and inference inputs are not supported)");
        }
        return ParseCommon(root, prefix, vector, exclude);
    }

    /// <summary>
    /// Qdrant's hybrid query: <c>prefetch</c> (one search or a list; each a query with its own <c>query</c>, <c>filter</c>,
    /// <c>limit</c> (default 10), <c>params</c>) and <c>"query": {"fusion": "rrf"}</c>: the prefetches' rankings fused
    /// with Reciprocal Rank Fusion (k = 60). Nested prefetches and other fusions are refused.
    /// </summary>
    private static async Task<SearchQuery> ParseFusionAsync(JsonElement root, string prefix, JsonElement prefetch, CollectionEntry entry, VLinkNode node)
    {
        string queryPath = RequestJson.Field(prefix, "query");
        if (!RequestJson.TryGet(root, "query", out var query) || query.ValueKind != JsonValueKind.Object
            || !RequestJson.TryGet(query, "fusion", out var fusion) || fusion.ValueKind != JsonValueKind.String)
            throw ApiException.BadField(queryPath, "with prefetch, expected {\"fusion\": \"rrf\"} (re-scoring prefetched points is not supported)");
        if (fusion.GetString() != "rrf") throw ApiException.BadField(queryPath + ".fusion", "only \"rrf\" is supported");
        RequestJson.OnlyFields(query, queryPath, "fusion");
        string prefetchPath = RequestJson.Field(prefix, "prefetch");
        var items = prefetch.ValueKind == JsonValueKind.Array ? [.. prefetch.EnumerateArray()] : new List<JsonElement> { prefetch };
        if (items.Count is 0 or > MaxBatch) throw ApiException.BadField(prefetchPath, $"expected 1-{MaxBatch} prefetch searches");
        var searches = new List<SearchQuery>();
        for (int i = 0; i < items.Count; i++)
        {
            string path = prefetch.ValueKind == JsonValueKind.Array ? string.Create(CultureInfo.InvariantCulture, $"{prefetchPath}[{i}]") : prefetchPath;
            if (items[i].ValueKind == JsonValueKind.Object && RequestJson.TryGet(items[i], "prefetch", out _))
                throw ApiException.BadField(path + ".prefetch", "nested prefetch is not supported");
            searches.Add(await ParseQueryAsync(items[i], path, entry, node).ConfigureAwait(false));
        }
        var common = ParseCommon(root, prefix, searches[0].Vector, exclude: null);
        return common with { Prefetch = searches };
    }

    /// <summary>Reads the <c>searches</c> array of a batch request, each item with <paramref name="parse"/>.</summary>
    public static async Task<List<SearchQuery>> ParseBatchAsync(JsonElement root, Func<JsonElement, string, Task<SearchQuery>> parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        RequestJson.OnlyFields(root, "", "searches");
        if (!RequestJson.TryGet(root, "searches", out var searches)) throw ApiException.BadField("searches", "is required");
        if (searches.ValueKind != JsonValueKind.Array) throw ApiException.BadField("searches", "expected an array of requests");
        int count = searches.GetArrayLength();
        if (count > MaxBatch) throw ApiException.BadField("searches", $"at most {MaxBatch} searches per batch, got {count}");
        var queries = new List<SearchQuery>(count);
        int i = 0;
        foreach (var item in searches.EnumerateArray())
            queries.Add(await parse(item, string.Create(CultureInfo.InvariantCulture, $"searches[{i++}]")).ConfigureAwait(false));
        return queries;
    }

    /// <summary>
    /// Runs searches of one collection and renders their answers in request order. Searches that share limit,
    /// ef and exactness and have no filter travel together (one message per node); the others run side by side.
    /// One deadline (<paramref name="options"/>' timeout) covers the searches and the read of the shown points'
    /// payloads, which keeps a margin of it; partitions that do not answer in time are named in the answers, or — when
    /// the options require complete answers — refused with a 503 naming them.
    /// </summary>
    public static async Task<SearchAnswer[]> ExecuteAsync(VLinkNode node, CollectionEntry entry, IReadOnlyList<SearchQuery> queries, CancellationToken cancellationToken, ReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.Count == 0) return [];
        options ??= new ReadOptions(null, false);
        var deadline = options.Deadline(node, cancellationToken);
        var (hits, complete, missing) = await RankAsync(node, entry, queries, deadline).ConfigureAwait(false);

        // One read of the points any answer shows with payload or vector (not of partitions the searches missed).
        var shown = Enumerable.Range(0, queries.Count).Where(i => queries[i].Payload.Wanted || queries[i].WithVector).ToList();
        var records = new Dictionary<PointId, PointRecord>();
        if (shown.Count > 0)
        {
            var read = await node.ReadPointsAsync(entry, [.. shown.SelectMany(i => hits[i].Select(h => h.Id)).Distinct()], shown.Any(i => queries[i].WithVector),
                timeout: ReadOptions.LastStep(deadline), cancellationToken: cancellationToken, skip: [.. shown.SelectMany(i => missing[i]).Distinct()]).ConfigureAwait(false);
            records = read.Value;
            if (!read.Complete)
                foreach (int i in shown)
                {
                    missing[i] = [.. missing[i].Union(read.MissingPartitions)];
                    complete[i] = false;
                }
        }
        options.Check(missing.SelectMany(m => m));

        var answers = new SearchAnswer[queries.Count];
        for (int i = 0; i < queries.Count; i++)
        {
            var q = queries[i];
            var points = new JsonArray();
            foreach (var (id, score) in hits[i])
            {
                records.TryGetValue(id, out var record);
                points.Add(new JsonObject
                {
                    ["id"] = PointJson.IdNode(id),
                    ["version"] = 0,
                    ["score"] = score,
                    ["payload"] = q.Payload.Wanted ? PointJson.PayloadNode(record?.Payload, record?.Document, q.Payload) : null,
                    ["vector"] = q.WithVector && record?.Vector is { } v ? PointJson.VectorNode(v) : null,
                });
            }
            answers[i] = new SearchAnswer(points, complete[i], missing[i]);
        }
        return answers;
    }

    /// <summary>
    /// The ranked (id, score) lists of searches, with completeness: plain searches through the gather engine; fusion
    /// queries by fusing their prefetches' rankings (RRF, k = 60; score = the fused score).
    /// </summary>
    private static async Task<(List<(PointId Id, double Score)>[] Hits, bool[] Complete, IReadOnlyList<string>[] Missing)> RankAsync(
        VLinkNode node, CollectionEntry entry, IReadOnlyList<SearchQuery> queries, ReadDeadline deadline)
    {
        var hitsAll = new List<(PointId Id, double Score)>[queries.Count];
        var completeAll = new bool[queries.Count];
        var missingAll = new IReadOnlyList<string>[queries.Count];
        var plain = Enumerable.Range(0, queries.Count).Where(i => queries[i].Prefetch is null).ToList();
        if (plain.Count > 0)
        {
            var answered = await RankPlainAsync(node, entry, [.. plain.Select(i => queries[i])], deadline).ConfigureAwait(false);
            for (int j = 0; j < plain.Count; j++)
                (hitsAll[plain[j]], completeAll[plain[j]], missingAll[plain[j]]) = (answered.Hits[j], answered.Complete[j], answered.Missing[j]);
        }
        foreach (int i in Enumerable.Range(0, queries.Count).Where(i => queries[i].Prefetch is not null))
        {
            var q = queries[i];
            var sub = await RankPlainAsync(node, entry, q.Prefetch!, deadline).ConfigureAwait(false);
            var rankings = sub.Hits.Select(list => new Core.Hybrid.MethodRanking(Core.Hybrid.HybridMethods.None, [.. list.Select(h => new Core.Hybrid.ScoredPoint(h.Id, h.Score))]));
            var fused = Core.Hybrid.Rrf.Fuse(rankings, null, q.Limit + q.Offset);
            hitsAll[i] = [.. fused.Skip(q.Offset).Take(q.Limit).Select(h => (h.Id, h.Score)).Where(h => q.ScoreThreshold is not { } t || h.Score >= t)];
            completeAll[i] = sub.Complete.All(c => c);
            missingAll[i] = [.. sub.Missing.SelectMany(m => m).Distinct()];
        }
        return (hitsAll, completeAll, missingAll);
    }

    private static async Task<(List<(PointId Id, double Score)>[] Hits, bool[] Complete, IReadOnlyList<string>[] Missing)> RankPlainAsync(
        VLinkNode node, CollectionEntry entry, IReadOnlyList<SearchQuery> queries, ReadDeadline deadline)
    {
        string name = entry.Spec.Name;
        var cancellationToken = deadline.Cancellation;
        var timeout = ReadOptions.FirstStep(deadline);
        static int K(SearchQuery q) => q.Limit + q.Offset + (q.Exclude is null ? 0 : 1);
        var first = queries[0];
        bool together = queries.Count > 1 && queries.All(q => q.Filter is null && K(q) == K(first) && q.Ef == first.Ef && q.Exact == first.Exact && q.Probes == first.Probes);
        GlobalSearchResult[] results = together
            ? await node.Gather.SearchBatchAsync(name, [.. queries.Select(q => q.Vector)], K(first), first.Ef, first.Exact, cancellationToken, first.Probes, timeout).ConfigureAwait(false)
            : await Task.WhenAll(queries.Select(q => node.Gather.SearchAsync(name, q.Vector, K(q), q.Ef, q.Exact, cancellationToken, q.Filter, q.Probes, timeout))).ConfigureAwait(false);

        var metric = entry.Spec.Metric;
        var hits = new List<(PointId Id, double Score)>[queries.Count];
        for (int i = 0; i < queries.Count; i++)
        {
            var q = queries[i];
            hits[i] = [.. results[i].Hits
                .Where(h => q.Exclude is not { } excluded || h.Id != excluded)
                .Skip(q.Offset)
                .Take(q.Limit)
                .Select(h => (h.Id, Score: PointEndpoints.Score(metric, h.Distance)))
                // Qdrant keeps scores at least the threshold for similarities, at most it for distances.
                .Where(h => q.ScoreThreshold is not { } t || (metric == DistanceMetric.Euclidean ? h.Score <= t : h.Score >= t))];
        }

        return (hits, [.. results.Select(r => r.Complete)], [.. results.Select(r => r.MissingPartitions)]);
    }

    /// <summary>The envelope's completeness fields of several answers: complete when all are, the union of the missing.</summary>
    public static (string Name, JsonNode? Value)[] Completeness(IReadOnlyList<SearchAnswer> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var missing = answers.SelectMany(a => a.MissingPartitions).Distinct().Order(StringComparer.Ordinal);
        return
        [
            ("complete", answers.All(a => a.Complete)),
            ("missing_partitions", new JsonArray([.. missing.Select(p => (JsonNode)JsonValue.Create(p))])),
        ];
    }

    /// <summary>
    /// Reads points by id from their partitions (the hash partition of each id, or every key or region partition): of a
    /// collection with replicas, from as many replicas as <paramref name="consistency"/> asks, keeping each point's latest version.
    /// </summary>
    public static Task<Dictionary<PointId, PointRecord>> FetchAsync(VLinkNode node, CollectionEntry entry, IReadOnlyList<PointId> ids, bool withVector, ReadConsistency consistency = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.GetPointsAsync(entry, ids, withVector, consistency);
    }

    private static SearchQuery ParseCommon(JsonElement root, string prefix, float[] vector, PointId? exclude)
    {
        RequestJson.Unsupported(root, "shard_key", RequestJson.Field(prefix, "shard_key"), "shard keys are not supported");
        int limit = RequestJson.OptionalInt(root, "limit", RequestJson.Field(prefix, "limit"), 1, RequestJson.MaxLimit) ?? 10;
        int offset = RequestJson.OptionalInt(root, "offset", RequestJson.Field(prefix, "offset"), 0, RequestJson.MaxLimit) ?? 0;
        if (limit + offset > RequestJson.MaxLimit)
            throw ApiException.BadField(RequestJson.Field(prefix, "offset"), $"limit + offset must not exceed {RequestJson.MaxLimit}");
        int? ef = null, probes = null;
        bool exact = false;
        if (RequestJson.TryGet(root, "params", out var parameters))
        {
            string path = RequestJson.Field(prefix, "params");
            if (parameters.ValueKind != JsonValueKind.Object) throw ApiException.BadField(path, "expected an object");
            // indexed_only changes nothing here: every point is in the index once its write is acknowledged.
            RequestJson.OnlyFields(parameters, path, "hnsw_ef", "exact", "probes", "indexed_only", "quantization");
            RequestJson.Unsupported(parameters, "quantization", path + ".quantization",
                "per-search quantization settings are not supported; the collection's quantization_config decides (rescoring always)");
            RequestJson.OptionalBool(parameters, "indexed_only", path + ".indexed_only");
            ef = RequestJson.OptionalInt(parameters, "hnsw_ef", path + ".hnsw_ef", 1, 100_000);
            exact = RequestJson.OptionalBool(parameters, "exact", path + ".exact") ?? false;
            probes = RequestJson.OptionalInt(parameters, "probes", path + ".probes", 1, 65536);
        }
        double? threshold = RequestJson.OptionalNumber(root, "score_threshold", RequestJson.Field(prefix, "score_threshold"));
        var payload = RequestJson.ReadPayloadSelector(root, "with_payload", defaultValue: false, RequestJson.Field(prefix, "with_payload"));
        bool withVector = RequestJson.OptionalBool(root, "with_vector", RequestJson.Field(prefix, "with_vector")) ?? false;
        var filter = RequestJson.OptionalFilter(root, "filter", RequestJson.Field(prefix, "filter"));
        return new SearchQuery(vector, limit, offset, ef, exact, threshold, filter, payload, withVector, exclude, probes);
    }
}
