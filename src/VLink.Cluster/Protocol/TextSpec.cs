namespace VLink.Cluster.Protocol;

/// <summary>
/// The text side of a collection: the payload fields its keyword search reads and, when it embeds text itself,
/// the model that does. Null in a collection of vectors only.
/// </summary>
/// <param name="Fields">Payload keys (dotted paths allowed) holding the text; <c>document</c> names the point's document.</param>
/// <param name="Embedding">The model text is embedded with on write, or null when clients send vectors.</param>
public sealed record TextSpec(IReadOnlyList<string> Fields, EmbeddingSpec? Embedding = null)
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field that does not make sense.</summary>
    public void Validate()
    {
        if (Fields.Count is < 1 or > 64) throw new ArgumentException($"Name 1-64 text fields, got {Fields.Count}.", nameof(Fields));
        foreach (var f in Fields)
            if (string.IsNullOrWhiteSpace(f) || f.Length > 256) throw new ArgumentException($"Text field '{f}' must be a payload key of 1-256 characters.", nameof(Fields));
        if (Fields.Distinct(StringComparer.Ordinal).Count() != Fields.Count) throw new ArgumentException("Text fields are named twice.", nameof(Fields));
        Embedding?.Validate();
    }

    /// <inheritdoc />
    public bool Equals(TextSpec? other) =>
        other is not null && Fields.SequenceEqual(other.Fields, StringComparer.Ordinal) && Equals(Embedding, other.Embedding);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Fields.Count, Fields.Count > 0 ? Fields[0] : null, Embedding);
}

/// <summary>
/// The model a collection embeds text with, as recorded when the collection was created: vectors of any other
/// model are refused, so one collection never mixes models.
/// </summary>
/// <param name="Provider"><c>default</c>, <c>onnx</c> or <c>http</c>.</param>
/// <param name="ModelId">The provider's model and version (e.g. <c>glove-6b-100d-sif2@3f2a…</c>).</param>
/// <param name="Model">The model name or folder the provider was configured with, if any.</param>
/// <param name="Url">For a remote provider: the service's base URL.</param>
/// <param name="Api">For a remote provider: its dialect (<c>ollama</c>, <c>openai</c>).</param>
public sealed record EmbeddingSpec(string Provider, string ModelId, string? Model = null, string? Url = null, string? Api = null)
{
    /// <summary>Throws an <see cref="ArgumentException"/> when the provider or model id is missing.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Provider)) throw new ArgumentException("The embedding provider is missing.", nameof(Provider));
        if (string.IsNullOrWhiteSpace(ModelId)) throw new ArgumentException("The embedding model id is missing.", nameof(ModelId));
    }
}
