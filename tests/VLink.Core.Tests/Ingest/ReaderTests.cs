using VLink.Core.Ingest;
using static VLink.Core.Tests.Ingest.MarketFiles;

namespace VLink.Core.Tests.Ingest;

public class FixtureFileTests
{
    [Fact]
    public void Sp500Excerpt_ReadsEveryOhlcvBar_IgnoringAdjustedClose()
    {
        using var reader = BarReader.Open(Fixture("sp500-excerpt.csv"));
        var bars = reader.ReadAll().ToList();

        Assert.Equal(80, bars.Count);
        Assert.False(reader.CloseOnly);
        Assert.Equal(new Bar(T(2000, 1, 3), T(2000, 1, 4), 1469.25, 1478.0, 1438.359985, 1455.219971, 931800000), bars[0]);
        Assert.Equal(new Bar(T(2000, 4, 26), T(2000, 4, 27), 1477.439941, 1482.939941, 1456.97998, 1460.98999, 999600000), bars[^1]);
        var s = reader.Summary;
        Assert.Equal(("sp500-excerpt.csv", 80L, 80L, 0L), (s.Source, s.RowsRead, s.Accepted, s.Rejected));
        Assert.Empty(s.Errors);
    }

    [Fact]
    public void CloseOnlyIntradaySeries_QuotedHeaderAndTimes_GiveFlatBarsOfTheConfiguredInterval()
    {
        using var reader = BarReader.Open(Fixture("usdchf-shape.csv"), new MarketFileOptions { BarInterval = TimeSpan.FromMinutes(30) });
        var bars = reader.ReadAll().ToList();

        Assert.True(reader.CloseOnly);
        Assert.Equal(48, bars.Count);
        Assert.Equal(T(1999, 3, 1, 0, 30), bars[1].Start);
        Assert.Equal(T(1999, 3, 1, 1, 0), bars[1].End);
        Assert.All(bars, b => Assert.True(b.Open == b.Close && b.High == b.Close && b.Low == b.Close && b.Volume is null));
        Assert.Equal(1.2003, bars[1].Close);
    }

    [Fact]
    public void CloseOnlySeries_ReadAsTicks_WhenThePriceColumnIsNamed()
    {
        using var reader = TickReader.Open(Fixture("usdchf-shape.csv"), new MarketFileOptions { PriceColumn = "usdchf" });
        var ticks = reader.ReadAll().ToList();
        Assert.Equal(48, ticks.Count);
        Assert.Equal(new Tick(T(1999, 3, 1), 1.1997), ticks[0]);
    }

    [Fact]
    public void BidAskTicks_TakeTheMid_RejectAZeroAskAndALateTick_WithLinesAndReasons()
    {
        using var reader = TickReader.Open(Fixture("usdthb-shape.csv"));
        var ticks = reader.ReadAll().ToList();

        Assert.Equal(13, ticks.Count);
        Assert.Equal(new Tick(T(1998, 1, 2, 9, 0), (36.05 + 36.25) / 2, null, 36.05, 36.25), ticks[0]);
        var errors = reader.Errors;
        Assert.Equal(2, errors.Count);
        Assert.Equal((8L, RowErrorKind.NonPositivePrice), (errors[0].Line, errors[0].Kind));
        Assert.Contains("ASK", errors[0].Detail);
        Assert.Equal((11L, RowErrorKind.TimeBackwards), (errors[1].Line, errors[1].Kind));
        Assert.StartsWith("usdthb-shape.csv:11: TimeBackwards:", errors[1].ToString());
        var s = reader.Summary;
        Assert.Equal((15L, 13L, 2L), (s.RowsRead, s.Accepted, s.Rejected));
        Assert.Equal(1, s.RejectedFor(RowErrorKind.NonPositivePrice));
        Assert.Equal(1, s.RejectedFor(RowErrorKind.TimeBackwards));
        Assert.Equal(0, s.RejectedFor(RowErrorKind.UnparseableNumber));
    }

