using System.Text;
using System.Text.Json;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Hybrid;
using VLink.Core.Vectors;
using VLink.Embeddings;
using Xunit.Abstractions;

namespace VLink.Embeddings.Tests;

/// <summary>
/// Retrieval quality on a small real corpus: 210 one-sentence technical documents in 30 topics (written for these
/// tests, <c>Corpus/tech-docs.tsv</c>) and 39 queries labelled with their topic (<c>Corpus/queries.tsv</c>; a document
/// is relevant when it is of the query's topic). Documents are embedded with the real offline model and searched
/// through a partition's hybrid search, as a collection that embeds its text does.
/// </summary>
public sealed class RetrievalQualityTests(ITestOutputHelper output)
{
    private sealed record Doc(ulong Id, string Topic, string Text);

    private static readonly Lazy<(PartitionState State, SifEmbeddingProvider Provider, List<Doc> Docs)> Corpus = new(Build);

    private static (PartitionState, SifEmbeddingProvider, List<Doc>) Build()
    {
        var provider = SifEmbeddingProvider.Load(GloveModel.Path!);
        var docs = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Corpus", "tech-docs.tsv"))
            .Where(l => l.Length > 0)
            .Select((l, i) => new Doc((ulong)(i + 1), l.Split('\t')[0], l.Split('\t')[1]))
            .ToList();
        var spec = new CollectionSpec("docs", provider.Dimension, DistanceMetric.Cosine, PartitionScheme.Hash, 1, HnswOptions.Default,
            Text: new TextSpec(["text"], new EmbeddingSpec("default", provider.ModelId)));
        var state = PartitionState.Create(spec);
        state.Apply(new PointsUpserted([.. docs.Select(d => new PointWrite(d.Id, provider.Embed(d.Text), JsonSerializer.SerializeToUtf8Bytes(new { text = d.Text, topic = d.Topic })))]));
        return (state, provider, docs);
    }

    private static List<ulong> Search(string query, HybridMethods methods, int k = 10)
    {
        var (state, provider, _) = Corpus.Value;
        float[] vector = provider.Embed(query);
        var request = new HybridRequest(query, vector.Any(x => x != 0) ? vector : null, methods, k, 50);
        return [.. request.Fuse(request.Merge([state.SearchHybrid(request)])).Select(h => h.Id.Number)];
    }

    /// <summary>The search, then soft term match over its best <see cref="SoftTermMatch.Candidates"/>, as the server does.</summary>
    private static List<ulong> SearchSoft(string query, HybridMethods methods, int k = 10)
    {
        var (state, provider, docs) = Corpus.Value;
        float[] vector = provider.Embed(query);
        int candidates = Math.Max(k, SoftTermMatch.Candidates);
        var request = new HybridRequest(query, vector.Any(x => x != 0) ? vector : null, methods, candidates, Math.Max(candidates * 2, 50));
        var fused = request.Fuse(request.Merge([state.SearchHybrid(request)]));
        return [.. SoftTermMatch.Rerank(fused, query, id => docs[(int)id.Number - 1].Text, provider, 1, k).Select(h => h.Id.Number)];
    }

    private static double NdcgAt10(IReadOnlyList<ulong> ranked, HashSet<ulong> relevant)
    {
        double dcg = 0, ideal = 0;
        for (int i = 0; i < Math.Min(10, ranked.Count); i++)
            if (relevant.Contains(ranked[i])) dcg += 1 / Math.Log2(i + 2);
        for (int i = 0; i < Math.Min(10, relevant.Count); i++) ideal += 1 / Math.Log2(i + 2);
        return dcg / ideal;
    }

