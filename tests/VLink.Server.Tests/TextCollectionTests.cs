using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Core.Vectors;
using VLink.Embeddings;

namespace VLink.Server.Tests;

/// <summary>
/// Collections that embed their text: created from the model's dimension, points written as text are embedded once
/// on the node that receives them, and the vectors are data from then on (a restart does not embed again).
/// The offline model here is a small vocabulary the test writes; the remote one is a listener in the test that stands
/// in for an Ollama service and counts what it is asked.
/// </summary>
public sealed class TextCollectionTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("vlink-text-test-").FullName;
    private readonly string _model;
    private readonly HttpListener _ollama = new();
    private readonly string _ollamaUrl;
    private int _ollamaTexts;
    private int _ollamaRequests;
    private Task? _serving;
    private ServerNode? _node;

    private static readonly (string Word, float[] Vector)[] Vocabulary =
    [
        ("the", [1f, 0f, 0f, 0f]),
        ("login", [0f, 1f, 0f, 0f]),
        ("password", [0f, 0.8f, 0.2f, 0f]),
        ("bread", [0f, 0f, 0f, 1f]),
        ("oauth", [0f, 0.6f, 0.6f, 0f]),
        ("authentication", [0f, 0.7f, 0.5f, 0f]),
    ];

    public TextCollectionTests()
    {
        _model = Path.Combine(_data, "tiny.vlwv");
        using (var file = File.Create(_model)) WordVectors.Write(file, 4, Vocabulary);
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _ollamaUrl = $"http://127.0.0.1:{port}/";
        _ollama.Prefixes.Add(_ollamaUrl);
    }

    private Dictionary<string, string?> Settings => new()
    {
        ["VLink:AuthEnabled"] = "false",
        ["VLink:EmbeddingModel"] = _model,
    };

    public async Task InitializeAsync()
    {
        _ollama.Start();
        _serving = Task.Run(ServeOllamaAsync);
        _node = await ServerNode.StartAsync(Path.Combine(_data, "node"), Settings);
    }

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
        _ollama.Stop();
        if (_serving is not null) await _serving;
        _ollama.Close();
        ServerNode.DeleteFolder(_data);
    }

    // Ollama's /api/embed: each text's vector is [length, count of 'o', 1].
    private async Task ServeOllamaAsync()
    {
        while (_ollama.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _ollama.GetContextAsync();
            }
            catch (Exception) when (!_ollama.IsListening)
            {
                return;
            }
            var body = JsonNode.Parse(context.Request.InputStream)!;
            var texts = body["input"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
            Interlocked.Increment(ref _ollamaRequests);
            Interlocked.Add(ref _ollamaTexts, texts.Count);
            var answer = new JsonObject
            {
                ["embeddings"] = new JsonArray([.. texts.Select(t => (JsonNode)new JsonArray(t.Length, t.Count(c => c == 'o'), 1))]),
            };
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(answer);
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private static async Task<JsonNode> ResultAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["result"]!;
    }

    private static async Task<JsonNode> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task The_default_provider_embeds_points_written_as_text_and_refuses_vectors()
    {
        var client = _node!.ClientWith(null);
        await ResultAsync(await client.PutAsJsonAsync("/collections/docs", new JsonObject
        {
            ["text_fields"] = new JsonArray("title", "body"),
            ["embedding"] = new JsonObject { ["provider"] = "default" },
            ["shard_number"] = 2,
        }));
        var info = await ResultAsync(await client.GetAsync("/collections/docs"));
        var parameters = info["config"]!["params"]!;
        Assert.Equal(4, parameters["vectors"]!["size"]!.GetValue<int>());
        Assert.Equal("Cosine", parameters["vectors"]!["distance"]!.GetValue<string>());
        Assert.Equal(["title", "body"], parameters["text_fields"]!.AsArray().Select(f => f!.GetValue<string>()));
        var provider = new SifEmbeddingProvider(WordVectors.Load(_model));
        Assert.Equal(provider.ModelId, parameters["embedding"]!["model_id"]!.GetValue<string>());

        await ResultAsync(await client.PutAsJsonAsync("/collections/docs/points", new JsonObject
        {
            ["points"] = new JsonArray(
                new JsonObject { ["id"] = 1, ["payload"] = new JsonObject { ["title"] = "Login", ["body"] = "the password" } },
                new JsonObject { ["id"] = 2, ["payload"] = new JsonObject { ["title"] = "Bread", ["tags"] = new JsonArray("x") } }),
        }));
        var points = await ResultAsync(await client.PostAsJsonAsync("/collections/docs/points", new JsonObject { ["ids"] = new JsonArray(1, 2), ["with_vector"] = true }));
        float[] VectorOf(int i) => points[i]!["vector"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        float[] expected = provider.Embed("Login\nthe password");
        for (int d = 0; d < 4; d++) Assert.Equal(expected[d], VectorOf(0)[d], 1e-5f);
        Assert.Equal(1f, VectorKernels.Norm(VectorOf(1)), 1e-5f);

        // A vector, a point without text, and text the model knows nothing of: each refuses the whole request.
        var withVector = await ProblemAsync(await client.PutAsJsonAsync("/collections/docs/points", new JsonObject
        {
            ["points"] = new JsonArray(new JsonObject { ["id"] = 3, ["vector"] = new JsonArray(1, 0, 0, 0), ["payload"] = new JsonObject { ["title"] = "the" } }),
        }), HttpStatusCode.BadRequest);
        Assert.Equal("points[0].vector", withVector["field"]!.GetValue<string>());
        var noText = await ProblemAsync(await client.PutAsJsonAsync("/collections/docs/points", new JsonObject
        {
            ["points"] = new JsonArray(
                new JsonObject { ["id"] = 4, ["payload"] = new JsonObject { ["title"] = "bread" } },
                new JsonObject { ["id"] = 5, ["payload"] = new JsonObject { ["other"] = "bread" } }),
        }), HttpStatusCode.BadRequest);
        Assert.Equal("points[1].payload", noText["field"]!.GetValue<string>());
        var unknown = await ProblemAsync(await client.PutAsJsonAsync("/collections/docs/points", new JsonObject
        {
            ["points"] = new JsonArray(new JsonObject { ["id"] = 6, ["payload"] = new JsonObject { ["body"] = "zyx qwv" } }),
        }), HttpStatusCode.BadRequest);
        Assert.Equal("points[0].payload", unknown["field"]!.GetValue<string>());
        var count = await ResultAsync(await client.PostAsJsonAsync("/collections/docs/points/count", new JsonObject()));
        Assert.Equal(2, count["count"]!.GetValue<int>());

        // A size that is not the model's is refused; so is a provider that is not there.
        var size = await ProblemAsync(await client.PutAsJsonAsync("/collections/docs2", new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = 5, ["distance"] = "Cosine" },
            ["embedding"] = new JsonObject { ["provider"] = "default" },
        }), HttpStatusCode.BadRequest);
        Assert.Equal("vectors.size", size["field"]!.GetValue<string>());
        var provider2 = await ProblemAsync(await client.PutAsJsonAsync("/collections/docs2", new JsonObject
        {
            ["embedding"] = new JsonObject { ["provider"] = "magic" },
        }), HttpStatusCode.BadRequest);
        Assert.Equal("embedding.provider", provider2["field"]!.GetValue<string>());
        var fields = await ProblemAsync(await client.PutAsJsonAsync("/collections/docs2", new JsonObject
        {
            ["text_fields"] = new JsonArray("a", "a"),
            ["embedding"] = new JsonObject(),
        }), HttpStatusCode.BadRequest);
        Assert.Equal("text_fields", fields["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Text_is_embedded_once_on_write_and_the_vectors_survive_a_restart_without_embedding_again()
    {
        var client = _node!.ClientWith(null);
        await ResultAsync(await client.PutAsJsonAsync("/collections/remote", new JsonObject
        {
            ["embedding"] = new JsonObject { ["provider"] = "http", ["url"] = _ollamaUrl, ["model"] = "stand-in" },
        }));
        Assert.Equal(1, _ollamaRequests); // the dimension is learnt once, at creation
        var info = await ResultAsync(await client.GetAsync("/collections/remote"));
        Assert.Equal(3, info["config"]!["params"]!["vectors"]!["size"]!.GetValue<int>());
        Assert.Equal("http-ollama:stand-in", info["config"]!["params"]!["embedding"]!["model_id"]!.GetValue<string>());

        await ResultAsync(await client.PutAsJsonAsync("/collections/remote/points", new JsonObject
        {
            ["points"] = new JsonArray([.. Enumerable.Range(1, 10).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i,
                ["payload"] = new JsonObject { ["text"] = new string('o', i) + " doc" },
            })]),
        }));
        Assert.Equal(2, _ollamaRequests); // one request for the whole batch
        Assert.Equal(11, _ollamaTexts);

        await _node.DisposeAsync();
        _node = await ServerNode.StartAsync(Path.Combine(_data, "node"), Settings);
        client = _node.ClientWith(null);
        var points = await ResultAsync(await client.PostAsJsonAsync("/collections/remote/points", new JsonObject { ["ids"] = new JsonArray(3, 7), ["with_vector"] = true }));
        var three = points[0]!["vector"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        float[] expected = [7, 4, 1]; // "ooo doc": 7 characters, 4 of them o
        VectorKernels.Normalize(expected);
        for (int d = 0; d < 3; d++) Assert.Equal(expected[d], three[d], 1e-5f);
        Assert.Equal(2, _ollamaRequests); // recovery replayed vectors; nothing was embedded again
        Assert.Equal(11, _ollamaTexts);
    }

    [Fact]
    public async Task Text_search_fuses_exact_bm25_and_semantic_and_says_which_matched()
    {
        var client = _node!.ClientWith(null);
        await ResultAsync(await client.PutAsJsonAsync("/collections/kb", new JsonObject
        {
            ["embedding"] = new JsonObject { ["provider"] = "default" },
            ["shard_number"] = 4,
        }));
        string[] texts = ["login with password", "oauth tokens", "bread recipes", "authentication guide", "the bread of authentication"];
        await ResultAsync(await client.PutAsJsonAsync("/collections/kb/points", new JsonObject
        {
            ["points"] = new JsonArray([.. texts.Select((t, i) => (JsonNode)new JsonObject
            {
                ["id"] = i + 1,
                ["payload"] = new JsonObject { ["text"] = t, ["lang"] = i == 4 ? "fr" : "en" },
            })]),
        }));

        async Task<JsonNode> Search(JsonObject body)
        {
            var response = await client.PostAsJsonAsync("/collections/kb/search/text", body);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            return JsonNode.Parse(text)!;
        }
        List<ulong> Ids(JsonNode answer) => [.. answer["result"]!.AsArray().Select(h => h!["id"]!.GetValue<ulong>())];

        var all = await Search(new JsonObject { ["query"] = "Authentication", ["limit"] = 3 });
        Assert.True(all["semantic_executed"]!.GetValue<bool>());
        Assert.True(all["complete"]!.GetValue<bool>());
        var hits = all["result"]!.AsArray();
        // 4 and 5 hold the word; 4 is shorter (BM25) and nearer (its vector is the query's): first by every method.
        Assert.Equal(4UL, hits[0]!["id"]!.GetValue<ulong>());
        Assert.Equal(["exact", "bm25", "semantic"], hits[0]!["matched_by"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(3.0 / 61, hits[0]!["score"]!.GetValue<double>(), 9);
        Assert.Equal("authentication guide", hits[0]!["payload"]!["text"]!.GetValue<string>());
        Assert.Equal(5UL, hits[1]!["id"]!.GetValue<ulong>());
        // "oauth tokens" holds no query word but means much the same: found by semantic search alone.
        Assert.Equal(2UL, hits[2]!["id"]!.GetValue<ulong>());
        Assert.Equal(["semantic"], hits[2]!["matched_by"]!.AsArray().Select(m => m!.GetValue<string>()));

        Assert.Equal([4UL, 5UL], Ids(await Search(new JsonObject { ["query"] = "authentication", ["methods"] = new JsonArray("exact") })));
        var keyword = await Search(new JsonObject { ["query"] = "authentication", ["methods"] = new JsonArray("bm25", "exact") });
        Assert.False(keyword["semantic_executed"]!.GetValue<bool>());
        Assert.Equal([4UL, 5UL], Ids(keyword));
        var filtered = await Search(new JsonObject
        {
            ["query"] = "authentication",
            ["filter"] = new JsonObject { ["must"] = new JsonArray(new JsonObject { ["key"] = "lang", ["match"] = new JsonObject { ["value"] = "en" } }) },
            ["limit"] = 10,
        });
        Assert.DoesNotContain(5UL, Ids(filtered));
        Assert.Equal(4, Ids(filtered).Count);
        // Weights: semantic alone decides when the others weigh nothing.
        var weighted = await Search(new JsonObject
        {
            ["query"] = "authentication",
            ["weights"] = new JsonObject { ["exact"] = 0, ["bm25"] = 0 },
            ["limit"] = 5,
        });
        Assert.Equal(2UL, Ids(weighted)[1]);

        var bad = await client.PostAsJsonAsync("/collections/kb/search/text", new JsonObject { ["query"] = "x", ["methods"] = new JsonArray("fuzzy") });
        Assert.Equal("methods[0]", (await ProblemAsync(bad, HttpStatusCode.BadRequest))["field"]!.GetValue<string>());
        var none = await client.PostAsJsonAsync("/collections/kb/search/text", new JsonObject { ["limit"] = 3 });
        Assert.Equal("query", (await ProblemAsync(none, HttpStatusCode.BadRequest))["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Soft_term_match_reranks_the_fused_candidates_by_each_query_words_best_match()
    {
        var client = _node!.ClientWith(null);
        await ResultAsync(await client.PutAsJsonAsync("/collections/soft", new JsonObject
        {
            ["embedding"] = new JsonObject { ["provider"] = "default" },
            ["shard_number"] = 2,
        }));
        string[] texts = ["login with password", "oauth tokens", "bread recipes", "authentication guide", "the bread of authentication"];
        await ResultAsync(await client.PutAsJsonAsync("/collections/soft/points", new JsonObject
        {
            ["points"] = new JsonArray([.. texts.Select((t, i) => (JsonNode)new JsonObject { ["id"] = i + 1, ["payload"] = new JsonObject { ["text"] = t } })]),
        }));
        async Task<JsonNode> Search(JsonObject body)
        {
            var response = await client.PostAsJsonAsync("/collections/soft/search/text", body);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            return JsonNode.Parse(text)!;
        }
        List<ulong> Ids(JsonNode answer) => [.. answer["result"]!.AsArray().Select(h => h!["id"]!.GetValue<ulong>())];

        // The averaged vector of "the bread of authentication" is diluted by "the" and "bread": fourth by vector search.
        var semantic = await Search(new JsonObject { ["query"] = "authentication", ["methods"] = new JsonArray("semantic"), ["limit"] = 4 });
        Assert.Equal([4UL, 2UL, 1UL, 5UL], Ids(semantic));
        Assert.False(semantic["soft_executed"]!.GetValue<bool>());
        // Its best word is the query's own word, so soft term match ranks it second (after 4, by id) and it passes
        // "login with password" (best word "password"): 5 gets 1/64 + 1/62, 1 gets 1/63 + 1/64.
        var soft = await Search(new JsonObject { ["query"] = "authentication", ["methods"] = new JsonArray("semantic", "soft"), ["limit"] = 4, ["with_payload"] = false });
        Assert.True(soft["soft_executed"]!.GetValue<bool>());
        Assert.Equal([4UL, 2UL, 5UL, 1UL], Ids(soft));
        var first = soft["result"]![0]!;
        Assert.Equal(2.0 / 61, first["score"]!.GetValue<double>(), 9);
        Assert.Equal(["semantic", "soft"], first["matched_by"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Null(first["payload"]);
        Assert.Equal(1.0 / 64 + 1.0 / 62, soft["result"]![2]!["score"]!.GetValue<double>(), 9);
        // Weighted to nothing, the soft ranking changes no order.
        var unweighted = await Search(new JsonObject
        {
            ["query"] = "authentication", ["methods"] = new JsonArray("semantic", "soft"), ["weights"] = new JsonObject { ["soft"] = 0 }, ["limit"] = 4,
        });
        Assert.Equal([4UL, 2UL, 1UL, 5UL], Ids(unweighted));

        var alone = await client.PostAsJsonAsync("/collections/soft/search/text", new JsonObject { ["query"] = "x", ["methods"] = new JsonArray("soft") });
        Assert.Equal("methods", (await ProblemAsync(alone, HttpStatusCode.BadRequest))["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Query_fuses_prefetches_with_rrf()
    {
        var client = _node!.ClientWith(null);
        await ResultAsync(await client.PutAsJsonAsync("/collections/fuse", new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = 4, ["distance"] = "Cosine" },
        }));
        float[][] vectors = [[1, 0, 0, 0], [0, 1, 0, 0], [0.7f, 0.7f, 0, 0], [0, 0, 1, 0]];
        await ResultAsync(await client.PutAsJsonAsync("/collections/fuse/points", new JsonObject
        {
            ["points"] = new JsonArray([.. vectors.Select((v, i) => (JsonNode)new JsonObject
            {
                ["id"] = i + 1,
                ["vector"] = new JsonArray([.. v.Select(x => (JsonNode)x)]),
                ["payload"] = new JsonObject { ["n"] = i + 1 },
            })]),
        }));
        var answer = await ResultAsync(await client.PostAsJsonAsync("/collections/fuse/points/query", new JsonObject
        {
            ["prefetch"] = new JsonArray(
                new JsonObject { ["query"] = new JsonArray(1, 0, 0, 0), ["limit"] = 3 },   // 1, 3, then 2 (ties with 4 at 90°, smaller id)
                new JsonObject { ["query"] = new JsonArray(0, 1, 0, 0), ["limit"] = 2 }),  // 2, 3
            ["query"] = new JsonObject { ["fusion"] = "rrf" },
            ["with_payload"] = true,
        }));
        var points = answer["points"]!.AsArray();
        // 2: 1/63 + 1/61; 3: 1/62 + 1/62; 1: 1/61.
        Assert.Equal([2UL, 3UL, 1UL], points.Select(p => p!["id"]!.GetValue<ulong>()));
        Assert.Equal(1.0 / 63 + 1.0 / 61, points[0]!["score"]!.GetValue<double>(), 12);
        Assert.Equal(2.0 / 62, points[1]!["score"]!.GetValue<double>(), 12);
        Assert.Equal(3, points[1]!["payload"]!["n"]!.GetValue<int>());

        var dbsf = await client.PostAsJsonAsync("/collections/fuse/points/query", new JsonObject
        {
            ["prefetch"] = new JsonObject { ["query"] = new JsonArray(1, 0, 0, 0) },
            ["query"] = new JsonObject { ["fusion"] = "dbsf" },
        });
        Assert.Equal("query.fusion", (await ProblemAsync(dbsf, HttpStatusCode.BadRequest))["field"]!.GetValue<string>());
        var nested = await client.PostAsJsonAsync("/collections/fuse/points/query", new JsonObject
        {
            ["prefetch"] = new JsonArray(new JsonObject { ["query"] = new JsonArray(1, 0, 0, 0), ["prefetch"] = new JsonObject() }),
            ["query"] = new JsonObject { ["fusion"] = "rrf" },
        });
        Assert.Equal("prefetch[0].prefetch", (await ProblemAsync(nested, HttpStatusCode.BadRequest))["field"]!.GetValue<string>());
    }
}
