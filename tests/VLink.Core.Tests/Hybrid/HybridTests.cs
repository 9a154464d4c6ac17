using VLink.Core.Hybrid;
using VLink.Core.Indexing;

namespace VLink.Core.Tests.Hybrid;

public sealed class HybridTests
{
    private static MethodRanking Ranking(HybridMethods method, params ulong[] ids) =>
        new(method, [.. ids.Select((id, i) => new ScoredPoint(id, -i))]);

    [Fact]
    public void Rrf_matches_a_hand_computed_fusion()
    {
        // k = 60, keyword weight 1, semantic weight 2.
        // 1: 1/61 + 2/62 = 0.048651; 2: 1/62 = 0.016129; 3: 1/63 + 2/61 = 0.048660; 4: 2/63 · 0 (absent) → not present.
        var fused = Rrf.Fuse(
            [Ranking(HybridMethods.Keyword, 1, 2, 3), Ranking(HybridMethods.Semantic, 3, 1)],
            m => m == HybridMethods.Semantic ? 2 : 1, limit: 10);
        Assert.Equal([3UL, 1UL, 2UL], fused.Select(h => h.Id.Number));
        Assert.Equal(1.0 / 63 + 2.0 / 61, fused[0].Score, 12);
        Assert.Equal(1.0 / 61 + 2.0 / 62, fused[1].Score, 12);
        Assert.Equal(1.0 / 62, fused[2].Score, 12);
        Assert.Equal(HybridMethods.Keyword | HybridMethods.Semantic, fused[0].MatchedBy);
        Assert.Equal(HybridMethods.Keyword, fused[2].MatchedBy);

        // Equal scores go to the smaller id; the limit cuts after ordering.
        var tie = Rrf.Fuse([Ranking(HybridMethods.Exact, 9), Ranking(HybridMethods.Keyword, 4)], null, limit: 1);
        Assert.Equal(4UL, Assert.Single(tie).Id.Number);
        Assert.Equal(HybridMethods.Keyword, tie[0].MatchedBy);
    }

    private static TextIndex Corpus()
    {
        var index = new TextIndex();
        index.Upsert(1UL, "Login with a password");               // terms: login, password (dl 2)
        index.Upsert(2UL, "Password reset and password rules");   // terms: password, reset, password, rule (dl 4)
        index.Upsert(3UL, "Bread recipes");                       // terms: bread, recip (dl 2)
        return index;
    }

    [Fact]
    public void Bm25_matches_hand_computed_scores()
    {
        var index = Corpus();
        Assert.Equal(8.0 / 3, index.AverageLength, 12);
        Assert.Equal(["password", "reset", "password", "rule"], TextAnalyzer.Terms("Password reset and password rules"));

        // "passwords" stems to "password": df 2 of N 3, idf = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6.
        // d1: tf 1, dl 2: idf · 1 · 2.2 / (1 + 1.2 · (0.25 + 0.75 · 2 / (8/3))) = idf · 2.2 / 1.975
        // d2: tf 2, dl 4: idf · 2 · 2.2 / (2 + 1.2 · (0.25 + 0.75 · 4 / (8/3))) = idf · 4.4 / 3.65
        double idf = Math.Log(1.6);
        var hits = index.Bm25("passwords", 10);
        Assert.Equal([2UL, 1UL], hits.Select(h => h.Id.Number));
        Assert.Equal(idf * 4.4 / 3.65, hits[0].Score, 12);
        Assert.Equal(idf * 2.2 / 1.975, hits[1].Score, 12);

        // Two terms add: "login password" on d1 adds login's idf = ln(1 + 2.5 / 1.5) with the same length factor.
        var both = index.Bm25("the login password", 10);
        Assert.Equal(1UL, both[0].Id.Number);
        Assert.Equal((Math.Log(1 + 2.5 / 1.5) + idf) * 2.2 / 1.975, both[0].Score, 12);

        // A filter leaves points out; removal updates statistics.
        Assert.Equal([1UL], index.Bm25("password", 10, id => id.Number == 1).Select(h => h.Id.Number));
        index.Remove(2UL);
        Assert.Equal(2.0, index.AverageLength, 12);
        var after = Assert.Single(index.Bm25("password", 10));
        Assert.Equal(Math.Log(1 + 1.5 / 1.5) * 2.2 / (1 + 1.2), after.Score, 12);
    }

    [Fact]
    public void Exact_match_needs_every_word_unstemmed_and_ranks_by_occurrences()
    {
        var index = Corpus();
        Assert.Equal([2UL, 1UL], index.Exact("password", 10).Select(h => h.Id.Number)); // 2 occurrences, then 1
        Assert.Empty(index.Exact("passwords", 10)); // no stemming
        Assert.Equal([1UL], index.Exact("LOGIN password", 10).Select(h => h.Id.Number));
        Assert.Empty(index.Exact("login bread", 10));
        index.Upsert(1UL, "bread");
        Assert.Equal([3UL, 1UL], index.Exact("bread", 10).Select(h => h.Id.Number).OrderDescending());
        Assert.Empty(index.Exact("login", 10));
    }

    [Fact]
    public void The_text_index_counts_its_memory_as_it_changes()
    {
        var index = new TextIndex();
        Assert.Equal(0, index.MemoryBytes);
        index.Upsert(1UL, "The login page asks for a username and password");
        long one = index.MemoryBytes;
        // At least the characters of the terms and words, held in the document and again as index keys.
        Assert.True(one > 2 * 2 * "loginpageasksusernamepassword".Length, $"{one}");
        index.Upsert(2UL, "A password reset link is sent by email");
        long two = index.MemoryBytes;
        Assert.True(two > one);
        // A second point sharing words adds less than the first did: the shared terms' keys are already held.
        index.Upsert(3UL, "The login page asks for a username and password");
        Assert.True(index.MemoryBytes - two < one, $"{index.MemoryBytes - two} vs {one}");
        // Replacing a text with itself changes nothing; removing everything gives every byte back.
        long before = index.MemoryBytes;
        index.Upsert(2UL, "A password reset link is sent by email");
        Assert.Equal(before, index.MemoryBytes);
        index.Upsert(1UL, null);
        index.Remove(2UL);
        index.Remove(3UL);
        Assert.Equal(0, index.Count);
        Assert.Equal(0, index.MemoryBytes);
    }
}