    [Fact]
    public void LateTick_WithinTheTolerance_IsAccepted()
    {
        var options = new MarketFileOptions { OutOfOrder = new OutOfOrderPolicy(TimeSpan.FromMinutes(15)) };
        using var reader = TickReader.Open(Fixture("usdthb-shape.csv"), options);
        var ticks = reader.ReadAll().ToList();
        Assert.Equal(14, ticks.Count);
        Assert.Contains(ticks, t => t.Time == T(1998, 1, 2, 9, 40));
        Assert.Equal(RowErrorKind.NonPositivePrice, Assert.Single(reader.Errors).Kind);
    }

    [Fact]
    public void SeveralSeries_MustBeChosenByName()
    {
        var e = Assert.Throws<InvalidDataException>(() => BarReader.Open(Fixture("goldsilver-shape.csv")).ReadAll().ToList());
        Assert.Contains("'gold'", e.Message);
        Assert.Contains("'silver'", e.Message);

        using var reader = BarReader.Open(Fixture("goldsilver-shape.csv"), new MarketFileOptions { PriceColumn = "Silver" });
        var bars = reader.ReadAll().ToList();
        Assert.Equal(30, bars.Count);
        Assert.Equal(504.49, bars[0].Close);
        Assert.Equal(T(1990, 1, 2), bars[1].Start);

        var missing = Assert.Throws<InvalidDataException>(() => BarReader.Open(Fixture("goldsilver-shape.csv"), new MarketFileOptions { PriceColumn = "platinum" }).ReadAll().ToList());
        Assert.Contains("platinum", missing.Message);
    }

    [Fact]
    public void DecimalYearIndex_WithoutAFinalNewline_ReadsEveryRow()
    {
        using var reader = BarReader.Open(Fixture("eustock-shape.csv"), new MarketFileOptions { PriceColumn = "FTSE" });
        var bars = reader.ReadAll().ToList();
        Assert.Equal(20, bars.Count);
        Assert.Equal(T(1992, 1, 1), bars[0].Start);
        // 1992.0038462: that share of a 366-day year, to the millisecond
        Assert.InRange(bars[1].Start - T(1992, 1, 1) - 0.0038462 * 366 * TimeSpan.TicksPerDay, -1e4, 1e4);
        Assert.Equal(2400.31, bars[1].Close);
        Assert.Equal(0, reader.Summary.Rejected);
    }
}

public class DamagedFileTests
{
    private const string Damaged =
        "date,open,high,low,close,adjclose,volume\r\n" +
        "2020-01-02,100,105,99,104,104,1000\r\n" +              // 2 ok
        "2020-01-03,104,106,x103,105,105,1100\r\n" +           // 3 bad number
        "2020-01-06,105,107,104\r\n" +                          // 4 missing columns
        "\r\n" +                                                // 5 blank: not a row
        "2020-01-07,106,108,0,107,107,1200\r\n" +               // 6 non-positive low
        "2020-13-08,106,108,105,107,107,1200\r\n" +             // 7 bad time (month 13)
        "2020-01-08,106,108,105,109,109,1200\r\n" +             // 8 high below close
        "2020-01-09,107,110,106,109,109,-5\r\n" +               // 9 negative volume
        "2020-01-09,107,110,106,109,109,1300\r\n" +             // 10 ok
        "2020-01-08,107,110,106,109,109,1300\r\n" +             // 11 backwards
        "2020-01-09,107,110,106,109,109,1300\r\n" +             // 12 same start again: backwards
        "\"2020-01-10\",\"109\",\"111\",\"108\",\"110\",,\r\n" + // 13 ok, quoted, no volume
        "2020-01-13,110,112,109,1";                              // 14 truncated last line: missing columns

