using System.Text.Json;
using VLink.Core.Ingest;
using VLink.Core.Regimes;
using static VLink.Core.Tests.Ingest.MarketFiles;

namespace VLink.Core.Tests.Regimes;

public class ForwardOutcomeTests
{
    private static readonly RegimeFeatureSet Tiny = new()
    {
        Window = 3,
        ReturnHorizons = [1],
        VolatilityHorizons = [],
        ShortHorizon = 2,
        OutcomeHorizons = [1, 2],
    };

    private static Bar Day(int d, double close) => new(T(2024, 1, d), T(2024, 1, d + 1), close, close, close, close);

    [Fact]
    public void Outcomes_ArriveWhenTheirHorizonHasClosed_ForWindowsThatHadAVector()
    {
        double[] closes = [10, 11, 12, 13, 12, 15, 16];
        var tracker = new RegimeTracker("X", Tiny, TimeSpan.FromDays(1));
        var perBar = new List<RegimeUpdates>();
        for (int i = 0; i < closes.Length; i++)
        {
            var u = new RegimeUpdates();
            Assert.Equal(InputOutcome.Accepted, tracker.AddBar(Day(i + 1, closes[i]), u));
            perBar.Add(u);
        }

        // vectors at bars 3..6 (a window of 3 returns needs 4 bars)
        Assert.Equal([0, 0, 0, 1, 1, 1, 1], perBar.Select(u => u.Vectors.Count));
        Assert.Equal([3L, 4, 5, 6], perBar.SelectMany(u => u.Vectors).Select(v => v.BarIndex));
        // bar 3's window: bars 1..3, based on bar 0's close
        var first = perBar[3].Vectors[0];
        Assert.Equal((T(2024, 1, 2), T(2024, 1, 5), 13.0), (first.WindowStart, first.WindowEnd, first.Close));

        Assert.Empty(perBar[3].Outcomes);
        Assert.Equal([new OutcomeUpdate(3, T(2024, 1, 5), 1, Math.Log(12.0 / 13), Math.Abs(Math.Log(12.0 / 13)))], perBar[4].Outcomes);
        var at5 = perBar[5].Outcomes;
        Assert.Equal(2, at5.Count);
        Assert.Equal(new OutcomeUpdate(4, T(2024, 1, 6), 1, Math.Log(15.0 / 12), Math.Abs(Math.Log(15.0 / 12))), at5[0]);
        Assert.Equal((3L, 2), (at5[1].BarIndex, at5[1].Horizon));
        Assert.Equal(Math.Log(15.0 / 13), at5[1].ForwardReturn, 12);
        Assert.Equal(Math.Sqrt((Math.Pow(Math.Log(12.0 / 13), 2) + Math.Pow(Math.Log(15.0 / 12), 2)) / 2), at5[1].ForwardVolatility, 12);
        Assert.Equal([(5L, 1), (4L, 2)], perBar[6].Outcomes.Select(o => (o.BarIndex, o.Horizon)));
    }

    [Fact]
    public void Measure_IsTheLogReturnAndTheRootMeanSquareOfTheReturnsAfter()
    {
        var (ret, vol) = ForwardOutcomes.Measure([Day(1, 100), Day(2, 110), Day(3, 99)]);
        Assert.Equal(Math.Log(0.99), ret, 12);
        Assert.Equal(Math.Sqrt((Math.Pow(Math.Log(1.1), 2) + Math.Pow(Math.Log(0.9), 2)) / 2), vol, 12);
    }
}

