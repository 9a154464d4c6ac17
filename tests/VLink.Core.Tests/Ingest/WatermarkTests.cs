using VLink.Core.Ingest;

namespace VLink.Core.Tests.Ingest;

public class WatermarkTests
{
    [Fact]
    public void RetriedBatch_AppliesOnce()
    {
        var marks = new IngestWatermarks();
        long[] batch = [3, 5, 9];
        var first = marks.Plan("feed", batch);
        Assert.Equal(new WatermarkPlan(0, 3, 2), first); // 1 and 2 were never seen
        marks.Advance("feed", batch[^1]);

        var retry = marks.Plan("feed", batch);
        Assert.True(retry.Duplicate);
        Assert.Equal(3, retry.Skip);
    }

    [Fact]
    public void OverlappingBatch_AppliesOnlyItsNewTail()
    {
        var marks = new IngestWatermarks();
        marks.Advance("f.csv", 10);
        Assert.Equal(new WatermarkPlan(2, 3, 0), marks.Plan("f.csv", 9, 5));   // 9, 10 applied; 11..13 new
        Assert.Equal(new WatermarkPlan(0, 2, 4), marks.Plan("f.csv", 15, 2));  // 11..14 missing
        Assert.Equal(new WatermarkPlan(2, 1, 0), marks.Plan("f.csv", [4, 10, 11]));
        Assert.Equal(new WatermarkPlan(0, 3, 0), marks.Plan("other.csv", 1, 3)); // producers are independent
    }

    [Fact]
    public void Advance_NeverMovesBack_AndEntriesRestore()
    {
        var marks = new IngestWatermarks();
        marks.Advance("a", 7);
        marks.Advance("a", 5);
        marks.Advance("b", 2);
        Assert.Equal(7, marks["a"]);

        var restored = new IngestWatermarks(marks.Entries);
        Assert.Equal(7, restored["a"]);
        Assert.Equal(2, restored["b"]);
        Assert.Equal(0, restored["c"]);
        Assert.True(restored.Plan("a", 6, 2).Duplicate);
    }

    [Fact]
    public void BadSequences_AreRefused()
    {
        var marks = new IngestWatermarks();
        Assert.Throws<ArgumentException>(() => marks.Plan("a", [2, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => marks.Plan("a", [0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => marks.Plan("a", 0, 1));
    }
}
