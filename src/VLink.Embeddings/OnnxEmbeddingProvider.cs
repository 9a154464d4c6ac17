using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;
using VLink.Core.Vectors;

namespace VLink.Embeddings;

/// <summary>
/// A sentence-transformer model in ONNX form (e.g. all-MiniLM-L6-v2, 384-d), from a folder holding <c>model.onnx</c>
/// and its WordPiece <c>vocab.txt</c>: text → BERT tokens ([CLS] … [SEP], at most <see cref="MaxTokens"/>) → the
/// model's <c>last_hidden_state</c> → mean over the tokens → L2-normalised. The inputs the model declares among
/// <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c> are fed; a model whose output is already one
/// vector per text ([1, d]) is used as it is.
/// </summary>
public sealed class OnnxEmbeddingProvider : IEmbeddingProvider, IDisposable
{
    /// <summary>Tokens per text at most (longer texts are cut).</summary>
    public const int MaxTokens = 256;

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly string _output;

    private OnnxEmbeddingProvider(InferenceSession session, BertTokenizer tokenizer, string modelId)
    {
        _session = session;
        _tokenizer = tokenizer;
        ModelId = modelId;
        _output = session.OutputMetadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : session.OutputMetadata.Keys.First();
        Dimension = Embed("dimension").Length;
    }

    /// <summary>Loads <c>model.onnx</c> and <c>vocab.txt</c> from a folder.</summary>
    /// <exception cref="FileNotFoundException">Either file is missing.</exception>
    public static OnnxEmbeddingProvider Load(string folder)
    {
        string model = Path.Combine(folder, "model.onnx"), vocab = Path.Combine(folder, "vocab.txt");
        if (!File.Exists(model)) throw new FileNotFoundException($"No ONNX model at {model}.", model);
        if (!File.Exists(vocab)) throw new FileNotFoundException($"No WordPiece vocabulary at {vocab}.", vocab);
        string digest;
        using (var file = File.OpenRead(model)) digest = Convert.ToHexStringLower(SHA256.HashData(file))[..12];
        var tokenizer = BertTokenizer.Create(vocab);
        var session = new InferenceSession(model);
        return new OnnxEmbeddingProvider(session, tokenizer, $"onnx:{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)))}@{digest}");
    }

    /// <inheritdoc />
    public string Name => "onnx";

    /// <inheritdoc />
    public string ModelId { get; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <summary>The token ids of a text as the model sees them.</summary>
    public IReadOnlyList<int> Tokens(string text)
    {
        var ids = _tokenizer.EncodeToIds(text);
        return ids.Count <= MaxTokens ? ids : [.. ids.Take(MaxTokens - 1), ids[^1]];
    }

    /// <summary>Embeds one text synchronously.</summary>
    public float[] Embed(string text)
    {
        var ids = Tokens(text);
        int n = ids.Count;
        var shape = new[] { 1, n };
        var inputs = new List<NamedOnnxValue>();
        foreach (var name in _session.InputMetadata.Keys)
        {
            var tensor = new DenseTensor<long>(shape);
            for (int i = 0; i < n; i++)
                tensor[0, i] = name switch
                {
                    "input_ids" => ids[i],
                    "attention_mask" => 1,
                    _ => 0,
                };
            inputs.Add(NamedOnnxValue.CreateFromTensor(name, tensor));
        }
        using var results = _session.Run(inputs, [_output]);
        var output = results[0].AsTensor<float>();
        var dims = output.Dimensions;
        float[] vector;
        if (dims.Length == 3)
        {
            vector = new float[dims[2]];
            for (int t = 0; t < dims[1]; t++)
                for (int d = 0; d < dims[2]; d++) vector[d] += output[0, t, d];
            for (int d = 0; d < vector.Length; d++) vector[d] /= dims[1];
        }
        else
        {
            vector = new float[dims[^1]];
            for (int d = 0; d < vector.Length; d++) vector[d] = output[0, d];
        }
        if (VectorKernels.Norm(vector) > 0) VectorKernels.Normalize(vector);
        return vector;
    }

    /// <inheritdoc />
    public Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default) => Task.FromResult(Embed(text));

    /// <inheritdoc />
    public Task<float[][]> EmbedBatchAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Task.FromResult(texts.Select(Embed).ToArray());
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
