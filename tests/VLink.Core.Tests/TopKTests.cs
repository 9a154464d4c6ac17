using VLink.Core.Indexing;

namespace VLink.Core.Tests;

public class PointIdTests
{
    [Fact]
    public void NumericAndStringIds_KeepTheirKindAndValue()
    {
        PointId n = 42UL;
        PointId s = "abc";
        Assert.True(n.IsNumber);
        Assert.Equal(42UL, n.Number);
        Assert.Null(n.Text);
        Assert.False(s.IsNumber);
        Assert.Equal("abc", s.Text);
        Assert.Equal(new PointId(42), n);
        Assert.Equal(new PointId("abc"), s);
    }

    [Fact]
    public void Equality_DistinguishesNumbersFromTheirDecimalStrings()
    {
        Assert.NotEqual(new PointId(7), new PointId("7"));
        Assert.NotEqual(new PointId(0), new PointId("0"));
        Assert.True(new PointId("x") == new PointId(new string('x', 1)));
        Assert.True(new PointId(7) != new PointId(8));
        Assert.Equal(new PointId("id-1").GetHashCode(), new PointId("id-" + 1).GetHashCode());
        Assert.Equal(new PointId(ulong.MaxValue).GetHashCode(), new PointId(ulong.MaxValue).GetHashCode());

        var set = new HashSet<PointId> { 1UL, "1", 1UL, "a", "A" };
        Assert.Equal(4, set.Count);
    }

    [Fact]
    public void StringIds_AreCaseSensitive()
    {
        Assert.NotEqual(new PointId("Abc"), new PointId("abc"));
    }

    [Fact]
    public void Ordering_NumbersByValueThenStringsOrdinal()
    {
        PointId[] expected = [0UL, 2UL, 10UL, ulong.MaxValue, "0", "10", "9", "B", "a", "b"];
        var rng = new Random(5);
        for (int trial = 0; trial < 20; trial++)
        {
            var shuffled = expected.ToArray();
            rng.Shuffle(shuffled);
            Array.Sort(shuffled);
            Assert.Equal(expected, shuffled);
        }

        Assert.True(new PointId(ulong.MaxValue) < new PointId("0"));
        Assert.True(new PointId("z") > new PointId(5));
        Assert.True(new PointId(3) <= new PointId(3));
        Assert.True(new PointId(3) >= new PointId(2));
        Assert.Equal(0, new PointId("q").CompareTo(new PointId("q")));
    }

    [Fact]
    public void EmptyStringId_Throws()
    {
        Assert.ThrowsAny<ArgumentException>(() => new PointId(string.Empty));
    }

    [Fact]
    public void SearchHits_OrderByDistanceThenId()
    {
        SearchHit[] expected =
        [
            new(5UL, 0.1f), new(1UL, 0.2f), new(3UL, 0.2f), new("a", 0.2f), new(0UL, 0.7f),
        ];
        var shuffled = expected.Reverse().ToArray();
        Array.Sort(shuffled);
        Assert.Equal(expected, shuffled);
    }
}

public class TopKTests
{
    /// <summary>Independent reference: best distance per id, ordered by (distance, id), first k.</summary>
    private static List<SearchHit> Reference(IEnumerable<IReadOnlyList<SearchHit>> lists, int k) =>
        lists.SelectMany(l => l)
            .GroupBy(h => h.Id)
            .Select(g => new SearchHit(g.Key, g.Min(h => h.Distance)))
            .OrderBy(h => h.Distance).ThenBy(h => h.Id)
            .Take(k)
            .ToList();

    /// <summary>Several sorted shard answers with many exact distance ties and ids repeated across shards.</summary>
    private static List<IReadOnlyList<SearchHit>> RandomShards(Random rng, int shards)
    {
        PointId[] pool = [.. Enumerable.Range(0, 40).Select(i => new PointId((ulong)(i * 7 % 40))),
                          .. Enumerable.Range(0, 10).Select(i => new PointId($"s{i}"))];
        float[] distances = [0.1f, 0.25f, 0.25f, 0.5f, 0.75f, 1f];
        var lists = new List<IReadOnlyList<SearchHit>>();
        for (int s = 0; s < shards; s++)
        {
            int n = rng.Next(0, 25);
            var ids = pool.OrderBy(_ => rng.Next()).Take(n);
            var list = ids.Select(id => new SearchHit(id, distances[rng.Next(distances.Length)])).ToList();
            list.Sort();
            lists.Add(list);
        }
        return lists;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(1000)]
    public void Merge_EqualsReference_AndIgnoresInputOrder(int k)
    {
        var rng = new Random(100 + k);
        for (int trial = 0; trial < 25; trial++)
        {
            var lists = RandomShards(rng, rng.Next(1, 7));
            var expected = Reference(lists, k);
            var merged = TopK.Merge(lists, k);
            Assert.Equal(expected, merged);

            for (int shuffle = 0; shuffle < 5; shuffle++)
            {
                var reordered = lists.OrderBy(_ => rng.Next()).ToList();
                Assert.Equal(expected, TopK.Merge(reordered, k));
            }
        }
    }

    [Fact]
    public void Merge_BreaksTiesById()
    {
        IReadOnlyList<SearchHit> a = [new("b", 0.5f), new("c", 0.5f)];
        IReadOnlyList<SearchHit> b = [new(9UL, 0.5f), new("a", 0.5f)];
        IReadOnlyList<SearchHit> c = [new(2UL, 0.5f)];
        SearchHit[] expected = [new(2UL, 0.5f), new(9UL, 0.5f), new("a", 0.5f)];
        Assert.Equal(expected, TopK.Merge([a, b, c], 3));
        Assert.Equal(expected, TopK.Merge([c, b, a], 3));
    }

    [Fact]
    public void Merge_DuplicateIdKeepsItsBestDistance()
    {
        IReadOnlyList<SearchHit> first = [new(1UL, 0.1f), new(7UL, 0.5f)];
        IReadOnlyList<SearchHit> second = [new(7UL, 0.2f), new(8UL, 0.3f)];
        SearchHit[] expected = [new(1UL, 0.1f), new(7UL, 0.2f), new(8UL, 0.3f)];
        Assert.Equal(expected, TopK.Merge([first, second], 10));
        Assert.Equal(expected, TopK.Merge([second, first], 10));

        // With k = 2 the duplicate must not take two slots.
        Assert.Equal(expected.Take(2), TopK.Merge([first, second], 2));
    }

    [Fact]
    public void Merge_FewerHitsThanK_ReturnsAllUniqueHits()
    {
        IReadOnlyList<SearchHit> a = [new(3UL, 0.3f)];
        IReadOnlyList<SearchHit> b = [];
        IReadOnlyList<SearchHit> c = [new(3UL, 0.3f), new(4UL, 0.4f)];
        Assert.Equal(new[] { new SearchHit(3UL, 0.3f), new SearchHit(4UL, 0.4f) }, TopK.Merge([a, b, c], 10));
        Assert.Empty(TopK.Merge([], 10));
        Assert.Empty(TopK.Merge([b, b], 10));
    }
}
