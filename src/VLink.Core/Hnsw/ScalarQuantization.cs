namespace VLink.Core.Hnsw;

/// <summary>
/// Scalar int8 quantization of an HNSW index (Qdrant's and usearch's <c>scalar int8</c>). The graph is walked on
/// one-byte codes, four times smaller than the float vectors, and the best candidates are re-scored on the
/// full-precision vectors, which are kept outside the node records: in a memory-mapped file the operating system
/// can page out (<see cref="OriginalsInRam"/> false), or in separate memory.
/// </summary>
/// <remarks>
/// Each vector is coded as x ≈ μ + s·c with c ∈ [−127, 127]^d: μ is the per-dimension mean, learnt once from the
/// first <see cref="TrainingPoints"/> points (earlier codes are re-made then), and s a per-vector scale, so a
/// vector's codes never depend on the points inserted after it. Distances between codes are int8 dot products.
/// </remarks>
public sealed record ScalarQuantization
{
    /// <summary>
    /// The share of each vector's components (by magnitude around the mean) the code range covers exactly; larger
    /// ones are clipped. 1 (the default) covers every component; 0.99 trades the rare outlier for finer steps.
    /// </summary>
    public double Quantile { get; init; } = 1.0;

    /// <summary>
    /// Re-scoring depth: the ⌈k·Oversampling⌉ best candidates of the walk on codes are re-ranked on the
    /// full-precision vectors (at least k; the walk's ef is raised to match). Default 3.
    /// </summary>
    public double Oversampling { get; init; } = 3.0;

    /// <summary>
    /// Whether the full-precision vectors stay in process memory. False (the default): they live in a
    /// memory-mapped temporary file, so only codes and links must fit in memory.
    /// </summary>
    public bool OriginalsInRam { get; init; }

    /// <summary>How many points the per-dimension mean is learnt from. Default 1,000.</summary>
    public int TrainingPoints { get; init; } = 1000;

    /// <summary>Throws when a parameter is out of range.</summary>
    public void Validate()
    {
        if (!(Quantile is >= 0.5 and <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(Quantile), Quantile, "Quantile must be within [0.5, 1].");
        if (!(Oversampling is >= 1.0 and <= 100.0))
            throw new ArgumentOutOfRangeException(nameof(Oversampling), Oversampling, "Oversampling must be within [1, 100].");
        if (TrainingPoints is < 1 or > 1_000_000)
            throw new ArgumentOutOfRangeException(nameof(TrainingPoints), TrainingPoints, "TrainingPoints must be between 1 and 1,000,000.");
    }
}