public class RegimeTrackerTests
{
    [Fact]
    public void Sp500Excerpt_GivesAVectorPerBarAfterTheWindow_AndFiveBarOutcomes()
    {
        using var reader = BarReader.Open(Fixture("sp500-excerpt.csv"));
        var bars = reader.ReadAll().ToList();
        var tracker = new RegimeTracker("SPX", RegimeFeatureSet.Default, TimeSpan.FromDays(1));
        var updates = new RegimeUpdates();
        foreach (var bar in bars) Assert.Equal(InputOutcome.Accepted, tracker.AddBar(bar, updates));

        Assert.Equal(80, updates.Bars.Count);
        Assert.Equal(20, updates.Vectors.Count);               // bars 60..79
        Assert.Equal(bars[1].Start, updates.Vectors[0].WindowStart);
        Assert.Equal(bars[60].End, updates.Vectors[0].WindowEnd);
        Assert.All(updates.Vectors, v => Assert.Equal(15, v.Values.Length));
        Assert.All(updates.Vectors, v => Assert.All(v.Values, x => Assert.True(float.IsFinite(x))));
        Assert.Equal(15, updates.Outcomes.Count(o => o.Horizon == 5)); // windows 60..74
        Assert.DoesNotContain(updates.Outcomes, o => o.Horizon == 20);  // none has 20 bars after it yet

        var expected = new RegimeVectorizer(RegimeFeatureSet.Default).Compute(bars.GetRange(19, 61).ToArray(), out _);
        Assert.Equal(expected, updates.Vectors.Single(v => v.BarIndex == 79).Values);
    }

    [Fact]
    public void Ticks_ThroughTheTracker_BecomeBarsAndVectors()
    {
        var set = new RegimeFeatureSet { Window = 4, ReturnHorizons = [1, 4], VolatilityHorizons = [2], ShortHorizon = 2, OutcomeHorizons = [1] };
        var tracker = new RegimeTracker("THB", set, TimeSpan.FromMinutes(15));
        var updates = new RegimeUpdates();
        using var reader = TickReader.Open(Fixture("usdthb-shape.csv"));
        int rejected = 0;
        foreach (var tick in reader.ReadAll())
            if (tracker.AddTick(tick, updates) != InputOutcome.Accepted) rejected++;
        tracker.AdvanceTo(long.MaxValue, updates);

        Assert.Equal(0, rejected);
        // 09:00, 09:15, 09:30, 09:45, 10:00, 10:15, 10:30, 10:45 (the zero ask and the late tick were rejected by the reader)
        Assert.Equal(8, updates.Bars.Count);
        Assert.Equal(T(1998, 1, 2, 10, 45), updates.Bars[^1].Start);
        Assert.Equal(4, updates.Vectors.Count);
        Assert.Equal(3, updates.Outcomes.Count);
    }

    [Fact]
    public void SavedAndRestored_MidStream_ContinuesIdentically()
    {
        var set = new RegimeFeatureSet { Window = 5, ReturnHorizons = [1, 5], VolatilityHorizons = [2], ShortHorizon = 2, OutcomeHorizons = [2, 7] };
        var policy = new OutOfOrderPolicy(TimeSpan.FromSeconds(20));
        var rng = new Random(5);
        var ticks = new List<Tick>();
        long t = T(2024, 6, 3, 9, 0);
        double p = 50;
        for (int i = 0; i < 600; i++)
        {
            t += rng.Next(1, 15) * TimeSpan.TicksPerSecond;
            p *= Math.Exp(0.002 * TestData.Gaussian(rng));
            long jitter = rng.Next(0, 10) * TimeSpan.TicksPerSecond; // some ticks arrive a little late
            ticks.Add(new Tick(t - jitter, p, rng.Next(1, 5)));
        }

        var original = new RegimeTracker("M", set, TimeSpan.FromMinutes(1), policy);
        var discard = new RegimeUpdates();
        foreach (var tick in ticks.Take(300)) original.AddTick(tick, discard);
        Assert.True(original.Aggregator.OpenBarCount > 0);

        using var saved = new MemoryStream();
        original.WriteTo(saved);
        saved.Position = 0;
        var restored = RegimeTracker.ReadFrom(saved);
        long barsBefore = original.BarCount;
        Assert.Equal(original.BarCount, restored.BarCount);

        var a = new RegimeUpdates();
        var b = new RegimeUpdates();
        foreach (var tick in ticks.Skip(300))
            Assert.Equal(original.AddTick(tick, a), restored.AddTick(tick, b));
        original.AdvanceTo(long.MaxValue, a);
        restored.AdvanceTo(long.MaxValue, b);

        Assert.NotEmpty(a.Vectors);
        Assert.Equal(a.Bars, b.Bars);
        Assert.Equal(a.Vectors.Select(v => (v.Id, v.BarIndex, v.WindowStart, v.WindowEnd, v.WindowVolatility)), b.Vectors.Select(v => (v.Id, v.BarIndex, v.WindowStart, v.WindowEnd, v.WindowVolatility)));
        Assert.Equal(a.Vectors.SelectMany(v => v.Values), b.Vectors.SelectMany(v => v.Values));
        Assert.Equal(a.Outcomes, b.Outcomes);
        Assert.Contains(a.Outcomes, o => o.Horizon == 7 && o.BarIndex < barsBefore); // outcomes of windows from before the restore
    }

