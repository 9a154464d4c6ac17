using VLink.Core.Ingest;
using VLink.Core.Regimes;
using VLink.Core.Tests.Ingest;
using Xunit.Abstractions;

namespace VLink.Core.Tests.Regimes;

public class SharedDataRegimeTests(ITestOutputHelper output)
{
    [SharedDataFact]
    public void Sp500Daily_EveryVectorFinite_EveryOutcomeFilledOnceItsHorizonClosed()
    {
        using var reader = BarReader.Open(Path.Combine(MarketFiles.SharedData!, "sp500-daily.csv"));
        var set = RegimeFeatureSet.Default;
        var tracker = new RegimeTracker("SPX", set, TimeSpan.FromDays(1));
        var updates = new RegimeUpdates();
        foreach (var bar in reader.ReadAll()) tracker.AddBar(bar, updates);

        Assert.Equal(5105 - 60, updates.Vectors.Count);
        Assert.Equal(5105 - 60 - 5, updates.Outcomes.Count(o => o.Horizon == 5));
        Assert.Equal(5105 - 60 - 20, updates.Outcomes.Count(o => o.Horizon == 20));
        Assert.All(updates.Vectors, v => Assert.All(v.Values, x => Assert.True(float.IsFinite(x))));
        for (int i = 0; i < set.Dimension; i++)
        {
            var column = updates.Vectors.Select(v => (double)v.Values[i]).Order().ToArray();
            output.WriteLine($"{set.Features[i].Name,-14} p1 {column[column.Length / 100],8:F3}  median {column[column.Length / 2],8:F3}  p99 {column[column.Length * 99 / 100],8:F3}");
        }
    }
}
