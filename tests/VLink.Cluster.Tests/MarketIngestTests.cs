using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using VLink.Cluster.Hosting;
using VLink.Cluster.Ingest;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Cluster.Tests;

/// <summary>Market data through the ingestion pipeline into market partitions, on a real one-node cluster with SQLite.</summary>
public sealed class MarketIngestTests
{
    // A small window so a few hours of minute bars give many vectors.
    private static readonly RegimeFeatureSet SmallSet = new()
    {
        Window = 10, ReturnHorizons = [1, 5], VolatilityHorizons = [5], ShortHorizon = 5, OutcomeHorizons = [2, 5],
    };

    private static readonly RegimeSpec MinuteBars = new(SmallSet.Id, TimeSpan.FromMinutes(1).Ticks);

    private static IngestOptions Options(string collection = "regimes") => new()
    {
        Collection = collection,
        NewCollection = MinuteBars,
        Format = MarketFileFormat.Csv,
    };

    /// <summary>Two markets' ticks every 10 s for three hours (random walks), interleaved, with a market column.</summary>
    internal static string TickCsv(int minutes = 180, int seed = 7, IEnumerable<string>? extraLines = null)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("time,symbol,price,size\n");
        double a = 100, b = 50;
        var start = new DateTime(2024, 3, 1, 9, 0, 0, DateTimeKind.Utc);
        for (int s = 0; s < minutes * 60; s += 10)
        {
            a *= Math.Exp(0.001 * (rng.NextDouble() - 0.5));
            b *= Math.Exp(0.002 * (rng.NextDouble() - 0.5));
            string t = start.AddSeconds(s).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"{t},AAA,{a:F4},{rng.Next(1, 100)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{t},BBB,{b:F4},{rng.Next(1, 100)}\n");
        }
        foreach (string line in extraLines ?? []) sb.Append(line).Append('\n');
        return sb.ToString();
    }

    private static MemoryStream Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private static async Task<List<PointRecord>> AllPointsAsync(VLinkNode node, string collection)
    {
        var page = await node.ScrollAsync(collection, null, null, 100_000, withVector: true);
        return [.. page.Points];
    }

    [Fact]
    public async Task A_file_ingested_twice_is_applied_once_and_bad_rows_are_reported_with_their_lines()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        var ingest = new MarketIngest(node);
        string csv = TickCsv(extraLines:
        [
            "2024-03-01T11:59:50Z,AAA,-3,1",          // non-positive price
            "not a time,AAA,100,1",                    // unparseable time
            "2024-03-01T09:00:00Z,BBB,50,1",           // far behind BBB's latest tick
            "2024-03-01T12:00:00Z,AAA,101,1",
        ]);
        int goodLines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1 - 3;

        var first = await ingest.IngestAsync(Bytes(csv), "ticks.csv", Options());

        Assert.Equal(goodLines + 3, first.Rows);
        Assert.Equal(goodLines, first.Accepted);
        Assert.Equal(0, first.Duplicates);
        Assert.Equal(3, first.Rejected);
        Assert.Equal(1, first.RejectedByKind[RowErrorKind.NonPositivePrice]);
        Assert.Equal(1, first.RejectedByKind[RowErrorKind.UnparseableTime]);
        Assert.Equal(1, first.RejectedByKind[RowErrorKind.TimeBackwards]);
        int header = 1, rows = 2 * 180 * 6;
        Assert.Equal([header + rows + 1, header + rows + 2, header + rows + 3], first.Errors.Select(e => e.Line));
        Assert.All(first.Errors, e => Assert.Equal("ticks.csv", e.Source));
        // 180 minutes of ticks close 179 bars in BBB (its last stays open) and 180 in AAA (the 12:00 tick closes 11:59).
        Assert.Equal(179 + 180, first.Bars);
        Assert.Equal(179 - SmallSet.Window + 180 - SmallSet.Window, first.Vectors);
        Assert.Equal(["AAA", "BBB"], first.Markets.Keys);
        Assert.Equal(first.Vectors, await node.CountAsync("regimes", null));

        // The same file again (same source, same lines): every row is a duplicate, nothing is applied twice.
        var again = await ingest.IngestAsync(Bytes(csv), "ticks.csv", Options());

        Assert.Equal(0, again.Accepted);
        Assert.Equal(goodLines, again.Duplicates);
        Assert.Equal(0, again.Vectors);
        Assert.Equal(first.Vectors, await node.CountAsync("regimes", null));
        var stats = await node.Partitions.Ask<MarketStats>(new GetMarketStats(new PartitionRef("regimes", "AAA", (await node.CatalogAsync()).Find("regimes")!.Generation)), TimeSpan.FromSeconds(5));
        Assert.Equal(180 * 6 + 1, stats.Ticks);
        Assert.Equal(180, stats.Bars);
        Assert.Equal([new KeyValuePair<string, long>("ticks.csv", header + rows + 4)], stats.Sources);
    }

    [Fact]
    public async Task A_retried_batch_is_acknowledged_without_being_applied_again()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        var entry = await new MarketIngest(node).EnsureCollectionAsync("retry", MinuteBars);
        await node.ChangeCatalogAsync(new RegisterPartitionKey("retry", "X"));
        var t0 = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        Tick TickAt(int minute, double price) => new(t0 + minute * TimeSpan.TicksPerMinute, price);
        var batch = new MarketBatch("feed", [.. Enumerable.Range(1, 30).Select(i => (long)i)], [.. Enumerable.Range(0, 30).Select(i => TickAt(i, 100 + i))], []);
        var partition = entry.Partition("X");

        var ack1 = await node.Partitions.Ask<MarketIngestAck>(new IngestMarketData(partition, entry.Spec, batch), TimeSpan.FromSeconds(10));
        var ack2 = await node.Partitions.Ask<MarketIngestAck>(new IngestMarketData(partition, entry.Spec, batch), TimeSpan.FromSeconds(10));
        // A batch that overlaps: the first 10 rows were applied, the next 10 are new.
        var overlapping = new MarketBatch("feed", [.. Enumerable.Range(21, 20).Select(i => (long)i)], [.. Enumerable.Range(20, 20).Select(i => TickAt(i, 100 + i))], []);
        var ack3 = await node.Partitions.Ask<MarketIngestAck>(new IngestMarketData(partition, entry.Spec, overlapping), TimeSpan.FromSeconds(10));

        Assert.Equal((30, 0), (ack1.Accepted, ack1.Duplicates));
        Assert.Equal(29, ack1.Bars);
        Assert.Equal(29 - SmallSet.Window, ack1.Vectors);
        Assert.Equal((0, 30, 0), (ack2.Accepted, ack2.Duplicates, ack2.Vectors));
        Assert.Equal(ack1.SequenceNr, ack2.SequenceNr); // nothing journalled
        Assert.Equal((10, 10), (ack3.Accepted, ack3.Duplicates));
        Assert.Equal(10, ack3.Bars);
        var stats = await node.Partitions.Ask<MarketStats>(new GetMarketStats(partition), TimeSpan.FromSeconds(5));
        Assert.Equal(40, stats.Ticks);
        Assert.Equal(39, stats.Bars);
        Assert.Equal(39 - SmallSet.Window, stats.Vectors);
        Assert.Equal(39 - SmallSet.Window, await node.CountAsync("retry", null));

        // Another producer is numbered on its own; a tick behind the market's watermark is refused with its line.
        var late = new MarketBatch("other", [5], [TickAt(3, 99)], []);
        var ack4 = await node.Partitions.Ask<MarketIngestAck>(new IngestMarketData(partition, entry.Spec, late), TimeSpan.FromSeconds(10));
        Assert.Equal((0, 0, 1), (ack4.Accepted, ack4.Duplicates, ack4.Rejected));
        Assert.Equal(new RowError("other", 5, RowErrorKind.TimeBackwards, ack4.Errors[0].Detail), ack4.Errors[0]);
    }

    [Theory]
    [InlineData(100_000)] // journal replay only
    [InlineData(3)]       // snapshots (index, tracker, watermarks) plus the journal after them
    public async Task A_restarted_node_has_the_same_vectors_outcomes_and_watermarks(int snapshotEvery)
    {
        string data = Directory.CreateTempSubdirectory("vlink-market-restart-").FullName;
        string hocon = $"vlink.snapshot-every = {snapshotEvery}";
        string csv = TickCsv(minutes: 240);
        var options = Options() with { BatchRows = 200, ChunkRows = 100 };
        List<PointRecord> before;
        IngestReport first;
        MarketStats statsBefore;
        try
        {
            await using (var cluster = await TestCluster.StartAsync(1, data, hocon))
            {
                var node = cluster.Node(0);
                first = await new MarketIngest(node).IngestAsync(Bytes(csv), "ticks.csv", options);
                Assert.True(first.Batches >= 10, $"{first.Batches} batches");
                before = await AllPointsAsync(node, "regimes");
                var entry = (await node.CatalogAsync()).Find("regimes")!;
                statsBefore = await node.Partitions.Ask<MarketStats>(new GetMarketStats(entry.Partition("BBB")), TimeSpan.FromSeconds(5));
            }
            await using (var cluster = await TestCluster.StartAsync(1, data, hocon))
            {
                var node = cluster.Node(0);
                var after = await Eventually.Async(() => AllPointsAsync(node, "regimes"), p => p.Count == before.Count, TimeSpan.FromSeconds(30));

                Assert.Equal(first.Vectors, after.Count);
                for (int i = 0; i < before.Count; i++)
                {
                    Assert.Equal(before[i].Id, after[i].Id);
                    Assert.Equal(before[i].Vector, after[i].Vector);
                    Assert.Equal(Encoding.UTF8.GetString(before[i].Payload!), Encoding.UTF8.GetString(after[i].Payload!));
                }
                // Outcomes were filled in before the restart and survive it.
                Assert.Contains(after, p => Encoding.UTF8.GetString(p.Payload!).Contains("\"fwd_ret_5\":-", StringComparison.Ordinal)
                    || Encoding.UTF8.GetString(p.Payload!).Contains("\"fwd_ret_5\":0", StringComparison.Ordinal));
                var entry = (await node.CatalogAsync()).Find("regimes")!;
                var statsAfter = await node.Partitions.Ask<MarketStats>(new GetMarketStats(entry.Partition("BBB")), TimeSpan.FromSeconds(5));
                Assert.Equal(statsBefore with { SequenceNr = 0 }, statsAfter with { SequenceNr = 0 }, new StatsComparer());

                // The watermarks came back too: the same file is all duplicates.
                var again = await new MarketIngest(node).IngestAsync(Bytes(csv), "ticks.csv", options);
                Assert.Equal(0, again.Accepted);
                Assert.Equal(first.Accepted, again.Duplicates);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, true); } catch (IOException) { }
        }
    }

    private sealed class StatsComparer : IEqualityComparer<MarketStats>
    {
        public bool Equals(MarketStats? x, MarketStats? y) => x is not null && y is not null &&
            (x.Ticks, x.Bars, x.Vectors, x.Rejected, x.FirstBarStart, x.LastBarEnd, x.Watermark, x.OpenBars) ==
            (y.Ticks, y.Bars, y.Vectors, y.Rejected, y.FirstBarStart, y.LastBarEnd, y.Watermark, y.OpenBars) &&
            x.Sources.SequenceEqual(y.Sources);

        public int GetHashCode(MarketStats obj) => obj.Ticks.GetHashCode();
    }

    [Fact]
    public async Task A_slow_partition_holds_the_reader_back_instead_of_buffering_the_file()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        var progress = new IngestProgress();
        long maxLead = 0;
        int deliveries = 0;
        var options = Options() with
        {
            ChunkRows = 50,
            BatchRows = 200,
            Progress = progress,
            BeforeDelivery = async (_, batch) =>
            {
                // What the reader has read beyond what the partitions acknowledged: the stream's buffers.
                long lead = progress.RowsRead - progress.RowsDelivered;
                if (lead > Interlocked.Read(ref maxLead)) Interlocked.Exchange(ref maxLead, lead);
                Interlocked.Increment(ref deliveries);
                await Task.Delay(15);
            },
        };
        string csv = TickCsv(minutes: 600); // 7,200 rows
        var report = await new MarketIngest(node).IngestAsync(Bytes(csv), "slow.csv", options);

        Assert.Equal(7200, report.Accepted);
        Assert.Equal(7200, progress.RowsDelivered);
        Assert.True(deliveries >= 7200 / 200, $"{deliveries} deliveries");
        // Two markets, one batch in flight each, plus the stages' buffers: far less than the file.
        Assert.True(maxLead <= 2_500, $"the reader ran {maxLead} rows ahead of the partitions");
    }

    [Fact]
    public async Task A_tcp_line_feed_is_ingested_and_answered_with_its_summary()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        var ingest = new MarketIngest(node);
        await using var feed = await TcpMarketFeed.BindAsync(ingest, "127.0.0.1", 0, Options() with { Format = MarketFileFormat.Ndjson, BatchWindow = TimeSpan.FromMilliseconds(50) });
        int port = ((IPEndPoint)feed.LocalAddress).Port;

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var t0 = new DateTime(2024, 5, 1, 0, 0, 0, DateTimeKind.Utc);
        var lines = new StringBuilder();
        for (int i = 0; i < 40 * 6; i++)
        {
            string t = t0.AddSeconds(10 * i).ToString("O", CultureInfo.InvariantCulture);
            lines.Append(CultureInfo.InvariantCulture, $"{{\"time\":\"{t}\",\"market\":\"FEED\",\"price\":{100 + Math.Sin(i / 7.0) + i * 0.01:F4}}}\n");
        }
        lines.Append("{\"time\":\"x\",\"market\":\"FEED\",\"price\":1}\n");
        byte[] bytes = Encoding.UTF8.GetBytes(lines.ToString());
        // In pieces, so lines cross packet boundaries.
        for (int i = 0; i < bytes.Length; i += 777) await stream.WriteAsync(bytes.AsMemory(i, Math.Min(777, bytes.Length - i)));
        client.Client.Shutdown(SocketShutdown.Send);
        using var reader = new StreamReader(stream);
        string? answer = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(answer);
        using var json = JsonDocument.Parse(answer);
        Assert.Equal(240, json.RootElement.GetProperty("accepted").GetInt64());
        Assert.Equal(1, json.RootElement.GetProperty("rejected").GetInt64());
        Assert.Equal(241, json.RootElement.GetProperty("errors")[0].GetProperty("line").GetInt64());
        Assert.Equal("unparseable_time", json.RootElement.GetProperty("errors")[0].GetProperty("reason").GetString());
        Assert.Equal(39 - SmallSet.Window, json.RootElement.GetProperty("vectors").GetInt64());
        Assert.StartsWith("tcp:", json.RootElement.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Equal(39 - SmallSet.Window, await node.CountAsync("regimes", null));
    }

    [Fact]
    public async Task Markets_on_two_nodes_are_ingested_and_searched_across_the_wire()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        string csv = TickCsv(minutes: 150, seed: 11);
        // Four markets: AAA and BBB from the file, CCC and DDD the same rows renamed, so some partitions sit on each node.
        string more = string.Join("\n", csv.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Replace(",AAA,", ",CCC,").Replace(",BBB,", ",DDD,")));
        string all = csv + more + "\n";
        var ingest = new MarketIngest(cluster.Node(1));

        var report = await ingest.IngestAsync(Bytes(all), "four.csv", Options() with { BatchRows = 300 });

        Assert.Equal(4 * 150 * 6, report.Accepted);
        Assert.Equal(4 * (149 - SmallSet.Window), report.Vectors);
        var entry = (await cluster.Node(0).CatalogAsync()).Find("regimes")!;
        Assert.Equal(["AAA", "BBB", "CCC", "DDD"], entry.Keys);
        // The partitions are spread over both nodes, and each answers through the other node's shard region.
        var hosts = new HashSet<string>();
        foreach (var key in entry.Keys)
        {
            var stats = await cluster.Node(0).Partitions.Ask<MarketStats>(new GetMarketStats(entry.Partition(key)), TimeSpan.FromSeconds(10));
            Assert.Equal(150 * 6, stats.Ticks);
        }
        foreach (var node in cluster.Running)
        {
            var inventory = await node.InventoryAsync(Akka.Cluster.Cluster.Get(node.System).SelfAddress);
            if (inventory.Partitions.Any(p => p.Partition.Collection == "regimes")) hosts.Add(inventory.Node);
        }
        Assert.Equal(2, hosts.Count);

        // CCC is AAA's twin: AAA's window at a time has an exact twin in CCC at distance 0, found from the other node.
        var at = new DateTime(2024, 3, 1, 10, 30, 0, DateTimeKind.Utc).Ticks;
        var result = await new RegimeSearch(cluster.Node(0)).SearchAsync(new RegimeQuery("regimes", null, "AAA", at, 3));
        Assert.True(result.Complete);
        Assert.Equal("CCC", result.Matches[0].Market);
        Assert.Equal(0f, result.Matches[0].Distance);
        Assert.Equal(result.Reference!.WindowEnd, result.Matches[0].WindowEnd);
    }

    [Fact]
    public async Task A_search_by_market_and_time_skips_overlapping_windows_and_tells_what_happened_next()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        string file = Path.Combine(AppContext.BaseDirectory, "market", "sp500-daily.csv");
        await using (var stream = File.OpenRead(file))
        {
            var report = await new MarketIngest(node).IngestAsync(stream, "sp500-daily.csv",
                new IngestOptions { Market = "SPX", Kind = MarketRowKind.Bars, Collection = "daily" });
            Assert.Equal(5105, report.Accepted);
            Assert.Equal(5105 - RegimeFeatureSet.Default.Window, report.Vectors);
        }
        var at = new DateTime(2008, 10, 10, 0, 0, 0, DateTimeKind.Utc).Ticks;
        var search = new RegimeSearch(node);

        var result = await search.SearchAsync(new RegimeQuery("daily", null, "SPX", at, 10));

        var reference = Assert.IsType<RegimeWindow>(result.Reference);
        Assert.Equal(new DateTime(2008, 10, 11, 0, 0, 0, DateTimeKind.Utc).Ticks, reference.WindowEnd); // the bar of 2008-10-10
        Assert.True(result.Complete);
        Assert.Equal(10, result.Matches.Count);
        Assert.All(result.Matches, m =>
        {
            Assert.Equal("SPX", m.Market);
            Assert.True(Math.Abs(m.Bar - reference.Bar) >= RegimeFeatureSet.Default.Window, $"bar {m.Bar} overlaps the reference's {reference.Bar}");
            Assert.True(m.WindowEnd <= reference.WindowStart || m.WindowStart >= reference.WindowEnd);
        });
        Assert.Equal(result.Matches.OrderBy(m => m.Distance).Select(m => m.Id), result.Matches.Select(m => m.Id));
        // A match's outcome over h bars is known once h later bars exist (the last bar is number 5104), and summarised.
        Assert.All(result.Matches, m => Assert.All(m.Forward, f => Assert.Equal(m.Bar + f.Horizon <= 5104, f.Return is not null && f.Volatility is not null)));
        var h20 = result.Horizons.Single(h => h.Horizon == 20);
        var known20 = result.Matches.Select(m => m.Forward.Single(f => f.Horizon == 20).Return).OfType<double>().ToList();
        Assert.True(known20.Count >= 5);
        Assert.Equal(known20.Count, h20.Known);
        Assert.Equal(known20.Count(r => r > 0) / (double)known20.Count, h20.PositiveFraction);
        Assert.Equal(known20.Average(), h20.Return!.Mean, 12);

        // The same vector without a reference finds the reference itself first, at distance 0.
        var found = await node.Partitions.Ask<PointsFound>(new FindRegimeVector((await node.CatalogAsync()).Find("daily")!.Partition("SPX"), at), TimeSpan.FromSeconds(5));
        var byVector = await search.SearchAsync(new RegimeQuery("daily", found.Points[0].Vector, null, null, 3));
        Assert.Equal(reference.Id, byVector.Matches[0].Id);
        Assert.Equal(0f, byVector.Matches[0].Distance);

        // Time range and market filters.
        var from = new DateTime(2015, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        var ranged = await search.SearchAsync(new RegimeQuery("daily", null, "SPX", at, 5, ["SPX"], From: from));
        Assert.All(ranged.Matches, m => Assert.True(m.WindowEnd >= from));
        var none = await search.SearchAsync(new RegimeQuery("daily", null, "SPX", at, 5, ["NOPE"]));
        Assert.Empty(none.Matches);
        Assert.Null(none.Horizons[0].Return);

        var early = await Assert.ThrowsAsync<RegimeQueryException>(() => search.SearchAsync(new RegimeQuery("daily", null, "SPX", new DateTime(2000, 2, 1).Ticks, 5)));
        Assert.Equal("reference.at", early.Field);
        var unknown = await Assert.ThrowsAsync<RegimeQueryException>(() => search.SearchAsync(new RegimeQuery("daily", null, "DAX", at, 5)));
        Assert.Equal("reference.market", unknown.Field);
    }
}
