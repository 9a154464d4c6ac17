namespace VLink.Core.Vectors;

/// <summary>Checks applied to every vector and query before it reaches an index.</summary>
public static class VectorValidation
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the problem: empty, wrong dimension, NaN or infinity.</summary>
    public static void Validate(ReadOnlySpan<float> vector, int dimension, string paramName)
    {
        if (vector.IsEmpty)
            throw new ArgumentException("The vector is empty.", paramName);
        if (vector.Length != dimension)
            throw new ArgumentException($"Wrong vector dimension: expected {dimension}, got {vector.Length}.", paramName);
        // A finite sum of squares means every component is finite: one SIMD pass clears the common case,
        // and only a suspicious vector (or one whose squares overflow) is walked to name the position.
        if (float.IsFinite(VectorKernels.Dot(vector, vector))) return;
        for (int i = 0; i < vector.Length; i++)
        {
            float v = vector[i];
            if (float.IsNaN(v))
                throw new ArgumentException($"The vector holds NaN at position {i}.", paramName);
            if (float.IsInfinity(v))
                throw new ArgumentException($"The vector holds Infinity at position {i}.", paramName);
        }
    }

    /// <summary>Throws when k is not positive.</summary>
    public static void ValidateK(int k, string paramName = "k")
    {
        if (k <= 0)
            throw new ArgumentOutOfRangeException(paramName, k, $"k must be positive, got {k}.");
    }
}