    [GloveFact]
    public void Authentication_finds_the_oauth2_document_by_meaning_not_by_exact_match()
    {
        var docs = Corpus.Value.Docs;
        ulong oauth = docs.Single(d => d.Text.StartsWith("OAuth2", StringComparison.Ordinal)).Id;
        ulong login = docs.Single(d => d.Text.StartsWith("The login page", StringComparison.Ordinal)).Id;
        var exact = Search("authentication", HybridMethods.Exact, 3);
        output.WriteLine("semantic top 10: " + string.Join(" | ", Search("authentication", HybridMethods.Semantic, 10).Select(id => docs[(int)id - 1].Text[..30])));
        var semantic = Search("authentication", HybridMethods.Semantic, 3);
        var hybrid = Search("authentication", HybridMethods.All, 3);
        output.WriteLine($"exact {string.Join(",", exact)}; semantic {string.Join(",", semantic)}; hybrid {string.Join(",", hybrid)}; oauth {oauth}, login {login}");
        // Exact match finds only the one document holding the word; semantic and hybrid search bring OAuth2 into the
        // top 3 (second, after the document holding the word). The login page document ("username and password") is
        // found by meaning too, but lower — seventh: averaged word vectors weigh its other words (page, asks, starts,
        // session, success), and the TLS document ("certificates signed by a trusted authority") is nearer.
        Assert.DoesNotContain(oauth, exact);
        Assert.DoesNotContain(login, exact);
        Assert.Contains(oauth, semantic);
        Assert.Contains(oauth, hybrid);
        Assert.Contains(login, Search("authentication", HybridMethods.Semantic, 10));
        Assert.Contains(login, Search("authentication", HybridMethods.All, 10));
    }

    [GloveFact]
    public void Soft_term_match_ranks_both_the_oauth2_and_the_login_document_in_the_top_3_for_authentication()
    {
        var docs = Corpus.Value.Docs;
        ulong oauth = docs.Single(d => d.Text.StartsWith("OAuth2", StringComparison.Ordinal)).Id;
        ulong login = docs.Single(d => d.Text.StartsWith("The login page", StringComparison.Ordinal)).Id;
        var hybrid = SearchSoft("authentication", HybridMethods.All, 3);
        var semantic = SearchSoft("authentication", HybridMethods.Semantic, 3);
        output.WriteLine($"hybrid + soft {string.Join(",", hybrid)}; semantic + soft {string.Join(",", semantic)}");
        // Without the stage login is seventh (the averaged vector dilutes "password" and "login" with its other
        // words); its best word matches "authentication" better than the TLS document's, which it now passes.
        Assert.Contains(oauth, hybrid);
        Assert.Contains(login, hybrid);
        Assert.Contains(oauth, semantic);
        Assert.Contains(login, semantic);
        Assert.DoesNotContain(login, Search("authentication", HybridMethods.All, 3));
    }

    [GloveFact]
    public void Fusion_beats_each_method_alone_in_ndcg_at_10()
    {
        var docs = Corpus.Value.Docs;
        var queries = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Corpus", "queries.tsv"))
            .Where(l => l.Length > 0).Select(l => (Text: l.Split('\t')[0], Topic: l.Split('\t')[1])).ToList();
        Assert.True(queries.Count >= 30);
        Assert.All(queries, q => Assert.Contains(docs, d => d.Topic == q.Topic));
        var methods = new (string Name, HybridMethods Methods)[]
        {
            ("exact", HybridMethods.Exact),
            ("bm25", HybridMethods.Keyword),
            ("semantic", HybridMethods.Semantic),
            ("bm25+semantic", HybridMethods.Keyword | HybridMethods.Semantic),
            ("hybrid (all three)", HybridMethods.All),
        };
        var ndcg = new Dictionary<string, double>();
        var table = new StringBuilder($"nDCG@10 over {queries.Count} queries, {docs.Count} documents:\n");
        foreach (var (name, m) in methods)
        {
            double mean = queries.Average(q => NdcgAt10(Search(q.Text, m), [.. docs.Where(d => d.Topic == q.Topic).Select(d => d.Id)]));
            ndcg[name] = mean;
            table.AppendLine($"  {name,-20} {mean:F3}");
        }
        foreach (var (name, m) in new[] { ("semantic + soft", HybridMethods.Semantic), ("hybrid + soft", HybridMethods.All) })
        {
            double mean = queries.Average(q => NdcgAt10(SearchSoft(q.Text, m), [.. docs.Where(d => d.Topic == q.Topic).Select(d => d.Id)]));
            ndcg[name] = mean;
            table.AppendLine($"  {name,-20} {mean:F3}");
        }
        output.WriteLine(table.ToString());
        // Soft term match re-ranks without lowering the fused quality, and lifts vector search's.
        Assert.True(ndcg["hybrid + soft"] >= ndcg["hybrid (all three)"]);
        Assert.True(ndcg["semantic + soft"] > ndcg["semantic"]);
        Assert.True(ndcg["hybrid (all three)"] > ndcg["exact"]);
        Assert.True(ndcg["hybrid (all three)"] > ndcg["bm25"]);
        Assert.True(ndcg["hybrid (all three)"] > ndcg["semantic"]);
    }
}
