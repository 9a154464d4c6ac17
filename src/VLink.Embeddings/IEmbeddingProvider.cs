namespace VLink.Embeddings;

/// <summary>Turns text into vectors of one model. Implementations are safe to use from several threads at once.</summary>
public interface IEmbeddingProvider
{
    /// <summary>The provider kind: <c>default</c>, <c>onnx</c> or <c>http</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Names the model and its version (for the offline provider, a digest of its vectors file), so vectors of
    /// different models are never mixed in one collection.
    /// </summary>
    string ModelId { get; }

    /// <summary>The dimension of every vector produced.</summary>
    int Dimension { get; }

    /// <summary>
    /// Embeds one text. A text the model finds nothing in (no known word) gives a zero vector, which callers
    /// treat as "no embedding".
    /// </summary>
    Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default);

    /// <summary>Embeds several texts, in order (one request to a remote service, one pass for local models).</summary>
    Task<float[][]> EmbedBatchAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default);
}
