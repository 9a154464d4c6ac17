using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Hybrid;
using VLink.Embeddings;

namespace VLink.Server.Api;

/// <summary>
/// VLink's text search, <c>POST /collections/{name}/search/text</c>: exact match, BM25 and vector search over a
/// collection's text, fused with Reciprocal Rank Fusion (per node, then globally). The coordinator — this node —
/// embeds the query once; the vector travels with the request.
/// </summary>
public static class TextSearchEndpoints
{
    /// <summary>The most results a text search returns.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Maps the route.</summary>
    public static IEndpointRouteBuilder MapTextSearchEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/collections/{name}/search/text", SearchAsync).RequireRole(VLinkRole.Read);
        return app;
    }

    /// <summary>The name of a method in requests and answers.</summary>
    public static string MethodName(HybridMethods method) => method switch
    {
        HybridMethods.Exact => "exact",
        HybridMethods.Keyword => "bm25",
        HybridMethods.Semantic => "semantic",
        HybridMethods.Soft => "soft",
        _ => method.ToString().ToLowerInvariant(),
    };

    /// <summary>The methods of a set, by name, in the order exact, bm25, semantic, soft.</summary>
    public static JsonArray MethodNames(HybridMethods methods) =>
        new([.. new[] { HybridMethods.Exact, HybridMethods.Keyword, HybridMethods.Semantic, HybridMethods.Soft }.Where(m => methods.HasFlag(m)).Select(m => (JsonNode)MethodName(m))]);

    private static async Task<IResult> SearchAsync(string name, HttpRequest request, VLinkNode node, EmbeddingProviders providers, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var options = ReadOptions.Of(request);
        // One deadline covers the query's embedding, the search and the payloads.
        var deadline = options.Deadline(node, cancellationToken);
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        var entry = await CollectionEndpoints.FindForSearchAsync(node, name).ConfigureAwait(false);
        var spec = entry.Spec;
        RequestJson.OnlyFields(root, "", "query", "methods", "weights", "limit", "filter", "with_payload");
        if (!RequestJson.TryGet(root, "query", out var queryElement) || queryElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(queryElement.GetString()))
            throw ApiException.BadField("query", "expected the query text");
        string query = queryElement.GetString()!;
        var asked = ParseMethods(root);
        bool soft = asked.HasFlag(HybridMethods.Soft);
        var methods = asked & ~HybridMethods.Soft;
        if (methods == HybridMethods.None)
            throw ApiException.BadField("methods", "\"soft\" re-ranks what the other methods find: name at least one of \"exact\", \"bm25\", \"semantic\"");
        var weights = ParseWeights(root);
        int limit = RequestJson.OptionalInt(root, "limit", "limit", 1, MaxLimit) ?? 10;
        var filter = RequestJson.OptionalFilter(root, "filter", "filter");
        var payload = RequestJson.ReadPayloadSelector(root, "with_payload", defaultValue: true);
        if (spec.Text is null && (methods != HybridMethods.Semantic || soft))
            throw ApiException.BadField("methods", $"collection '{name}' has no text_fields: only \"semantic\" search applies, and only with an embedding model");

        var vector = await EmbedQueryAsync(providers, spec, query, methods, cancellationToken).ConfigureAwait(false);
        var softModel = soft ? await SoftModelAsync(providers, spec, cancellationToken).ConfigureAwait(false) : null;
        // Soft term match re-ranks the fused candidates, so at least SoftTermMatch.Candidates of them are fetched.
        int candidates = softModel is null ? limit : Math.Max(limit, SoftTermMatch.Candidates);
        var hybrid = new HybridRequest(query, vector, methods, candidates, Math.Max(candidates * 2, 50), filter, null,
            weights.GetValueOrDefault(HybridMethods.Exact, 1), weights.GetValueOrDefault(HybridMethods.Keyword, 1), weights.GetValueOrDefault(HybridMethods.Semantic, 1));
        HybridSearchResult result;
        try
        {
            result = await node.Gather.HybridSearchAsync(name, hybrid, cancellationToken, ReadOptions.FirstStep(deadline)).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadField("filter", e.Message);
        }
        var missing = result.MissingPartitions.ToList();
        var records = new Dictionary<VLink.Core.Indexing.PointId, VLink.Cluster.Protocol.PointRecord>();
        if (payload.Wanted || softModel is not null)
        {
            var read = await node.ReadPointsAsync(entry, [.. result.Hits.Select(h => h.Id)], withVector: false,
                timeout: ReadOptions.LastStep(deadline), cancellationToken: cancellationToken, skip: result.MissingPartitions).ConfigureAwait(false);
            records = read.Value;
            missing.AddRange(read.MissingPartitions);
        }
        options.Check(missing);
        var found = result.Hits;
        if (softModel is not null)
        {
            found = SoftTermMatch.Rerank(found, query,
                id => records.TryGetValue(id, out var r) ? TextFields.Extract(r.Payload, r.Document, spec.Text!.Fields) : null,
                softModel, weights.GetValueOrDefault(HybridMethods.Soft, 1), limit);
        }
        var hits = new JsonArray();
        foreach (var hit in found)
        {
            hits.Add(new JsonObject
            {
                ["id"] = PointJson.IdNode(hit.Id),
                ["score"] = hit.Score,
                ["payload"] = payload.Wanted && records.TryGetValue(hit.Id, out var record) ? PointJson.PayloadNode(record.Payload, record.Document, payload) : null,
                ["matched_by"] = MethodNames(hit.MatchedBy),
            });
        }
        return Envelope.Ok(hits, clock,
        [
            ("semantic_executed", result.SemanticExecuted),
            ("soft_executed", softModel is not null),
            .. ReadOptions.Completeness(missing),
        ]);
    }

    /// <summary>
    /// The query's embedding, made once here, or null when semantic search was not asked for or cannot run (the
    /// collection embeds no text, or its model is not available now): the answer then says <c>semantic_executed: false</c>.
    /// </summary>
    public static async Task<float[]?> EmbedQueryAsync(EmbeddingProviders providers, CollectionSpec spec, string query, HybridMethods methods, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!methods.HasFlag(HybridMethods.Semantic) || spec.Text?.Embedding is null) return null;
        try
        {
            var provider = await TextEmbedding.ProviderAsync(providers, spec, cancellationToken).ConfigureAwait(false);
            var vector = await provider.EmbedAsync(query, cancellationToken).ConfigureAwait(false);
            return vector.All(x => x == 0f) ? null : vector;
        }
        catch (ApiException e) when (e.Status >= 500)
        {
            return null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>
    /// The offline model whose word vectors soft term match compares, or null when the collection embeds with another
    /// provider or the model is not available now (the answer then says <c>soft_executed: false</c>).
    /// </summary>
    private static async Task<SifEmbeddingProvider?> SoftModelAsync(EmbeddingProviders providers, CollectionSpec spec, CancellationToken cancellationToken)
    {
        if (spec.Text?.Embedding is null) return null;
        try
        {
            return await TextEmbedding.ProviderAsync(providers, spec, cancellationToken).ConfigureAwait(false) as SifEmbeddingProvider;
        }
        catch (ApiException e) when (e.Status >= 500)
        {
            return null;
        }
    }

    private static HybridMethods ParseMethods(JsonElement root)
    {
        if (!RequestJson.TryGet(root, "methods", out var list) || list.ValueKind == JsonValueKind.Null) return HybridMethods.All;
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw ApiException.BadField("methods", "expected a non-empty array of \"exact\", \"bm25\", \"semantic\", \"soft\"");
        var methods = HybridMethods.None;
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            methods |= ParseMethod(item, $"methods[{i++}]");
        }
        return methods;
    }

    private static HybridMethods ParseMethod(JsonElement item, string path) =>
        (item.ValueKind == JsonValueKind.String ? item.GetString() : null) switch
        {
            "exact" => HybridMethods.Exact,
            "bm25" or "keyword" => HybridMethods.Keyword,
            "semantic" or "vector" => HybridMethods.Semantic,
            "soft" => HybridMethods.Soft,
            _ => throw ApiException.BadField(path, "expected \"exact\", \"bm25\", \"semantic\" or \"soft\""),
        };

    private static Dictionary<HybridMethods, double> ParseWeights(JsonElement root)
    {
        var weights = new Dictionary<HybridMethods, double>();
        if (!RequestJson.TryGet(root, "weights", out var obj) || obj.ValueKind == JsonValueKind.Null) return weights;
        if (obj.ValueKind != JsonValueKind.Object) throw ApiException.BadField("weights", "expected an object of method: weight");
        foreach (var property in obj.EnumerateObject())
        {
            var method = ParseMethod(JsonDocument.Parse(JsonSerializer.Serialize(property.Name)).RootElement, "weights." + property.Name);
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out double w) || w < 0 || !double.IsFinite(w))
                throw ApiException.BadField("weights." + property.Name, "expected a number ≥ 0");
            weights[method] = w;
        }
        return weights;
    }
}
