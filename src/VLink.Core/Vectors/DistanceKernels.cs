using System.Runtime.CompilerServices;

namespace VLink.Core.Vectors;

/// <summary>
/// A distance over raw pointers. Indices are generic over a struct implementing this, so the JIT
/// specialises and inlines the kernel into each search loop instead of calling through a delegate.
/// </summary>
internal unsafe interface IDistanceKernel
{
    /// <summary>True when the kernel reads int8-coded records and queries (the pointers are then byte records), not float vectors.</summary>
    static abstract bool OnCodes { get; }

    float Distance(float* a, float* b, int n);
}

/// <summary>1 − a·b: cosine on normalised vectors, and inner-product distance.</summary>
internal readonly unsafe struct InnerProductKernel : IDistanceKernel
{
    public static bool OnCodes => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(float* a, float* b, int n) => 1f - VectorKernels.Dot(a, b, n);
}

/// <summary>Squared Euclidean distance.</summary>
internal readonly unsafe struct SquaredEuclideanKernel : IDistanceKernel
{
    public static bool OnCodes => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(float* a, float* b, int n) => VectorKernels.SquaredEuclidean(a, b, n);
}

/// <summary>A caller's <see cref="DistanceFunction"/>, called through its delegate.</summary>
internal readonly unsafe struct CustomKernel(DistanceFunction function) : IDistanceKernel
{
    public static bool OnCodes => false;

    public float Distance(float* a, float* b, int n) =>
        function(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n));
}

/// <summary>What an index needs to know about its metric: whether vectors are normalised on the way in, and the kernel.</summary>
internal static class MetricRules
{
    public static bool Normalises(DistanceMetric metric) => metric == DistanceMetric.Cosine;

    public static void CheckBuiltIn(DistanceMetric metric)
    {
        if (metric is not (DistanceMetric.Cosine or DistanceMetric.Dot or DistanceMetric.Euclidean))
            throw new ArgumentOutOfRangeException(nameof(metric), metric,
                "Use the constructor that takes a DistanceFunction for a custom metric.");
    }
}
