using VLink.Cluster.Protocol;
using VLink.Core.Hybrid;
using VLink.Embeddings;

namespace VLink.Server.Api;

/// <summary>
/// Embeds text on the node that receives it: a point written without a vector to a collection that embeds its text
/// gets its vector here, once; the vector then travels to its partition and into the journal as data, so recovery,
/// replication and searches never embed it again.
/// </summary>
public static class TextEmbedding
{
    /// <summary>The provider configuration a collection's embedding spec names (its dimension is the collection's).</summary>
    public static EmbeddingConfig ConfigOf(EmbeddingSpec embedding, int? dimension) =>
        new(embedding.Provider, embedding.Model, embedding.Url, embedding.Api, embedding.Provider == "http" ? dimension : null);

    /// <summary>
    /// The provider of a collection's model on this node: 503 when it cannot be had (a model file not installed, a
    /// service not answering), 409 when this node's model is another one than the collection recorded.
    /// </summary>
    public static async Task<IEmbeddingProvider> ProviderAsync(EmbeddingProviders providers, CollectionSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(providers);
        var embedding = spec.Text?.Embedding ?? throw new InvalidOperationException($"Collection '{spec.Name}' does not embed text.");
        var provider = await GetAsync(providers, ConfigOf(embedding, spec.Dimension), null, cancellationToken).ConfigureAwait(false);
        if (provider.ModelId != embedding.ModelId || provider.Dimension != spec.Dimension)
            throw new ApiException(StatusCodes.Status409Conflict, "embedding",
                $"embedding: collection '{spec.Name}' holds vectors of {embedding.ModelId} ({spec.Dimension}-d); this node's {embedding.Provider} provider is {provider.ModelId} ({provider.Dimension}-d), and one collection never mixes models");
        return provider;
    }

    /// <summary>
    /// Makes (or reuses) a provider; its failures become problems: 400 naming <paramref name="field"/> when given (the
    /// request named the provider), else 503.
    /// </summary>
    public static async Task<IEmbeddingProvider> GetAsync(EmbeddingProviders providers, EmbeddingConfig config, string? field, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(providers);
        try
        {
            return await providers.GetAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or HttpRequestException or InvalidDataException or NotSupportedException or TaskCanceledException)
        {
            throw field is null
                ? new ApiException(StatusCodes.Status503ServiceUnavailable, "embedding", $"embedding: the {config.Provider} provider is not available on this node: {e.Message}")
                : ApiException.BadField(field, $"the {config.Provider} provider is not available on this node: {e.Message}");
        }
    }

    /// <summary>
    /// Fills in the vectors of points written without one (every point of a collection that embeds its text): their
    /// text is read from the collection's text fields and embedded in one batch. A point without text, or whose text
    /// the model finds nothing in, refuses the request (400 naming it); nothing is written.
    /// </summary>
    /// <param name="providers">The node's providers.</param>
    /// <param name="spec">The collection.</param>
    /// <param name="writes">The points; those without a vector are replaced by embedded ones.</param>
    /// <param name="pathOf">The request path of the i-th point (<c>points[3]</c>).</param>
    /// <param name="cancellationToken">Cancels the embedding.</param>
    public static async Task EmbedMissingAsync(EmbeddingProviders providers, CollectionSpec spec, List<PointWrite> writes, Func<int, string> pathOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        ArgumentNullException.ThrowIfNull(pathOf);
        if (spec.Text?.Embedding is null) return;
        var missing = new List<int>();
        var texts = new List<string>();
        for (int i = 0; i < writes.Count; i++)
        {
            if (writes[i].Vector is not null) continue;
            string text = TextFields.Extract(writes[i].Payload, writes[i].Document, spec.Text.Fields)
                ?? throw ApiException.BadField(pathOf(i) + ".payload",
                    $"has no text in {string.Join(", ", spec.Text.Fields)} to embed (collection '{spec.Name}' embeds its points' text)");
            missing.Add(i);
            texts.Add(text);
        }
        if (missing.Count == 0) return;
        var provider = await ProviderAsync(providers, spec, cancellationToken).ConfigureAwait(false);
        float[][] vectors;
        try
        {
            vectors = await provider.EmbedBatchAsync(texts, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "embedding", $"embedding: {e.Message}");
        }
        for (int j = 0; j < missing.Count; j++)
        {
            if (vectors[j].All(x => x == 0f))
                throw ApiException.BadField(pathOf(missing[j]) + ".payload", $"its text has no word {provider.ModelId} knows; nothing to embed");
            writes[missing[j]] = writes[missing[j]] with { Vector = vectors[j] };
        }
    }
}
