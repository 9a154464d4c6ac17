using VLink.Core.Ingest;
using VLink.Core.Regimes;
using static VLink.Core.Tests.Ingest.MarketFiles;

namespace VLink.Core.Tests.Regimes;

public class BarAggregatorTests
{
    private static Tick At(int h, int m, int s, double price, double? size = null) => new(T(2024, 5, 6, h, m, s), price, size);

    [Fact]
    public void Ticks_FormBarsOnUtcMinuteBoundaries_ClosedByTheFirstTickAtOrAfterTheirEnd()
    {
        var agg = new BarAggregator(TimeSpan.FromMinutes(1));
        var closed = new List<Bar>();

        Assert.Equal(InputOutcome.Accepted, agg.Add(At(10, 0, 5, 100, 1), closed));
        agg.Add(At(10, 0, 30, 102, 2), closed);
        agg.Add(At(10, 0, 59, 99.5), closed);
        agg.Add(At(10, 0, 59, 101), closed); // same time: the later arrival closes the bar
        Assert.Empty(closed);
        Assert.Equal(1, agg.OpenBarCount);

        agg.Add(At(10, 1, 0, 103, 1), closed);
        Assert.Equal([new Bar(T(2024, 5, 6, 10, 0), T(2024, 5, 6, 10, 1), 100, 102, 99.5, 101, 3)], closed);

        closed.Clear();
        agg.Add(At(10, 3, 10, 98), closed); // 10:02 had no ticks: no bar
        Assert.Equal([new Bar(T(2024, 5, 6, 10, 1), T(2024, 5, 6, 10, 2), 103, 103, 103, 103, 1)], closed);

        closed.Clear();
        agg.AdvanceTo(long.MaxValue, closed);
        Assert.Equal([new Bar(T(2024, 5, 6, 10, 3), T(2024, 5, 6, 10, 4), 98, 98, 98, 98, null)], closed);
        Assert.Equal(0, agg.OpenBarCount);
    }

    [Fact]
    public void StrictPolicy_RejectsAnyTickBehindTheWatermark()
    {
        var agg = new BarAggregator(TimeSpan.FromMinutes(1));
        var closed = new List<Bar>();
        agg.Add(At(10, 0, 30, 100), closed);
        Assert.Equal(InputOutcome.TimeBackwards, agg.Add(At(10, 0, 29, 101), closed));
        Assert.Equal(InputOutcome.Accepted, agg.Add(At(10, 0, 30, 102), closed));
        agg.AdvanceTo(long.MaxValue, closed);
        Assert.Equal(102, Assert.Single(closed).Close);
        Assert.Equal(100, closed[0].Open);
    }

    [Fact]
    public void Tolerance_KeepsBarsOpenForLateTicks_AndRejectsOlderOnes()
    {
        var agg = new BarAggregator(TimeSpan.FromMinutes(1), new OutOfOrderPolicy(TimeSpan.FromSeconds(30)));
        var closed = new List<Bar>();
        agg.Add(At(10, 0, 20, 100), closed);
        agg.Add(At(10, 1, 10, 105), closed);                      // watermark 10:01:10; the 10:00 bar stays open until 10:01:30
        Assert.Empty(closed);
        Assert.Equal(InputOutcome.Accepted, agg.Add(At(10, 0, 50, 97), closed));      // 20 s late: into the 10:00 bar, as its close
        Assert.Equal(InputOutcome.Accepted, agg.Add(At(10, 0, 41, 96), closed));      // 29 s late
        Assert.Equal(InputOutcome.TimeBackwards, agg.Add(At(10, 0, 39, 90), closed)); // 31 s late: rejected
        agg.Add(At(10, 1, 29, 106), closed);
        Assert.Empty(closed);
        agg.Add(At(10, 1, 30, 107), closed);                       // watermark reaches 10:01 + 30 s
        Assert.Equal([new Bar(T(2024, 5, 6, 10, 0), T(2024, 5, 6, 10, 1), 100, 100, 96, 97, null)], closed);
        Assert.Equal(InputOutcome.TimeBackwards, agg.Add(At(10, 0, 59, 90), closed));
    }

    [Fact]
    public void LateTick_EarlierThanTheOpen_BecomesTheOpen()
    {
        var agg = new BarAggregator(TimeSpan.FromMinutes(5), new OutOfOrderPolicy(TimeSpan.FromMinutes(1)));
        var closed = new List<Bar>();
        agg.Add(At(9, 0, 40, 10), closed);
        agg.Add(At(9, 0, 10, 11), closed);
        agg.AdvanceTo(long.MaxValue, closed);
        Assert.Equal((11d, 10d), (closed[0].Open, closed[0].Close));
    }

    [Fact]
    public void InvalidTicks_AreRefusedWithoutChangingState()
    {
        var agg = new BarAggregator(TimeSpan.FromMinutes(1));
        var closed = new List<Bar>();
        Assert.Equal(InputOutcome.Invalid, agg.Add(At(10, 0, 0, 0), closed));
        Assert.Equal(InputOutcome.Invalid, agg.Add(At(10, 0, 0, double.NaN), closed));
        Assert.Equal(InputOutcome.Invalid, agg.Add(At(10, 0, 0, 1, -1), closed));
        Assert.Equal(long.MinValue, agg.Watermark);
        Assert.Equal(0, agg.OpenBarCount);
    }

    [Fact]
    public void DailyBars_StartAtUtcMidnight()
    {
        var agg = new BarAggregator(TimeSpan.FromDays(1));
        var closed = new List<Bar>();
        agg.Add(new Tick(T(2020, 1, 2, 23, 59, 59), 5), closed);
        agg.Add(new Tick(T(2020, 1, 3), 6), closed);
        Assert.Equal((T(2020, 1, 2), T(2020, 1, 3)), (closed[0].Start, closed[0].End));
    }

    [Fact]
    public void Bars_PassStraightThrough_InOrderOnly()
    {
        var agg = new BarAggregator(TimeSpan.FromDays(1));
        var closed = new List<Bar>();
        var b1 = new Bar(T(2020, 1, 2), T(2020, 1, 3), 10, 11, 9, 10.5, 100);
        var b2 = b1 with { Start = T(2020, 1, 3), End = T(2020, 1, 4) };
        Assert.Equal(InputOutcome.Accepted, agg.AddBar(b1, closed));
        Assert.Equal(InputOutcome.TimeBackwards, agg.AddBar(b1, closed));
        Assert.Equal(InputOutcome.Invalid, agg.AddBar(b2 with { High = 10 }, closed)); // high below close
        Assert.Equal(InputOutcome.Accepted, agg.AddBar(b2, closed));
        Assert.Equal([b1, b2], closed);
    }
}
