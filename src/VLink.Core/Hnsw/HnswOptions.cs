namespace VLink.Core.Hnsw;

/// <summary>
/// Parameters of an HNSW graph (Malkov &amp; Yashunin, 2018). Defaults follow the paper and hnswlib's
/// recommendations for 10–1000 dimensional data.
/// </summary>
public sealed record HnswOptions
{
    /// <summary>Links per node on the upper layers (M). Default 16. Level 0 holds <see cref="M0"/> = 2·M.</summary>
    public int M { get; init; } = 16;

    /// <summary>Links per node on level 0: 2·M, as the paper recommends.</summary>
    public int M0 => 2 * M;

    /// <summary>Candidate list size while inserting (efConstruction). Default 200.</summary>
    public int EfConstruction { get; init; } = 200;

    /// <summary>Candidate list size while searching when the query names none (ef). Default 64; raised to k when smaller.</summary>
    public int EfSearch { get; init; } = 64;

    /// <summary>Seed of the level generator; equal seeds and equal insert order give identical graphs. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Below this estimated fraction of matching points, a filtered search scans the matching points exactly
    /// instead of walking the graph (where most visited nodes would be rejected). Default 0.03.
    /// </summary>
    public double FilteredScanSelectivity { get; init; } = 0.03;

    /// <summary>Scalar int8 quantization of the walked vectors, or null (the default) to walk on float vectors.</summary>
    public ScalarQuantization? Quantization { get; init; }

    /// <summary>The defaults.</summary>
    public static HnswOptions Default { get; } = new();

    /// <summary>Throws when a parameter is out of range.</summary>
    public void Validate()
    {
        if (M < 2 || M > 256) throw new ArgumentOutOfRangeException(nameof(M), M, "M must be between 2 and 256.");
        if (EfConstruction < 1) throw new ArgumentOutOfRangeException(nameof(EfConstruction), EfConstruction, "EfConstruction must be positive.");
        if (EfSearch < 1) throw new ArgumentOutOfRangeException(nameof(EfSearch), EfSearch, "EfSearch must be positive.");
        if (FilteredScanSelectivity is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(FilteredScanSelectivity), FilteredScanSelectivity, "FilteredScanSelectivity must be within [0, 1].");
        Quantization?.Validate();
    }
}
