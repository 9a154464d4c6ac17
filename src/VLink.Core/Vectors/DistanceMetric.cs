namespace VLink.Core.Vectors;

/// <summary>How two vectors are compared. Every metric is expressed as a distance: smaller is closer.</summary>
public enum DistanceMetric
{
    /// <summary>Cosine distance, <c>1 - cos(a, b)</c>. Vectors are normalised once on insert, so the kernel is a dot product.</summary>
    Cosine = 0,

    /// <summary>Inner-product distance, <c>1 - a·b</c> (as hnswlib's <c>ip</c> space). Vectors are stored as given.</summary>
    Dot = 1,

    /// <summary>Squared Euclidean distance, <c>Σ (a_i - b_i)²</c>. Monotone in the Euclidean distance, so rankings agree.</summary>
    Euclidean = 2,

    /// <summary>A caller-supplied <see cref="DistanceFunction"/>; only available in-process.</summary>
    Custom = 3,
}

/// <summary>A caller-supplied distance: smaller means more similar. It must be deterministic and thread-safe.</summary>
public delegate float DistanceFunction(ReadOnlySpan<float> a, ReadOnlySpan<float> b);