    private static void AssertErrors(MarketFileReader<Bar> reader)
    {
        var expected = new (long Line, RowErrorKind Kind)[]
        {
            (3, RowErrorKind.UnparseableNumber), (4, RowErrorKind.MissingField), (6, RowErrorKind.NonPositivePrice),
            (7, RowErrorKind.UnparseableTime), (8, RowErrorKind.InvalidValue), (9, RowErrorKind.InvalidValue),
            (11, RowErrorKind.TimeBackwards), (12, RowErrorKind.TimeBackwards), (14, RowErrorKind.MissingField),
        };
        Assert.Equal(expected, reader.Errors.Select(e => (e.Line, e.Kind)));
        Assert.Contains("'low'", reader.Errors[0].Detail);
        Assert.Contains("x103", reader.Errors[0].Detail);
        Assert.Contains("'low'", reader.Errors[2].Detail);
        var s = reader.Summary;
        Assert.Equal((12L, 3L, 9L), (s.RowsRead, s.Accepted, s.Rejected));
        Assert.Equal(2, s.RejectedFor(RowErrorKind.MissingField));
        Assert.Equal(2, s.RejectedFor(RowErrorKind.TimeBackwards));
        Assert.False(s.ErrorsTruncated);
        Assert.Contains("3 accepted, 9 rejected", s.ToString());
    }

    [Fact]
    public void EveryBadRow_IsReportedWithItsLineAndReason_AndGoodRowsSurvive()
    {
        using var reader = new BarReader(Text(Damaged, bom: true), source: "damaged.csv");
        var bars = reader.ReadAll().ToList();
        Assert.Equal([T(2020, 1, 2), T(2020, 1, 9), T(2020, 1, 10)], bars.Select(b => b.Start));
        Assert.Equal(new Bar(T(2020, 1, 10), T(2020, 1, 11), 109, 111, 108, 110, null), bars[2]);
        AssertErrors(reader);
    }

    [Fact]
    public void ByteAtATime_AndAsync_GiveTheSameRowsAndErrors()
    {
        using var sync = new BarReader(new TrickleStream(Text(Damaged, bom: true), 1), source: "damaged.csv");
        var a = sync.ReadAll().ToList();
        AssertErrors(sync);

        using var async = new BarReader(new TrickleStream(Text(Damaged, bom: true), 3), source: "damaged.csv");
        var b = async.ReadAllAsync().ToBlockingEnumerable().ToList();
        Assert.Equal(a, b);
        AssertErrors(async);
    }

    [Fact]
    public void LastRowLine_NamesTheLineOfEachReturnedRow()
    {
        using var reader = new BarReader(Text(Damaged), source: "damaged.csv");
        var lines = new List<long>();
        while (reader.TryRead(out _)) lines.Add(reader.LastRowLine);
        Assert.Equal([2L, 10, 13], lines);
    }

