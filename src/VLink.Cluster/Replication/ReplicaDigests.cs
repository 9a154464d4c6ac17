using System.Globalization;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Cluster.Replication;

/// <summary>
/// The order-independent summary replicas of one partition compare to find what differs: every versioned entry (a live
/// point or a tombstone, with its version) falls into one of <see cref="Buckets"/> buckets by a stable hash of its id,
/// and a bucket is the XOR of its entries' 64-bit hashes. Two replicas holding the same entries have the same buckets
/// whatever order they received them in; an entry that differs (missing, another version, deleted on one side) changes
/// its bucket, so a catch-up fetches only the buckets that differ. XOR lets the digest be kept up to date per write:
/// an entry leaves its bucket by the same XOR that put it there.
/// </summary>
public static class ReplicaDigests
{
    /// <summary>Buckets per partition.</summary>
    public const int Buckets = 64;

    // Salts keep the bucket independent of the hash partitioning (which takes the id's hash modulo the partition
    // count): without them, a collection of 64 partitions would put all of a partition's ids in one bucket.
    private const ulong BucketSalt = 0x9E3779B97F4A7C15UL;
    private const ulong LiveSalt = 0xA0761D6478BD642FUL;
    private const ulong TombstoneSalt = 0xE7037ED1A0B428DBUL;

    /// <summary>The bucket of an id, 0 to <see cref="Buckets"/> − 1; the same in every process and run.</summary>
    public static int BucketOf(PointId id) => (int)(StableHash.Mix(StableHash.Of(id) ^ BucketSalt) % Buckets);

    /// <summary>The hash of one entry: its id, its version, and whether it is a live point or a tombstone.</summary>
    public static ulong EntryHash(PointId id, PointVersion version, bool tombstone)
    {
        ulong h = StableHash.Mix(StableHash.Of(id) ^ (tombstone ? TombstoneSalt : LiveSalt));
        h = StableHash.Mix(h ^ unchecked((ulong)version.Time));
        return StableHash.Mix(h ^ unchecked((uint)version.Node));
    }

    /// <summary>The whole digest folded into one number (0 for a partition without versioned entries).</summary>
    public static ulong Combined(IReadOnlyList<ulong> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ulong combined = 0;
        for (int i = 0; i < buckets.Count; i++)
            combined ^= buckets[i] == 0 ? 0 : StableHash.Mix(buckets[i] + (ulong)i);
        return combined;
    }

    /// <summary>The first 12 hex digits of <see cref="Combined"/>, for operators comparing replicas by eye.</summary>
    public static string Hex(ulong combined) => combined.ToString("x16", CultureInfo.InvariantCulture)[..12];

    /// <summary>
    /// The buckets worth fetching from a sibling: those where its digest differs from ours and it holds something (an
    /// empty bucket there has nothing to give).
    /// </summary>
    public static int[] Differing(IReadOnlyList<ulong> ours, IReadOnlyList<ulong> theirs)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(theirs);
        var differing = new List<int>();
        for (int b = 0; b < theirs.Count; b++)
        {
            ulong mine = b < ours.Count ? ours[b] : 0;
            if (theirs[b] != 0 && theirs[b] != mine) differing.Add(b);
        }
        return [.. differing];
    }
}
