using System.Text;
using VLink.Core.Indexing;

namespace VLink.Cluster.Sharding;

/// <summary>
/// Hashes that every process and every run agree on (string.GetHashCode is randomised per process, so it
/// must never decide where data lives).
/// </summary>
public static class StableHash
{
    /// <summary>FNV-1a (64-bit) over the UTF-8 bytes of a string.</summary>
    public static ulong Of(string text)
    {
        ulong hash = 14695981039346656037UL;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(text) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(text, buffer)] : Encoding.UTF8.GetBytes(text);
        foreach (byte b in bytes)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return Mix(hash);
    }

    /// <summary>A well-mixed hash of a point id.</summary>
    public static ulong Of(PointId id) => id.Text is { } text ? Of(text) : Mix(id.Number);

    /// <summary>SplitMix64's finaliser: spreads every input bit over the output.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Maps points to the partitions of a hash-partitioned collection.</summary>
public static class HashPartitioner
{
    /// <summary>The partition key (<c>p{n}</c>) of a point among <paramref name="partitionCount"/> partitions.</summary>
    public static string KeyOf(PointId id, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        return $"p{StableHash.Of(id) % (ulong)partitionCount}";
    }
}