    [Fact]
    public void GoodRows_AllocateNothingPerRow()
    {
        var sb = new System.Text.StringBuilder("time,price,size,bid,ask\n");
        for (int i = 0; i < 20_000; i++) sb.Append($"2021-06-01T{10 + i / 3600:D2}:{i / 60 % 60:D2}:{i % 60:D2}.5Z,101.25,3,101.2,101.3\n");
        var text = sb.ToString();
        using var warm = new TickReader(Text(text));
        while (warm.TryRead(out _)) { }

        using var reader = new TickReader(Text(text));
        long before = GC.GetAllocatedBytesForCurrentThread();
        int rows = 0;
        while (reader.TryRead(out _)) rows++;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, reader.Summary.Rejected);
        Assert.Equal(20_000, rows);
        Assert.True(allocated < 200_000, $"{allocated} bytes for {rows} rows"); // the header and the line buffer, not the rows
    }

    [Fact]
    public void ErrorDetails_AreCapped_ButEveryRejectionIsCounted()
    {
        var text = "time,price\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"2020-01-01,bad{i}\n"));
        using var reader = new TickReader(Text(text), options: new MarketFileOptions { MaxErrorsKept = 10 });
        Assert.Empty(reader.ReadAll());
        Assert.Equal(10, reader.Errors.Count);
        Assert.Equal(50, reader.Summary.Rejected);
        Assert.True(reader.Summary.ErrorsTruncated);
    }

    [Fact]
    public void TickCsv_QuotedFieldsWithDelimiters_NonFiniteNumbers_NegativeSize_CrossedQuote()
    {
        const string text =
            "timestamp,venue,price,size,bid,ask\n" +
            "2021-06-01T10:00:00Z,\"X, Y\",50.5,10,,\n" +        // 2 ok: the comma inside quotes is data
            "2021-06-01T10:00:01Z,\"unclosed,50.6,1,,\n" +      // 3 malformed
            "2021-06-01T10:00:02Z,A,NaN,1,,\n" +                 // 4 NaN is not a price
            "2021-06-01T10:00:03Z,A,50.7,-1,,\n" +               // 5 negative size
            "2021-06-01T10:00:04Z,A,,,50.9,50.8\n" +             // 6 bid above ask
            "2021-06-01T10:00:05Z,A,,,50.8,50.9\n" +             // 7 ok: mid of bid and ask
            "2021-06-01T12:00:06+02:00,A,-3,,,\n" +              // 8 negative price (time 10:00:06Z)
            "2021-06-01T10:00:07.5Z,A,50.8,,,\n" +               // 9 ok, fractional seconds
            "2021-06-01 10:00:07,A,,,,\n";                        // 10 no price, no quote
        using var reader = new TickReader(Text(text), source: "ticks.csv");
        var ticks = reader.ReadAll().ToList();

        Assert.Equal(
            [new Tick(T(2021, 6, 1, 10, 0, 0), 50.5, 10), new Tick(T(2021, 6, 1, 10, 0, 5), (50.8 + 50.9) / 2, null, 50.8, 50.9),
             new Tick(T(2021, 6, 1, 10, 0, 7) + TimeSpan.TicksPerSecond / 2, 50.8)],
            ticks);
        Assert.Equal(
            [(3L, RowErrorKind.Malformed), (4L, RowErrorKind.UnparseableNumber), (5L, RowErrorKind.InvalidValue), (6L, RowErrorKind.InvalidValue),
             (8L, RowErrorKind.NonPositivePrice), (10L, RowErrorKind.MissingField)],
            reader.Errors.Select(e => (e.Line, e.Kind)));
    }

    [Fact]
    public void Header_WithoutATimeOrPriceColumn_FailsNamingTheColumns()
    {
        var noTime = Assert.Throws<InvalidDataException>(() => new TickReader(Text("when,price\n1,2\n"), source: "f.csv").ReadAll().ToList());
        Assert.Contains("'when'", noTime.Message);
        Assert.StartsWith("f.csv:", noTime.Message);
        var noPrice = Assert.Throws<InvalidDataException>(() => new TickReader(Text("time,bid\n2020-01-01,2\n")).ReadAll().ToList());
        Assert.Contains("bid and ask", noPrice.Message);
    }

    [Fact]
    public void SemicolonAndTabDelimiters_AreDetectedFromTheHeader()
    {
        using var semi = new TickReader(Text("time;price\n2020-01-01;1.5\n"));
        Assert.Equal(1.5, Assert.Single(semi.ReadAll()).Price);
        using var tab = new TickReader(Text("time\tprice\n2020-01-01\t2.5\n"));
        Assert.Equal(2.5, Assert.Single(tab.ReadAll()).Price);
    }

    [Fact]
    public void EmptyFile_AndHeaderOnly_ReadNothing()
    {
        using var empty = new TickReader(Text(""));
        Assert.Empty(empty.ReadAll());
        using var header = new TickReader(Text("\uFEFFtime,price\r\n"));
        Assert.Empty(header.ReadAll());
        Assert.Equal(0, header.Summary.RowsRead);
    }
}

