using VLink.Cluster.Ingest;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Cluster.Tests;

/// <summary>
/// Distinct episodes: a regime search returns no two matches of one market whose windows overlap (or lie within
/// min_gap bars), and its k matches are the k best under that rule — checked against a brute-force reference (every
/// window ranked by an exact search, the rule applied by hand) — while windows of different markets never exclude
/// each other.
/// </summary>
public sealed class RegimeEpisodeTests
{
    [Fact]
    public async Task Matches_are_the_best_distinct_episodes_of_each_market_as_brute_force_picks_them()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        string file = Path.Combine(AppContext.BaseDirectory, "market", "sp500-daily.csv");
        // The same series as two markets: identical windows, which only a rule per market lets both through.
        foreach (string market in new[] { "SPX", "TWIN" })
        {
            await using var stream = File.OpenRead(file);
            await new MarketIngest(node).IngestAsync(stream, "sp500-daily.csv", new IngestOptions { Market = market, Kind = MarketRowKind.Bars, Collection = "episodes" });
        }
        int window = RegimeFeatureSet.Default.Window;
        var at = new DateTime(2008, 9, 15, 0, 0, 0, DateTimeKind.Utc).Ticks;
        var search = new RegimeSearch(node);

        // Every window but the reference's own, nearest first.
        var all = await search.SearchAsync(new RegimeQuery("episodes", null, "SPX", at, 20_000, Distinct: false));
        Assert.True(all.Matches.Count > 9000, $"{all.Matches.Count} windows");
        var reference = all.Reference!;

        foreach (int gap in new[] { 0, 25 })
        {
            var answer = await search.SearchAsync(new RegimeQuery("episodes", null, "SPX", at, 10, MinGap: gap));
            Assert.True(answer.Complete);
            var expected = BruteForce(all.Matches.Where(m => m.Market != reference.Market || Math.Abs(m.Bar - reference.Bar) >= window + gap), window + gap, 10);
            Assert.Equal(expected.Select(m => (m.Market, m.Bar)), answer.Matches.Select(m => (m.Market, m.Bar)));
            foreach (var a in answer.Matches)
                foreach (var b in answer.Matches)
                    if (!ReferenceEquals(a, b) && a.Market == b.Market)
                        Assert.True(Math.Abs(a.Bar - b.Bar) >= window + gap, $"gap {gap}: {a.Market} bars {a.Bar} and {b.Bar}");
            // Twins: an episode of one market does not hide the same episode of the other.
            Assert.Contains(answer.Matches, m => m.Market == "TWIN");
            Assert.Contains(answer.Matches, m => answer.Matches.Any(o => o.Market != m.Market && o.Bar == m.Bar));
            // The summary counts each match once.
            var h20 = answer.Horizons.Single(h => h.Horizon == 20);
            Assert.Equal(answer.Matches.Count(m => m.Forward.Single(f => f.Horizon == 20).Return is not null), h20.Known);
        }

        // Without the rule, the nearest windows crowd into a few episodes: the first ten hold neighbours of one market.
        var crowded = await search.SearchAsync(new RegimeQuery("episodes", null, "SPX", at, 10, Distinct: false));
        Assert.Contains(crowded.Matches, a => crowded.Matches.Any(b => !ReferenceEquals(a, b) && a.Market == b.Market && Math.Abs(a.Bar - b.Bar) < window));
        Assert.Equal(all.Matches.Take(10).Select(m => m.Id), crowded.Matches.Select(m => m.Id));

        var negative = await Assert.ThrowsAsync<RegimeQueryException>(() => search.SearchAsync(new RegimeQuery("episodes", null, "SPX", at, 10, MinGap: -1)));
        Assert.Equal("min_gap", negative.Field);
    }

    [Fact]
    public async Task The_summary_gives_the_base_rate_of_the_markets_and_period_searched_as_brute_force_counts_it()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        string file = Path.Combine(AppContext.BaseDirectory, "market", "sp500-daily.csv");
        foreach (string market in new[] { "SPX", "TWIN" })
        {
            await using var stream = File.OpenRead(file);
            await new MarketIngest(node).IngestAsync(stream, "sp500-daily.csv", new IngestOptions { Market = market, Kind = MarketRowKind.Bars, Collection = "base" });
        }
        var at = new DateTime(2008, 9, 15, 0, 0, 0, DateTimeKind.Utc).Ticks;
        var from = new DateTime(2012, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        var search = new RegimeSearch(node);
        foreach (long? since in new long?[] { null, from })
        {
            // TWIN's windows all come back (the reference's exclusion is SPX's): the brute force counts over them.
            var twin = await search.SearchAsync(new RegimeQuery("base", null, "SPX", at, 20_000, ["TWIN"], From: since, Distinct: false));
            Assert.True(twin.Matches.Count > (since is null ? 5000 : 1500), $"{twin.Matches.Count} windows");
            var both = await search.SearchAsync(new RegimeQuery("base", null, "SPX", at, 10, From: since));
            foreach (int h in new[] { 5, 20 })
            {
                var outcomes = twin.Matches.Select(m => m.Forward.Single(f => f.Horizon == h)).Where(f => f.Return is not null).ToList();
                var expected = twin.Horizons.Single(x => x.Horizon == h).Base!;
                Assert.Equal(outcomes.Count, expected.Known);
                Assert.Equal(outcomes.Average(f => f.Return!.Value), expected.MeanReturn!.Value, 9);
                Assert.Equal(outcomes.Count(f => f.Return > 0) / (double)outcomes.Count, expected.PositiveFraction!.Value, 12);
                Assert.Equal(outcomes.Average(f => f.Volatility!.Value), expected.MeanVolatility!.Value, 9);
                // Over both markets (the same series twice), whatever the ten matches are: twice the windows, the same rates.
                var twice = both.Horizons.Single(x => x.Horizon == h).Base!;
                Assert.Equal(2 * outcomes.Count, twice.Known);
                Assert.Equal(expected.MeanReturn!.Value, twice.MeanReturn!.Value, 9);
                Assert.Equal(expected.PositiveFraction!.Value, twice.PositiveFraction!.Value, 12);
            }
        }
    }

    // Walks the ranking nearest first and keeps a window unless a kept one of its market is fewer than apart bars away.
    private static List<RegimeWindow> BruteForce(IEnumerable<RegimeWindow> ranked, int apart, int k)
    {
        var kept = new List<RegimeWindow>();
        foreach (var candidate in ranked)
        {
            if (kept.Count == k) break;
            if (kept.Any(m => m.Market == candidate.Market && Math.Abs(m.Bar - candidate.Bar) < apart)) continue;
            kept.Add(candidate);
        }
        return kept;
    }
}
