using VLink.Cluster.Protocol;

namespace VLink.Cluster.Replication;

/// <summary>
/// A hybrid logical clock: each reading is later than every earlier reading and every version observed, and stays
/// close to the wall clock (physical milliseconds in the high bits, a counter for readings within one millisecond in
/// the low 16). One per node; thread-safe. The node id makes readings of different nodes distinct.
/// </summary>
public sealed class HybridClock
{
    private readonly Func<long> _wallMilliseconds;
    private readonly Lock _gate = new();
    private long _last;

    /// <summary>A clock of node <paramref name="node"/>, reading the system clock unless told otherwise.</summary>
    /// <param name="node">The node's id, written into every version.</param>
    /// <param name="wallMilliseconds">Milliseconds since the Unix epoch (tests pass a fake).</param>
    public HybridClock(int node, Func<long>? wallMilliseconds = null)
    {
        Node = node;
        _wallMilliseconds = wallMilliseconds ?? (static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>The node id every version of this clock carries.</summary>
    public int Node { get; }

    /// <summary>A new version, later than every one this clock made or observed.</summary>
    public PointVersion Next()
    {
        long wall = _wallMilliseconds() << PointVersion.CounterBits;
        lock (_gate)
        {
            // A wall clock ahead resets the counter; otherwise the counter steps (and carries into the milliseconds).
            _last = Math.Max(wall, _last + 1);
            return new PointVersion(_last, Node);
        }
    }

    /// <summary>Moves the clock past a version seen elsewhere, so this node's next writes are later than it.</summary>
    public void Observe(PointVersion seen)
    {
        lock (_gate)
        {
            if (seen.Time > _last) _last = seen.Time;
        }
    }
}