public class NdjsonTests
{
    [Fact]
    public void Ticks_FromObjects_WithStringOrNumberFieldsAndIgnoredKeys()
    {
        const string text =
            "{\"time\":\"2022-03-01T00:00:00Z\",\"price\":10.5,\"size\":2,\"venue\":{\"a\":1}}\n" +
            "{\"ts\":1646092801000,\"last\":\"10.6\",\"size\":null}\n" +            // epoch milliseconds, string number
            "{\"time\":1646092802,\"bid\":10.6,\"ask\":10.8}\n" +                  // epoch seconds, mid
            "{\"time\":\"2022-03-01T00:00:03Z\",\"price\":}\n" +                   // 4 broken JSON
            "[1,2]\n" +                                                             // 5 not an object
            "{\"time\":\"2022-03-01T00:00:04Z\"}\n" +                              // 6 no price
            "{\"time\":\"2022-03-01T00:00:05Z\",\"price\":true}\n" +               // 7 not a number
            "{\"time\":\"yesterday\",\"price\":1}\n" +                              // 8 bad time
            "{\"time\":\"2022-03-01T00:00:06Z\",\"price\":0}\n" +                  // 9 zero price
            "{\"time\":\"2022-03-01T00:00:07Z\",\"price\":11} {}\n" +              // 10 two values
            "{\"TIME\":\"2022-03-01T00:00:08Z\",\"Price\":11.5}";                  // 11 ok, keys any case, no final newline
        using var reader = new TickReader(Text(text), MarketFileFormat.Ndjson, "feed.ndjson");
        var ticks = reader.ReadAll().ToList();

        Assert.Equal(
            [new Tick(T(2022, 3, 1), 10.5, 2), new Tick(T(2022, 3, 1, 0, 0, 1), 10.6), new Tick(T(2022, 3, 1, 0, 0, 2), (10.6 + 10.8) / 2, null, 10.6, 10.8),
             new Tick(T(2022, 3, 1, 0, 0, 8), 11.5)],
            ticks);
        Assert.Equal(
            [(4L, RowErrorKind.Malformed), (5L, RowErrorKind.Malformed), (6L, RowErrorKind.MissingField), (7L, RowErrorKind.Malformed),
             (8L, RowErrorKind.UnparseableTime), (9L, RowErrorKind.NonPositivePrice), (10L, RowErrorKind.Malformed)],
            reader.Errors.Select(e => (e.Line, e.Kind)));
        Assert.Equal((11L, 4L, 7L), (reader.Summary.RowsRead, reader.Summary.Accepted, reader.Summary.Rejected));
    }

    [Fact]
    public void Bars_OhlcOrCloseOnly_AndInconsistentOnesRejected()
    {
        const string text =
            "{\"date\":\"2022-03-01\",\"open\":10,\"high\":12,\"low\":9,\"close\":11,\"volume\":500}\n" +
            "{\"date\":\"2022-03-02\",\"close\":11.5}\n" +                                     // close only
            "{\"date\":\"2022-03-03\",\"open\":11,\"high\":10,\"low\":9,\"close\":10}\n" +     // 3 high below open
            "{\"date\":\"2022-03-04\",\"open\":11,\"close\":10}\n";                            // 4 high and low missing
        using var reader = new BarReader(Text(text), MarketFileFormat.Ndjson, "bars.ndjson", new MarketFileOptions { BarInterval = TimeSpan.FromHours(24) });
        var bars = reader.ReadAll().ToList();
        Assert.Equal([new Bar(T(2022, 3, 1), T(2022, 3, 2), 10, 12, 9, 11, 500), new Bar(T(2022, 3, 2), T(2022, 3, 3), 11.5, 11.5, 11.5, 11.5)], bars);
        Assert.Equal([(3L, RowErrorKind.InvalidValue), (4L, RowErrorKind.MissingField)], reader.Errors.Select(e => (e.Line, e.Kind)));
    }

    [Fact]
    public void MultiMarketFeed_NamesEachRowsMarket_AndChecksTimeOrderPerMarket()
    {
        const string text =
            "{\"market\":\"EURUSD\",\"time\":\"2022-03-01T00:00:05Z\",\"price\":1.1}\n" +
            "{\"market\":\"GBPUSD\",\"time\":\"2022-03-01T00:00:01Z\",\"price\":1.3}\n" +  // behind EURUSD, but its own first
            "{\"symbol\":\"EURUSD\",\"time\":\"2022-03-01T00:00:04Z\",\"price\":1.2}\n" +  // 4 behind EURUSD's 00:05
            "{\"market\":\"EURUSD\",\"time\":\"2022-03-01T00:00:06Z\",\"price\":1.2}\n" +
            "{\"time\":\"2022-03-01T00:00:00Z\",\"price\":9}\n";                               // no market: its own order
        using var reader = new TickReader(Text(text), MarketFileFormat.Ndjson, "feed");
        var rows = new List<(string? Market, double Price)>();
        while (reader.TryRead(out var tick)) rows.Add((reader.LastRowMarket, tick.Price));

        Assert.Equal([("EURUSD", 1.1), ("GBPUSD", 1.3), ("EURUSD", 1.2), (null, 9.0)], rows);
        var error = Assert.Single(reader.Errors);
        Assert.Equal((3L, RowErrorKind.TimeBackwards), (error.Line, error.Kind));
        Assert.StartsWith("EURUSD:", error.Detail);
        Assert.Equal(T(2022, 3, 1, 0, 0, 6), reader.WatermarkOf("EURUSD"));
        Assert.Equal(T(2022, 3, 1, 0, 0, 6), reader.Watermark);
    }

