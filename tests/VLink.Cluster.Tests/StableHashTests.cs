using System.Globalization;
using System.Text;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Cluster.Tests;

public sealed class StableHashTests
{
    // ---- Reference implementations, written from the published definitions ----

    /// <summary>FNV-1a, 64 bits: offset basis 0xcbf29ce484222325, prime 0x100000001b3; xor the byte, then multiply.</summary>
    private static ulong ReferenceFnv1a64(byte[] bytes)
    {
        ulong hash = 0xcbf29ce484222325UL;
        foreach (byte b in bytes)
        {
            hash ^= b;
            hash = unchecked(hash * 0x100000001b3UL);
        }
        return hash;
    }

    /// <summary>SplitMix64's output function (Steele, Lea and Flood 2014, as in Vigna's splitmix64.c).</summary>
    private static ulong ReferenceSplitMixFinaliser(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94d049bb133111ebUL);
        return z ^ (z >> 31);
    }

    private static ulong Reference(string text) => ReferenceSplitMixFinaliser(ReferenceFnv1a64(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void The_reference_implementations_match_published_values()
    {
        // FNV-1a 64 test vectors from the FNV reference (Noll): "", "a", "foobar".
        Assert.Equal(0xcbf29ce484222325UL, ReferenceFnv1a64([]));
        Assert.Equal(0xaf63dc4c8601ec8cUL, ReferenceFnv1a64("a"u8.ToArray()));
        Assert.Equal(0x85944171f73967e8UL, ReferenceFnv1a64("foobar"u8.ToArray()));
        // splitmix64 seeded with 0 outputs mix(golden), mix(2 * golden), ...
        const ulong golden = 0x9e3779b97f4a7c15UL;
        Assert.Equal(0xe220a8397b1dcdafUL, ReferenceSplitMixFinaliser(golden));
        Assert.Equal(0x6e789e6aa1b965f4UL, ReferenceSplitMixFinaliser(unchecked(2 * golden)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("foobar")]
    [InlineData("docs/p0")]
    [InlineData("markets@3/BTC-USD")]
    [InlineData("Zürich")]
    [InlineData("東京")]
    [InlineData("rocket 🚀")]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    public void String_hashes_are_the_splitmix_finaliser_of_fnv1a_over_utf8(string text)
    {
        Assert.Equal(Reference(text), StableHash.Of(text));
    }

    [Theory]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(5000)]
    public void Long_strings_hash_the_same_way(int length)
    {
        // Around the stack buffer's size, in one- and multi-byte characters.
        string ascii = new('x', length);
        string wide = string.Concat(Enumerable.Repeat("é", length / 2 + 1));

        Assert.Equal(Reference(ascii), StableHash.Of(ascii));
        Assert.Equal(Reference(wide), StableHash.Of(wide));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(42UL)]
    [InlineData(ulong.MaxValue)]
    public void Numeric_point_ids_hash_by_the_finaliser_of_their_value(ulong number)
    {
        Assert.Equal(ReferenceSplitMixFinaliser(number), StableHash.Of(new PointId(number)));
        Assert.Equal(ReferenceSplitMixFinaliser(number), StableHash.Mix(number));
    }

    [Fact]
    public void String_point_ids_hash_as_their_text()
    {
        Assert.Equal(Reference("doc-17"), StableHash.Of(new PointId("doc-17")));
        // A string that looks like a number is not the number.
        Assert.NotEqual(StableHash.Of(new PointId(17UL)), StableHash.Of(new PointId("17")));
    }

    [Fact]
    public void Partition_keys_are_p_and_the_hash_modulo_the_count()
    {
        foreach (int count in new[] { 1, 3, 16, 1000 })
        {
            for (ulong i = 0; i < 200; i++)
            {
                PointId numeric = i * 1_000_003;
                PointId text = $"point-{i}";
                Assert.Equal($"p{ReferenceSplitMixFinaliser(i * 1_000_003) % (ulong)count}", HashPartitioner.KeyOf(numeric, count));
                Assert.Equal($"p{Reference($"point-{i}") % (ulong)count}", HashPartitioner.KeyOf(text, count));
            }
        }
        Assert.Equal("p0", HashPartitioner.KeyOf("anything", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => HashPartitioner.KeyOf(1UL, 0));
    }

    [Fact]
    public void One_hundred_thousand_ids_spread_evenly_over_sixteen_partitions()
    {
        const int ids = 100_000, partitions = 16;
        var numeric = new int[partitions];
        var text = new int[partitions];
        var guids = new int[partitions];
        for (int i = 0; i < ids; i++)
        {
            numeric[PartitionNumber(HashPartitioner.KeyOf((ulong)i, partitions))]++;
            text[PartitionNumber(HashPartitioner.KeyOf($"doc-{i}", partitions))]++;
            guids[PartitionNumber(HashPartitioner.KeyOf(Guid(i), partitions))]++;
        }

        // Binomial standard deviation is about 77 per partition; 5 % of 6,250 is about four of them.
        const double expected = (double)ids / partitions;
        Assert.All(numeric, n => Assert.InRange(n, expected * 0.95, expected * 1.05));
        Assert.All(text, n => Assert.InRange(n, expected * 0.95, expected * 1.05));
        Assert.All(guids, n => Assert.InRange(n, expected * 0.95, expected * 1.05));
        Assert.Equal(ids, numeric.Sum());
        Assert.Equal(ids, text.Sum());
        Assert.Equal(ids, guids.Sum());
    }

    // ---- The shard message extractor ----

    [Fact]
    public void Partition_messages_route_by_entity_id_and_stable_shard()
    {
        var extractor = new PartitionMessageExtractor(64);
        var partition = new PartitionRef("markets", "BTC-USD", 3);
        var message = new GetPartitionStats(partition);

        Assert.Equal("markets@3/BTC-USD", extractor.EntityId(message));
        Assert.Same(message, extractor.EntityMessage(message));
        string expectedShard = (Reference("markets@3/BTC-USD") % 64).ToString(CultureInfo.InvariantCulture);
        Assert.Equal(expectedShard, extractor.ShardId(message));
        Assert.Equal(expectedShard, extractor.ShardId("markets@3/BTC-USD"));
        Assert.Equal(expectedShard, extractor.ShardOf(partition.EntityId));
    }

    [Fact]
    public void Every_partition_message_type_routes_to_its_partition()
    {
        var extractor = new PartitionMessageExtractor(8);
        var partition = new PartitionRef("docs", "p5", 1);
        IPartitionMessage[] messages =
        [
            new UpsertPoints(partition, new CollectionSpec("docs", 1, Core.Vectors.DistanceMetric.Dot, PartitionScheme.Hash, 8, Core.Hnsw.HnswOptions.Default), []),
            new DeletePoints(partition, []),
            new GetPoints(partition, [], false),
            new GetPartitionStats(partition),
            new SearchPartition(partition, new SearchRequest([1f], 1, 1, null, false)),
        ];

        Assert.All(messages, m => Assert.Equal("docs@1/p5", extractor.EntityId(m)));
        Assert.Single(messages.Select(extractor.ShardId).Distinct());
    }

    [Fact]
    public void Other_messages_have_no_entity_and_no_shard()
    {
        var extractor = new PartitionMessageExtractor(8);
        var notForAPartition = new WriteAck(new PartitionRef("docs", "p1", 1), 1, 1);

        Assert.Null(extractor.EntityId(notForAPartition));
        Assert.Null(extractor.EntityId("text"));
        Assert.Throws<ArgumentException>(() => extractor.ShardId(notForAPartition));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void Shard_ids_are_in_range_and_every_shard_is_used(int shardCount)
    {
        var extractor = new PartitionMessageExtractor(shardCount);
        var used = new HashSet<int>();

        for (int c = 0; c < 20; c++)
        {
            for (int p = 0; p < 100; p++)
            {
                string shard = extractor.ShardOf(new PartitionRef($"collection-{c}", $"p{p}", c).EntityId);
                int number = int.Parse(shard, NumberStyles.None, CultureInfo.InvariantCulture);
                Assert.InRange(number, 0, shardCount - 1);
                Assert.Equal(number.ToString(CultureInfo.InvariantCulture), shard);
                used.Add(number);
            }
        }

        Assert.Equal(shardCount, used.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_shard_count_must_be_positive(int shardCount)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PartitionMessageExtractor(shardCount));
    }

    private static int PartitionNumber(string key)
    {
        Assert.StartsWith("p", key);
        return int.Parse(key.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    // Deterministic GUID-shaped ids (what clients typically send as string ids).
    private static string Guid(int i)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, ReferenceSplitMixFinaliser((ulong)i));
        BitConverter.TryWriteBytes(bytes[8..], ReferenceSplitMixFinaliser((ulong)i + 0x9e3779b97f4a7c15UL));
        return new System.Guid(bytes).ToString();
    }
}
