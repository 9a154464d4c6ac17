namespace VLink.Embeddings;

/// <summary>
/// Which model a collection embeds its text with: the part of a collection's configuration that names the
/// provider (<c>default</c>, <c>onnx</c> or <c>http</c>) and what that provider needs.
/// </summary>
/// <param name="Provider"><c>default</c> (offline GloVe SIF), <c>onnx</c> (a sentence-transformer model file) or <c>http</c> (Ollama or OpenAI-compatible).</param>
/// <param name="Model">The model: for <c>onnx</c> the folder holding <c>model.onnx</c> and <c>vocab.txt</c> (absolute, or under the data directory); for <c>http</c> the service's model name; unused by <c>default</c>.</param>
/// <param name="Url">For <c>http</c>: the service's base URL.</param>
/// <param name="Api">For <c>http</c>: <c>ollama</c> (default) or <c>openai</c>.</param>
/// <param name="Dimension">For <c>http</c>: the model's dimension when known (else one text is embedded to learn it).</param>
public sealed record EmbeddingConfig(string Provider, string? Model = null, string? Url = null, string? Api = null, int? Dimension = null)
{
    /// <summary>The offline default.</summary>
    public static EmbeddingConfig Default { get; } = new("default");

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field that does not make sense.</summary>
    public void Validate()
    {
        switch (Provider)
        {
            case "default":
                break;
            case "onnx":
                if (string.IsNullOrWhiteSpace(Model)) throw new ArgumentException("An onnx embedding names its model folder.", "model");
                break;
            case "http":
                if (string.IsNullOrWhiteSpace(Model)) throw new ArgumentException("An http embedding names its model.", "model");
                if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    throw new ArgumentException($"An http embedding needs an absolute http(s) url, got '{Url}'.", "url");
                if (Api is not (null or "ollama" or "openai")) throw new ArgumentException($"api must be 'ollama' or 'openai', got '{Api}'.", "api");
                break;
            default:
                throw new ArgumentException($"Embedding provider '{Provider}' is not one of default, onnx, http.", "provider");
        }
        if (Dimension is < 1 or > 65536) throw new ArgumentException($"Dimension {Dimension} must be between 1 and 65536.", "dimension");
    }
}

/// <summary>
/// Makes and keeps the providers a node uses, one per distinct <see cref="EmbeddingConfig"/>: the offline vectors
/// are loaded once from the data directory, ONNX sessions are opened once.
/// </summary>
/// <param name="dataDirectory">The node's data directory (ONNX model folders are resolved under it).</param>
/// <param name="defaultModel">The offline model's file; <see cref="DefaultModelPath"/> of the data directory when null.</param>
/// <param name="http">The client for remote services; one of its own when null.</param>
public sealed class EmbeddingProviders(string dataDirectory, string? defaultModel = null, HttpClient? http = null) : IDisposable
{
    private readonly Dictionary<EmbeddingConfig, Task<IEmbeddingProvider>> _providers = [];
    private readonly HttpClient _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
    private readonly bool _ownsHttp = http is null;

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The offline model's file.</summary>
    public string DefaultModel { get; } = defaultModel ?? DefaultModelPath(dataDirectory);

    /// <summary>Where the offline provider's vectors live in a data directory.</summary>
    public static string DefaultModelPath(string dataDirectory) => Path.Combine(dataDirectory, "embeddings", WinkWordVectors.FileName);

    /// <summary>The provider for a configuration, made on first use.</summary>
    /// <exception cref="FileNotFoundException">A model file is missing.</exception>
    /// <exception cref="HttpRequestException">The remote service did not answer.</exception>
    public Task<IEmbeddingProvider> GetAsync(EmbeddingConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        lock (_providers)
        {
            if (_providers.TryGetValue(config, out var existing) && !existing.IsFaulted && !existing.IsCanceled) return existing;
            var made = CreateAsync(config, cancellationToken);
            _providers[config] = made;
            return made;
        }
    }

    private async Task<IEmbeddingProvider> CreateAsync(EmbeddingConfig config, CancellationToken cancellationToken)
    {
        switch (config.Provider)
        {
            case "default":
                return await Task.Run(() => SifEmbeddingProvider.Load(DefaultModel), cancellationToken).ConfigureAwait(false);
            case "http":
                var api = config.Api == "openai" ? HttpEmbeddingApi.OpenAI : HttpEmbeddingApi.Ollama;
                string? key = Environment.GetEnvironmentVariable("VLINK_EMBEDDING_API_KEY");
                return await HttpEmbeddingProvider.CreateAsync(_http, new Uri(config.Url!), api, config.Model!, key, config.Dimension, cancellationToken).ConfigureAwait(false);
            case "onnx":
                string folder = Path.IsPathRooted(config.Model!) ? config.Model! : Path.Combine(DataDirectory, config.Model!);
                return await Task.Run<IEmbeddingProvider>(() =>
                {
                    try
                    {
                        return OnnxEmbeddingProvider.Load(folder);
                    }
                    catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or ArgumentException)
                    {
                        throw new InvalidDataException($"The ONNX model in {folder} does not load: {e.Message}", e);
                    }
                }, cancellationToken).ConfigureAwait(false);
            default:
                throw new NotSupportedException($"Embedding provider '{config.Provider}' is not available in this build.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_providers)
        {
            foreach (var p in _providers.Values)
                if (p.IsCompletedSuccessfully && p.Result is IDisposable d) d.Dispose();
            _providers.Clear();
        }
        if (_ownsHttp) _http.Dispose();
    }
}
