using System.Globalization;

namespace VLink.Cluster.Protocol;

/// <summary>
/// The version of one write to a point: a hybrid logical clock reading of the node that coordinated the write
/// (<see cref="Time"/>: milliseconds since the Unix epoch shifted left 16 bits, plus a counter in the low 16 bits)
/// and that node's id, which breaks ties. Versions are totally ordered and unique per write, so every replica picks
/// the same winner among concurrent writes to one id (last writer wins). <see cref="None"/> (all zero) is the version
/// of writes journalled before versions existed; every versioned write is newer.
/// </summary>
/// <param name="Time">Hybrid logical time: physical milliseconds &lt;&lt; 16 | logical counter.</param>
/// <param name="Node">The coordinating node's id (its cluster incarnation's uid).</param>
public readonly record struct PointVersion(long Time, int Node) : IComparable<PointVersion>
{
    /// <summary>No version: writes from journals older than versions.</summary>
    public static readonly PointVersion None;

    /// <summary>Bits of <see cref="Time"/> that count logical steps within one millisecond.</summary>
    public const int CounterBits = 16;

    /// <summary>Whether this is <see cref="None"/>.</summary>
    public bool IsNone => Time == 0 && Node == 0;

    /// <summary>The physical part: milliseconds since the Unix epoch.</summary>
    public long Milliseconds => Time >> CounterBits;

    /// <summary>The logical part: writes coordinated within the same millisecond before this one.</summary>
    public int Counter => (int)(Time & ((1L << CounterBits) - 1));

    /// <inheritdoc />
    public int CompareTo(PointVersion other)
    {
        int byTime = Time.CompareTo(other.Time);
        return byTime != 0 ? byTime : Node.CompareTo(other.Node);
    }

    /// <summary>Whether <paramref name="a"/> is older than <paramref name="b"/>.</summary>
    public static bool operator <(PointVersion a, PointVersion b) => a.CompareTo(b) < 0;

    /// <summary>Whether <paramref name="a"/> is newer than <paramref name="b"/>.</summary>
    public static bool operator >(PointVersion a, PointVersion b) => a.CompareTo(b) > 0;

    /// <summary>Whether <paramref name="a"/> is older than or equal to <paramref name="b"/>.</summary>
    public static bool operator <=(PointVersion a, PointVersion b) => a.CompareTo(b) <= 0;

    /// <summary>Whether <paramref name="a"/> is newer than or equal to <paramref name="b"/>.</summary>
    public static bool operator >=(PointVersion a, PointVersion b) => a.CompareTo(b) >= 0;

    /// <summary>The later of two versions.</summary>
    public static PointVersion Max(PointVersion a, PointVersion b) => a >= b ? a : b;

    /// <summary><c>milliseconds.counter@node</c>, or <c>none</c>.</summary>
    public override string ToString() =>
        IsNone ? "none" : string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}.{Counter}@{Node}");
}