    [Fact]
    public void DamagedState_IsRefused()
    {
        var tracker = new RegimeTracker("M", RegimeFeatureSet.Default, TimeSpan.FromDays(1));
        using var saved = new MemoryStream();
        tracker.WriteTo(saved);
        var bytes = saved.ToArray();
        Assert.Throws<InvalidDataException>(() => RegimeTracker.ReadFrom(new MemoryStream(bytes[..^3])));
        bytes[0] ^= 1;
        Assert.Throws<InvalidDataException>(() => RegimeTracker.ReadFrom(new MemoryStream(bytes)));
    }

    [Fact]
    public void PointIds_AreStablePerMarketAndWindowEnd()
    {
        var id = RegimePoints.IdFor("SPX", T(2020, 4, 17));
        Assert.Equal(id, RegimePoints.IdFor("SPX", T(2020, 4, 17)));
        Assert.True(id.IsNumber);
        Assert.NotEqual(id, RegimePoints.IdFor("SPX", T(2020, 4, 18)));
        Assert.NotEqual(id, RegimePoints.IdFor("SPY", T(2020, 4, 17)));
        Assert.NotEqual(RegimePoints.IdFor("AB", 0), RegimePoints.IdFor("A", 'B'));
        var ids = Enumerable.Range(0, 10_000).Select(i => RegimePoints.IdFor("M" + (i % 10), i / 10)).ToHashSet();
        Assert.Equal(10_000, ids.Count);
    }

    [Fact]
    public void Payload_CarriesMarketWindowAndNullOutcomes_AndOutcomesFillThem()
    {
        var vector = new RegimeVector("SPX", 79, T(2000, 1, 4), T(2000, 4, 27), 1460.99, 0.0123, new float[15]);
        using var doc = JsonDocument.Parse(RegimePoints.Payload(vector, RegimeFeatureSet.Default));
        var root = doc.RootElement;
        Assert.Equal("SPX", root.GetProperty("market").GetString());
        Assert.Equal(79, root.GetProperty("bar").GetInt64());
        Assert.Equal("2000-01-04T00:00:00Z", root.GetProperty("window_start").GetString());
        Assert.Equal("2000-04-27T00:00:00Z", root.GetProperty("window_end").GetString());
        Assert.Equal(956793600, root.GetProperty("window_end_unix").GetInt64());
        Assert.Equal(1460.99, root.GetProperty("close").GetDouble());
        Assert.Equal(0.0123, root.GetProperty("window_vol").GetDouble());
        Assert.Equal(RegimeFeatureSet.Default.Id, root.GetProperty("feature_set").GetString());
        foreach (string key in new[] { "fwd_ret_5", "fwd_vol_5", "fwd_ret_20", "fwd_vol_20" })
            Assert.Equal(JsonValueKind.Null, root.GetProperty(key).ValueKind);

        using var outcome = JsonDocument.Parse(RegimePoints.OutcomePayload(new OutcomeUpdate(79, T(2000, 4, 27), 5, -0.02, 0.011)));
        Assert.Equal(-0.02, outcome.RootElement.GetProperty("fwd_ret_5").GetDouble());
        Assert.Equal(0.011, outcome.RootElement.GetProperty("fwd_vol_5").GetDouble());
        Assert.Equal(2, outcome.RootElement.EnumerateObject().Count());
    }
}