    [Fact]
    public void MarketColumn_InCsv_IsInterned_AndRequiredOnEveryRow()
    {
        const string text = "symbol,date,close\nSPX,2020-01-02,3257.85\nNDX,2020-01-02,8872.22\nSPX,2020-01-03,3234.85\n,2020-01-06,1\n";
        using var reader = new BarReader(Text(text));
        var markets = new List<string?>();
        while (reader.TryRead(out _)) markets.Add(reader.LastRowMarket);
        Assert.Equal(["SPX", "NDX", "SPX"], markets);
        Assert.Same(markets[0], markets[2]);
        Assert.True(reader.CloseOnly);
        Assert.Equal((5L, RowErrorKind.MissingField), (reader.Errors[0].Line, reader.Errors[0].Kind));
    }

    [Fact]
    public void SingleMarketFiles_HaveNoRowMarket()
    {
        using var reader = BarReader.Open(Fixture("sp500-excerpt.csv"));
        Assert.True(reader.TryRead(out _));
        Assert.Null(reader.LastRowMarket);
    }

    [Fact]
    public void FormatOf_ChoosesByExtension()
    {
        Assert.Equal(MarketFileFormat.Ndjson, MarketFileOptions.FormatOf("a/b.ndjson"));
        Assert.Equal(MarketFileFormat.Ndjson, MarketFileOptions.FormatOf("b.JSONL"));
        Assert.Equal(MarketFileFormat.Csv, MarketFileOptions.FormatOf("b.csv"));
        Assert.Equal(MarketFileFormat.Csv, MarketFileOptions.FormatOf("b.txt"));
    }
}

public class MarketTimeTests
{
    [Theory]
    [InlineData("2020-02-29", 2020, 2, 29, 0, 0, 0)]
    [InlineData("2020/02/29", 2020, 2, 29, 0, 0, 0)]
    [InlineData("1996-04-01 00:30:00", 1996, 4, 1, 0, 30, 0)]
    [InlineData("1996-04-01T00:30", 1996, 4, 1, 0, 30, 0)]
    [InlineData("1996-04-01T02:30:00+02:00", 1996, 4, 1, 0, 30, 0)]
    [InlineData("1996-04-01T00:30:00-0130", 1996, 4, 1, 2, 0, 0)]
    [InlineData("1996-03-31T23:30:00-01", 1996, 4, 1, 0, 30, 0)]
    [InlineData("1996-04-01T00:30:00Z", 1996, 4, 1, 0, 30, 0)]
    [InlineData("  199706011928 ", 1997, 6, 1, 19, 28, 0)]
    [InlineData("19970601", 1997, 6, 1, 0, 0, 0)]
    [InlineData("19970601192845", 1997, 6, 1, 19, 28, 45)]
    [InlineData("1587081600", 2020, 4, 17, 0, 0, 0)]
    [InlineData("1587081600000", 2020, 4, 17, 0, 0, 0)]
    [InlineData("1991.5", 1991, 7, 2, 12, 0, 0)] // half of 365 days
    [InlineData("1991", 1991, 1, 1, 0, 0, 0)]
    public void AcceptedFormats(string text, int y, int mo, int d, int h, int mi, int s)
    {
        Assert.True(MarketTime.TryParse(text, out long ticks), text);
        Assert.Equal(T(y, mo, d, h, mi, s), ticks);
    }

