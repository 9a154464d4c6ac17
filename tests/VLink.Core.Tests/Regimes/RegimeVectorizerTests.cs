using VLink.Core.Ingest;
using VLink.Core.Regimes;
using static VLink.Core.Tests.Ingest.MarketFiles;

namespace VLink.Core.Tests.Regimes;

public class RegimeVectorizerTests
{
    private static readonly RegimeFeatureSet Small = new()
    {
        Window = 6,
        ReturnHorizons = [1, 3, 6],
        VolatilityHorizons = [2, 4],
        ShortHorizon = 3,
        OutcomeHorizons = [1, 2],
    };

    // A short hand-made OHLCV series: 10 daily bars.
    private static readonly Bar[] Series =
    [
        Day(1, 100.0, 101.0, 99.0, 100.0, 1000),
        Day(2, 100.0, 103.0, 99.5, 102.0, 1500),
        Day(3, 102.0, 102.5, 100.0, 101.0, 900),
        Day(4, 101.0, 105.0, 100.5, 104.5, 2500),
        Day(5, 104.5, 106.0, 103.0, 103.5, 1200),
        Day(6, 103.5, 104.0, 97.0, 98.0, 4000),
        Day(7, 98.0, 99.5, 96.0, 99.0, 3000),
        Day(8, 99.0, 101.0, 98.5, 100.5, 1100),
        Day(9, 100.5, 100.8, 99.2, 99.6, 800),
        Day(10, 99.6, 103.0, 99.6, 102.9, 2100),
    ];

    private static Bar Day(int d, double o, double h, double l, double c, double? v) => new(T(2024, 1, d), T(2024, 1, d + 1), o, h, l, c, v);

    [Fact]
    public void FeatureNames_AreStable_AndMatchTheDimension()
    {
        Assert.Equal(
            ["ret_1", "ret_3", "ret_6", "vol_2", "vol_4", "vol_of_vol", "skew", "kurtosis", "drawdown", "trend", "autocorr", "range", "volume_z", "volume_trend"],
            Small.Features.Select(f => f.Name));
        Assert.Equal(14, Small.Dimension);
        Assert.Equal(15, RegimeFeatureSet.Default.Dimension);
        Assert.All(RegimeFeatureSet.Default.Features, f => Assert.DoesNotContain('\n', f.Description));
    }

    [Fact]
    public void EveryFeature_MatchesTheReference_OnEveryWindowOfAShortSeries()
    {
        var vectorizer = new RegimeVectorizer(Small);
        var names = Small.Features.Select(f => f.Name).ToArray();
        for (int end = Small.Window; end < Series.Length; end++)
        {
            var window = Series[(end - Small.Window)..(end + 1)];
            var values = vectorizer.Compute(window, out double sigma);
            var expected = Reference.Features(window, Small.Window, [1, 3, 6], [2, 4], 3);
            for (int i = 0; i < names.Length; i++)
                Assert.True(Math.Abs(values[i] - expected[names[i]]) <= 1e-5 * Math.Max(1, Math.Abs(expected[names[i]])),
                    $"window ending at bar {end}: {names[i]} = {values[i]}, expected {expected[names[i]]}");
            Assert.Equal(Math.Sqrt(Enumerable.Range(1, 6).Sum(i => Math.Pow(Math.Log(window[i].Close / window[i - 1].Close), 2)) / 6), sigma, 12);
        }
    }

    [Fact]
    public void Zigzag_HandComputed()
    {
        // closes 100, 100e^a, 100, ... : returns +a, −a, +a, −a, +a, −a; no range, no volume
        const double a = 0.01;
        var bars = Enumerable.Range(0, 7)
            .Select(j => { double c = 100 * Math.Exp(j % 2 == 1 ? a : 0); return new Bar(T(2024, 2, j + 1), T(2024, 2, j + 2), c, c, c, c); })
            .ToArray();
        var values = new RegimeVectorizer(Small).Compute(bars, out double sigma);
        var f = Small.Features.Select((x, i) => (x.Name, Value: (double)values[i])).ToDictionary(p => p.Name, p => p.Value);

        Assert.Equal(a, sigma, 12);
        Assert.Equal(-1, f["ret_1"], 6);
        Assert.Equal(-1 / Math.Sqrt(3), f["ret_3"], 6);
        Assert.Equal(0, f["ret_6"], 6);
        Assert.Equal(0, f["vol_2"], 6);
        Assert.Equal(0, f["vol_4"], 6);
        Assert.Equal(0, f["vol_of_vol"], 6);
        Assert.Equal(0, f["skew"], 6);
        Assert.Equal(Math.Log(1.0 / 3), f["kurtosis"], 6);
        Assert.Equal(-1 / Math.Sqrt(6), f["drawdown"], 6);
        Assert.Equal(0, f["trend"], 6);
        Assert.Equal(-5.0 / 6, f["autocorr"], 6);
        Assert.Equal(0, f["range"]);
        Assert.Equal(0, f["volume_z"]);
        Assert.Equal(0, f["volume_trend"]);
    }

