using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using VLink.Embeddings;

namespace VLink.Embeddings.Tests;

/// <summary>
/// The HTTP provider against a small listener in the test that stands in for the remote service: it speaks the
/// documented request and answer shapes of Ollama's <c>/api/embed</c> and OpenAI's <c>/v1/embeddings</c>.
/// </summary>
public sealed class HttpProviderTests : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<JsonObject> _requests = [];
    private readonly Task _serving;
    private readonly string _url;

    public HttpProviderTests()
    {
        // A free port: bind, read, release, then listen there.
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _url = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(_url);
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    // Each text's vector is [length, vowels, 1, 0]: enough to see which text went where.
    private static JsonArray VectorOf(string text) => [text.Length, text.Count("aeiou".Contains), 1, 0];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            var body = (JsonObject)JsonNode.Parse(context.Request.InputStream)!;
            lock (_requests) _requests.Add(body);
            var texts = body["input"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
            JsonObject answer;
            string path = context.Request.Url!.AbsolutePath;
            if (body["model"]!.GetValue<string>() == "missing")
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
                continue;
            }
            if (path == "/api/embed")
                answer = new JsonObject { ["model"] = body["model"]!.GetValue<string>(), ["embeddings"] = new JsonArray([.. texts.Select(t => (JsonNode)VectorOf(t))]) };
            else if (path == "/v1/embeddings")
            {
                Assert.Equal("Bearer secret", context.Request.Headers["Authorization"]);
                // Out of order on purpose: the index says which text each embedding is for.
                answer = new JsonObject
                {
                    ["object"] = "list",
                    ["data"] = new JsonArray([.. texts.Select((t, i) => (JsonNode)new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = VectorOf(t) }).Reverse()]),
                };
            }
            else
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
                continue;
            }
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(answer);
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    [Fact]
    public async Task Ollama_learns_the_dimension_and_embeds_a_batch_in_one_request()
    {
        using var http = new HttpClient();
        var provider = await HttpEmbeddingProvider.CreateAsync(http, new Uri(_url), HttpEmbeddingApi.Ollama, "nomic-embed-text");
        Assert.Equal(4, provider.Dimension);
        Assert.Equal("http-ollama:nomic-embed-text", provider.ModelId);
        var vectors = await provider.EmbedBatchAsync(["login", "oauth"]);
        Assert.Equal(new[] { 5f, 2f, 1f, 0f }, vectors[0]);
        Assert.Equal(new[] { 5f, 3f, 1f, 0f }, vectors[1]);
        lock (_requests)
        {
            Assert.Equal(2, _requests.Count); // the probe, then one request for the batch
            Assert.Equal("nomic-embed-text", _requests[1]["model"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task OpenAI_answers_are_put_back_in_input_order_and_carry_the_key()
    {
        using var http = new HttpClient();
        var provider = await HttpEmbeddingProvider.CreateAsync(http, new Uri(_url + "v1"), HttpEmbeddingApi.OpenAI, "text-embedding-3-small", "secret", dimension: 4);
        var vectors = await provider.EmbedBatchAsync(["a", "bb", "ccc"]);
        Assert.Equal([1f, 2f, 3f], vectors.Select(v => v[0]));
        var one = await provider.EmbedAsync("ab");
        Assert.Equal(new[] { 2f, 1f, 1f, 0f }, one);
    }

    [Fact]
    public async Task A_refusing_service_or_a_wrong_dimension_is_an_http_error()
    {
        using var http = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => HttpEmbeddingProvider.CreateAsync(http, new Uri(_url), HttpEmbeddingApi.Ollama, "missing"));
        var provider = await HttpEmbeddingProvider.CreateAsync(http, new Uri(_url), HttpEmbeddingApi.Ollama, "m", dimension: 8);
        await Assert.ThrowsAsync<HttpRequestException>(() => provider.EmbedAsync("x"));
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _serving;
        _listener.Close();
    }
}