    [Fact]
    public void FractionalSeconds_KeepSevenDigits()
    {
        Assert.True(MarketTime.TryParse("2020-01-01T00:00:00.1234567Z", out long ticks));
        Assert.Equal(T(2020, 1, 1) + 1234567, ticks);
        Assert.True(MarketTime.TryParse("1587081600.25", out ticks));
        Assert.Equal(T(2020, 4, 17) + TimeSpan.TicksPerSecond / 4, ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2020-02-30")]
    [InlineData("2020-13-01")]
    [InlineData("2020-01-01T24:00")]
    [InlineData("2020-01-01T10:61")]
    [InlineData("2020-01-01X10:00")]
    [InlineData("2020-01-01T10:00:00+25:00")]
    [InlineData("2020-01-01T10:00:00.")]
    [InlineData("2020-01/01")]
    [InlineData("12345")]
    [InlineData("abc")]
    [InlineData("199706011960")]
    [InlineData("1e9")]
    public void RejectedFormats(string text) => Assert.False(MarketTime.TryParse(text, out _), text);
}

public class SharedDataTests
{
    private static string Shared(string name) => Path.Combine(MarketFiles.SharedData!, name);

    [SharedDataFact]
    public void Sp500Daily_AllRowsAccepted_AndTheShippedCopyIsIdentical()
    {
        using var reader = BarReader.Open(Shared("sp500-daily.csv"));
        var bars = reader.ReadAll().ToList();
        Assert.Equal(5105, bars.Count);
        Assert.Equal(0, reader.Summary.Rejected);
        string? root = MarketFiles.RepositoryRoot;
        if (root is not null)
            Assert.Equal(File.ReadAllBytes(Shared("sp500-daily.csv")), File.ReadAllBytes(Path.Combine(root, "data", "market", "sp500-daily.csv")));
        Assert.Equal(T(2020, 4, 17), bars[^1].Start);
        Assert.Equal(2874.560059, bars[^1].Close);
    }

    [SharedDataFact]
    public void UsdThbTicks_TheZeroAskAndTheLateQuote_AreTheOnlyRejections()
    {
        using var reader = TickReader.Open(Shared("usdthb-ticks.csv"));
        var ticks = reader.ReadAll().ToList();
        var s = reader.Summary;
        Assert.Equal(2984, s.RowsRead);
        Assert.Equal(2982, ticks.Count);
        Assert.Equal([(2788L, RowErrorKind.NonPositivePrice), (2363L, RowErrorKind.TimeBackwards)],
            reader.Errors.OrderByDescending(e => e.Kind == RowErrorKind.NonPositivePrice).Select(e => (e.Line, e.Kind)));

        using var tolerant = TickReader.Open(Shared("usdthb-ticks.csv"), new MarketFileOptions { OutOfOrder = new OutOfOrderPolicy(TimeSpan.FromMinutes(30)) });
        Assert.Equal(2983, tolerant.ReadAll().Count());
    }

    [SharedDataFact]
    public void CloseOnlyFiles_ReadCompletely()
    {
        using (var chf = BarReader.Open(Shared("usdchf-30min.csv"), new MarketFileOptions { BarInterval = TimeSpan.FromMinutes(30) }))
        {
            Assert.Equal(62496, chf.ReadAll().Count());
            Assert.Equal(0, chf.Summary.Rejected);
        }
        using (var gold = BarReader.Open(Shared("goldsilver-daily.csv"), new MarketFileOptions { PriceColumn = "gold" }))
        {
            var bars = gold.ReadAll().ToList();
            Assert.Equal(gold.Summary.RowsRead, bars.Count + gold.Summary.Rejected);
            Assert.Equal(915.88, bars[^1].Close);
        }
        using (var dax = BarReader.Open(Shared("eustockmarkets-daily.csv"), new MarketFileOptions { PriceColumn = "DAX" }))
        {
            Assert.Equal(1860, dax.ReadAll().Count());
            Assert.Equal(0, dax.Summary.Rejected);
        }
    }
}