    [Fact]
    public void SteadyGrowth_HasMaximalTrend_AndNoDrawdown()
    {
        var bars = Enumerable.Range(0, 7).Select(j => { double c = 50 * Math.Pow(1.02, j); return new Bar(T(2024, 3, j + 1), T(2024, 3, j + 2), c, c, c, c); }).ToArray();
        var values = new RegimeVectorizer(Small).Compute(bars, out _);
        var f = Small.Features.Select((x, i) => (x.Name, Value: (double)values[i])).ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal(Math.Asinh(100), f["trend"], 5); // a perfect line: the clamp
        Assert.Equal(0, f["drawdown"]);
        Assert.Equal(1, f["ret_1"], 6);
        Assert.Equal(Math.Sqrt(6), f["ret_6"], 6); // 6 equal returns over σ·√6
        Assert.Equal(0, f["skew"]); // no spread in the returns: defined as 0
    }

    [Fact]
    public void Features_IgnorePriceLevelAndVolatilityScale()
    {
        // P' = c·P^k multiplies every log return (and log range) by k and the level by c: a standardised vector is unchanged.
        var rng = new Random(11);
        var set = RegimeFeatureSet.Default;
        var bars = new Bar[set.Window + 1];
        double p = 100;
        for (int i = 0; i < bars.Length; i++)
        {
            double o = p;
            p *= Math.Exp(0.01 * TestData.Gaussian(rng));
            double h = Math.Max(o, p) * (1 + 0.004 * rng.NextDouble()), l = Math.Min(o, p) * (1 - 0.004 * rng.NextDouble());
            bars[i] = new Bar(T(2023, 1, 1) + i * TimeSpan.TicksPerDay, T(2023, 1, 2) + i * TimeSpan.TicksPerDay, o, h, l, p, 1000 + rng.Next(500));
        }
        static Bar Scale(Bar b) => b with { Open = 7 * Math.Pow(b.Open, 3), High = 7 * Math.Pow(b.High, 3), Low = 7 * Math.Pow(b.Low, 3), Close = 7 * Math.Pow(b.Close, 3) };

        var vectorizer = new RegimeVectorizer(set);
        var a = vectorizer.Compute(bars, out double sa);
        var b = vectorizer.Compute(bars.Select(Scale).ToArray(), out double sb);
        Assert.Equal(3 * sa, sb, 10);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"{set.Features[i].Name}: {a[i]} vs {b[i]}");
        Assert.Contains(a, x => Math.Abs(x) > 0.1);
    }

    [Fact]
    public void FlatWindow_GivesTheZeroVector()
    {
        var bars = Enumerable.Range(0, 7).Select(j => new Bar(T(2024, 4, j + 1), T(2024, 4, j + 2), 5, 5, 5, 5, 100 * j)).ToArray();
        var values = new RegimeVectorizer(Small).Compute(bars, out double sigma);
        Assert.Equal(0, sigma);
        Assert.All(values, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void WrongWindowLength_IsRefused()
    {
        var vectorizer = new RegimeVectorizer(Small);
        Assert.Throws<ArgumentException>(() => vectorizer.Compute(Series[..6], out _));
        Assert.Throws<ArgumentException>(() => vectorizer.Compute(Series[..7], new float[3]));
    }
}

public class RegimeFeatureSetTests
{
    [Fact]
    public void Id_RoundTrips_AndDefinesEquality()
    {
        var d = RegimeFeatureSet.Default;
        Assert.Equal("regime-v1:w60:r1,5,20,60:v5,20:q5:o5,20", d.Id);
        var parsed = RegimeFeatureSet.Parse(d.Id);
        Assert.Equal(d, parsed);
        Assert.Equal(d.GetHashCode(), parsed.GetHashCode());
        var custom = new RegimeFeatureSet { Window = 30, ReturnHorizons = [1, 10], VolatilityHorizons = [], ShortHorizon = 3, OutcomeHorizons = [] };
        Assert.Equal("regime-v1:w30:r1,10:v:q3:o", custom.Id);
        Assert.Equal(custom, RegimeFeatureSet.Parse(custom.Id));
        Assert.NotEqual(d, custom);
    }

    [Theory]
    [InlineData("regime-v2:w60:r1:v5:q5:o5", "Version")]
    [InlineData("regime-v1:w2:r1:v:q1:o", "Window")]
    [InlineData("regime-v1:w60:r1,61:v5:q5:o5", "ReturnHorizons")]
    [InlineData("regime-v1:w60:r5,1:v5:q5:o5", "ReturnHorizons")]
    [InlineData("regime-v1:w60:r:v5:q5:o5", "ReturnHorizons")]
    [InlineData("regime-v1:w60:r1:v60:q5:o5", "VolatilityHorizons")]
    [InlineData("regime-v1:w60:r1:v5:q0:o5", "ShortHorizon")]
    [InlineData("regime-v1:w60:r1:v5:q5:o0", "OutcomeHorizons")]
    public void Validate_NamesTheBadSetting(string id, string setting)
    {
        var e = Assert.Throws<ArgumentException>(() => RegimeFeatureSet.Parse(id));
        Assert.Equal(setting, e.ParamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("regime-v1:w60")]
    [InlineData("regime-v1:w60:r1:v5:q5,6:o5")]
    [InlineData("regime-v1:x60:r1:v5:q5:o5")]
    [InlineData("regime-v1:w6x:r1:v5:q5:o5")]
    public void Parse_RefusesMalformedIds(string id) => Assert.Throws<FormatException>(() => RegimeFeatureSet.Parse(id));
}
