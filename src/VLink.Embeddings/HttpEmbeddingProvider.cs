using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VLink.Embeddings;

/// <summary>The wire dialect of an embedding service.</summary>
public enum HttpEmbeddingApi
{
    /// <summary>Ollama: <c>POST {url}/api/embed {"model", "input": [texts]}</c> → <c>{"embeddings": [[...]]}</c>.</summary>
    Ollama = 0,

    /// <summary>OpenAI and compatible services: <c>POST {url}/v1/embeddings {"model", "input": [texts]}</c> → <c>{"data": [{"index", "embedding"}]}</c>.</summary>
    OpenAI = 1,
}

/// <summary>
/// Embeds through a remote service (Ollama, or any OpenAI-compatible <c>/v1/embeddings</c>). Vectors come back as
/// the service sends them; a collection's cosine distance normalises them. The dimension is given or learnt from
/// the first answer (<see cref="CreateAsync"/> asks once).
/// </summary>
public sealed class HttpEmbeddingProvider : IEmbeddingProvider
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _model;
    private readonly string? _apiKey;

    private HttpEmbeddingProvider(HttpClient http, Uri baseUrl, HttpEmbeddingApi api, string model, string? apiKey, int dimension)
    {
        _http = http;
        Api = api;
        _model = model;
        _apiKey = apiKey;
        Dimension = dimension;
        string root = baseUrl.ToString().TrimEnd('/');
        // An OpenAI base URL often ends in /v1 already.
        _endpoint = api == HttpEmbeddingApi.Ollama
            ? new Uri(root + "/api/embed")
            : new Uri(root.EndsWith("/v1", StringComparison.Ordinal) ? root + "/embeddings" : root + "/v1/embeddings");
        ModelId = $"http-{(api == HttpEmbeddingApi.Ollama ? "ollama" : "openai")}:{model}";
    }

    /// <summary>
    /// A provider for <paramref name="model"/> at <paramref name="baseUrl"/>. Without <paramref name="dimension"/>, one
    /// text is embedded to learn it.
    /// </summary>
    /// <exception cref="HttpRequestException">The service did not answer as expected.</exception>
    public static async Task<HttpEmbeddingProvider> CreateAsync(HttpClient http, Uri baseUrl, HttpEmbeddingApi api, string model,
        string? apiKey = null, int? dimension = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(model);
        var provider = new HttpEmbeddingProvider(http, baseUrl, api, model, apiKey, dimension ?? 0);
        if (dimension is null)
        {
            var probe = await provider.RequestAsync(["dimension"], cancellationToken).ConfigureAwait(false);
            provider = new HttpEmbeddingProvider(http, baseUrl, api, model, apiKey, probe[0].Length);
        }
        return provider;
    }

    /// <summary>The service's dialect.</summary>
    public HttpEmbeddingApi Api { get; }

    /// <inheritdoc />
    public string Name => "http";

    /// <inheritdoc />
    public string ModelId { get; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public async Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default) =>
        (await EmbedBatchAsync([text], cancellationToken).ConfigureAwait(false))[0];

    /// <inheritdoc />
    public async Task<float[][]> EmbedBatchAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) return [];
        var vectors = await RequestAsync(texts, cancellationToken).ConfigureAwait(false);
        foreach (var v in vectors)
            if (v.Length != Dimension)
                throw new HttpRequestException($"{_endpoint} answered a {v.Length}-d vector; model {_model} was {Dimension}-d.");
        return vectors;
    }

    private async Task<float[][]> RequestAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = JsonContent.Create(new JsonObject { ["model"] = _model, ["input"] = new JsonArray([.. texts.Select(t => (JsonNode?)t)]) }),
        };
        if (_apiKey is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _apiKey);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{_endpoint} answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), default, cancellationToken).ConfigureAwait(false);
        var vectors = new float[texts.Count][];
        try
        {
            if (Api == HttpEmbeddingApi.Ollama)
            {
                var list = body.RootElement.GetProperty("embeddings");
                if (list.GetArrayLength() != texts.Count) throw new HttpRequestException($"{_endpoint} answered {list.GetArrayLength()} embeddings for {texts.Count} texts.");
                int i = 0;
                foreach (var e in list.EnumerateArray()) vectors[i++] = ToVector(e);
            }
            else
            {
                foreach (var item in body.RootElement.GetProperty("data").EnumerateArray())
                {
                    int index = item.GetProperty("index").GetInt32();
                    if ((uint)index >= (uint)texts.Count) throw new HttpRequestException($"{_endpoint} answered an embedding for index {index} of {texts.Count} texts.");
                    vectors[index] = ToVector(item.GetProperty("embedding"));
                }
                if (vectors.Any(v => v is null)) throw new HttpRequestException($"{_endpoint} left some of the {texts.Count} texts without an embedding.");
            }
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new HttpRequestException($"{_endpoint} answered in an unexpected shape: {e.Message}", e);
        }
        return vectors;
    }

    private static float[] ToVector(JsonElement array)
    {
        var v = new float[array.GetArrayLength()];
        int i = 0;
        foreach (var x in array.EnumerateArray()) v[i++] = x.GetSingle();
        return v;
    }
}
