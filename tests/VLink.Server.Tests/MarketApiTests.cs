using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class MarketApiTests(ServerFixture fixture)
{
    private readonly HttpClient _client = fixture.Client;

    private static string Sp500 => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "market", "sp500-daily.csv"));

    private static HttpContent Body(string text, string mediaType) => new StringContent(text, Encoding.UTF8, mediaType);

    private async Task<JsonObject> PostOk(string path, HttpContent content) =>
        (await Api.Ok(await _client.PostAsync(path, content)))["result"]!.AsObject();

    /// <summary>Ticks every 10 s for <paramref name="minutes"/> minutes, a slow sine plus drift, one market or a market column.</summary>
    private static string Ticks(int minutes, string? market = null, int offsetMinutes = 0)
    {
        var sb = new StringBuilder(market is null ? "time,price,size\n" : "time,market,price,size\n");
        var t0 = new DateTime(2024, 6, 3, 9, 0, 0, DateTimeKind.Utc).AddMinutes(offsetMinutes);
        for (int i = 0; i < minutes * 6; i++)
        {
            string t = t0.AddSeconds(10 * i).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            double p = 100 * Math.Exp(0.01 * Math.Sin(i / 37.0) + 0.00001 * i + 0.0005 * Math.Sin(i * 1.7));
            sb.Append(t).Append(',');
            if (market is not null) sb.Append(market).Append(',');
            sb.Append(p.ToString("F5", CultureInfo.InvariantCulture)).Append(",1\n");
        }
        return sb.ToString();
    }

    [Fact]
    public async Task Daily_bars_go_in_and_a_search_by_market_and_date_answers_matches_with_what_followed()
    {
        var report = await PostOk("/markets/SPX/bars?collection=api-sp500&source=sp500-daily.csv", Body(Sp500, "text/csv"));

        Assert.Equal(5105, (long)report["rows"]!);
        Assert.Equal(5105, (long)report["accepted"]!);
        Assert.Equal(0, (long)report["rejected"]!);
        Assert.Equal(5105 - 60, (long)report["vectors"]!);
        Assert.Equal(5105 - 60, (long)report["markets"]!["SPX"]!["vectors"]!);

        var search = new JsonObject
        {
            ["collection"] = "api-sp500",
            ["reference"] = new JsonObject { ["market"] = "SPX", ["at"] = "2008-10-10" },
            ["k"] = 8,
        };
        var body = await Api.Ok(await Api.Send(_client, HttpMethod.Post, "/regimes/search", search));
        var result = body["result"]!.AsObject();

        Assert.True((bool)result["complete"]!);
        var reference = result["reference"]!.AsObject();
        Assert.Equal("2008-10-11T00:00:00Z", (string?)reference["window"]!["end"]);
        long refBar = (long)reference["bar"]!;
        var matches = result["matches"]!.AsArray();
        Assert.Equal(8, matches.Count);
        double previous = 0;
        foreach (var m in matches)
        {
            Assert.Equal("SPX", (string?)m!["market"]);
            Assert.True(Math.Abs((long)m["bar"]! - refBar) >= 60);
            double distance = (double)m["distance"]!;
            Assert.True(distance >= previous);
            previous = distance;
            Assert.NotNull(m["window"]!["start"]);
            Assert.True(m["forward"]!.AsObject().ContainsKey("ret_20"));
            Assert.True(m["forward"]!.AsObject().ContainsKey("vol_5"));
        }
        var summary = result["summary"]!.AsObject();
        Assert.Equal(8, (int)summary["count"]!);
        var h5 = summary["forward"]!["5"]!.AsObject();
        int known = matches.Count(m => m!["forward"]!["ret_5"] is not null);
        Assert.Equal(known, (int)h5["known"]!);
        Assert.Equal(matches.Where(m => m!["forward"]!["ret_5"] is not null).Average(m => (double)m!["forward"]!["ret_5"]!), (double)h5["return"]!["mean"]!, 9);
        Assert.InRange((double)h5["positive_fraction"]!, 0, 1);

        // The same through a read-only key: search only reads.
        var reader = fixture.ClientWith(ServerFixture.ReadKey);
        var again = await Api.Ok(await Api.Send(reader, HttpMethod.Post, "/regimes/search", search));
        Assert.Equal(matches.ToJsonString(), again["result"]!["matches"]!.ToJsonString());
        // ...which may not ingest.
        var refused = await reader.PostAsync("/markets/SPX/bars?collection=api-sp500", Body(Sp500, "text/csv"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_batch_sent_twice_with_its_source_and_sequence_is_applied_once()
    {
        var rows = new JsonArray();
        var t0 = new DateTime(2024, 6, 3, 0, 0, 0, DateTimeKind.Utc);
        for (int i = 0; i < 30; i++)
            rows.Add(new JsonObject { ["time"] = t0.AddMinutes(i).ToString("O", CultureInfo.InvariantCulture), ["price"] = 100 + i % 7, ["size"] = 2 });
        rows.Add(new JsonObject { ["time"] = t0.AddMinutes(31).ToString("O", CultureInfo.InvariantCulture), ["price"] = -1 });
        string path = "/markets/EURUSD/ticks?collection=api-batches&source=feed-1&sequence=101&bar_interval=1m";

        var first = await PostOk(path, Body(rows.ToJsonString(), "application/json"));
        var second = await PostOk(path, Body(rows.ToJsonString(), "application/json"));

        Assert.Equal((30, 0, 1), ((long)first["accepted"]!, (long)first["duplicates"]!, (long)first["rejected"]!));
        Assert.Equal(29, (long)first["bars"]!); // one tick a minute: each closes the previous minute's bar
        var error = first["errors"]![0]!;
        Assert.Equal(31, (long)error["line"]!); // element 31 of the array
        Assert.Equal("non_positive_price", (string?)error["reason"]);
        Assert.Equal(1, (long)first["rejected_by_reason"]!["non_positive_price"]!);
        Assert.Equal((0, 30), ((long)second["accepted"]!, (long)second["duplicates"]!));

        // The next batch continues the numbering (NDJSON this time).
        var next = new StringBuilder();
        for (int i = 32; i < 40; i++) next.Append(CultureInfo.InvariantCulture, $"{{\"time\":\"{t0.AddMinutes(i):O}\",\"price\":{100 + i % 5}}}\n");
        var third = await PostOk("/markets/EURUSD/ticks?collection=api-batches&source=feed-1&sequence=132", Body(next.ToString(), "application/x-ndjson"));
        Assert.Equal(8, (long)third["accepted"]!);

        var market = (await Api.Ok(await _client.GetAsync("/markets/EURUSD?collection=api-batches")))["result"]!.AsObject();
        Assert.Equal(38, (long)market["ticks"]!);
        Assert.Equal(139, (long)market["sources"]!["feed-1"]!);
        Assert.Equal("1m", (string?)market["bar_interval"]);
        Assert.Equal("2024-06-03T00:00:00Z", (string?)market["first_bar_start"]);
    }

    [Fact]
    public async Task A_whole_file_streams_through_the_pipeline_and_the_markets_are_listed()
    {
        string csv = Ticks(120, "AAA") + string.Join("", Ticks(120, "BBB").Split('\n').Skip(1).Select(l => l.Length > 0 ? l + "\n" : ""));
        // Two markets in one file, one after the other, plus a damaged line.
        csv += "2024-06-03T11:00:00Z,AAA,abc,1\n";
        var content = Body(csv, "text/csv");

        var report = await PostOk("/markets/ingest?collection=api-stream&kind=ticks&source=two.csv&bar_interval=1m", content);

        Assert.Equal(2 * 720, (long)report["accepted"]!);
        Assert.Equal(1, (long)report["rejected_by_reason"]!["unparseable_number"]!);
        Assert.Equal(2 * 720 + 2, (long)report["errors"]![0]!["line"]!);
        Assert.Equal("two.csv", (string?)report["source"]);
        Assert.Equal(Encoding.UTF8.GetByteCount(csv), (long)report["bytes"]!);
        Assert.Equal(2 * (119 - 60), (long)report["vectors"]!);

        var list = (await Api.Ok(await _client.GetAsync("/markets?collection=api-stream")))["result"]!.AsObject();
        Assert.Equal("1m", (string?)list["bar_interval"]);
        Assert.Equal(15, (int)list["dimension"]!);
        var markets = list["markets"]!.AsArray();
        Assert.Equal(["AAA", "BBB"], markets.Select(m => (string?)m!["market"]));
        Assert.All(markets, m => Assert.Equal(720, (long)m!["ticks"]!));
        Assert.All(markets, m => Assert.Equal(119, (long)m!["bars"]!));
        Assert.All(markets, m => Assert.Equal(1, (int)m!["open_bars"]!));

        // A raw vector query over both markets, only windows ending in the last half hour: all of them, overlapping.
        var vector = new JsonArray([.. Enumerable.Range(0, 15).Select(_ => (JsonNode)JsonValue.Create(0.0))]);
        var search = new JsonObject { ["collection"] = "api-stream", ["vector"] = vector, ["k"] = 100, ["from"] = "2024-06-03T10:30:00Z", ["distinct"] = false };
        var result = (await Api.Ok(await Api.Send(_client, HttpMethod.Post, "/regimes/search", search)))["result"]!.AsObject();
        Assert.Null(result["reference"]);
        var matches = result["matches"]!.AsArray();
        Assert.Equal(2 * 30, matches.Count);
        Assert.All(matches, m => Assert.True(string.CompareOrdinal((string?)m!["window"]!["end"], "2024-06-03T10:30:00Z") >= 0));
        // As distinct episodes (the default), windows of one market that overlap count once: one per market here.
        search.Remove("distinct");
        var distinct = (await Api.Ok(await Api.Send(_client, HttpMethod.Post, "/regimes/search", search)))["result"]!["matches"]!.AsArray();
        Assert.Equal(["AAA", "BBB"], distinct.Select(m => (string?)m!["market"]).Order());
        search["distinct"] = false;
        search["min_gap"] = 3;
        await Api.Problem(await Api.Send(_client, HttpMethod.Post, "/regimes/search", search), System.Net.HttpStatusCode.BadRequest, "min_gap");
        var onlyB = new JsonObject { ["collection"] = "api-stream", ["vector"] = vector.DeepClone(), ["k"] = 5, ["markets"] = new JsonArray("BBB") };
        var resultB = (await Api.Ok(await Api.Send(_client, HttpMethod.Post, "/regimes/search", onlyB)))["result"]!.AsObject();
        Assert.All(resultB["matches"]!.AsArray(), m => Assert.Equal("BBB", (string?)m!["market"]));
        Assert.Equal(["BBB"], resultB["summary"]!["markets"]!.AsArray().Select(m => (string?)m));
    }

    [Fact]
    public async Task Regime_collections_are_configured_explicitly_and_refuse_a_different_configuration()
    {
        var config = new JsonObject { ["bar_interval"] = "5m", ["tolerance"] = "2s" };

        var created = (await Api.Ok(await Api.Send(_client, HttpMethod.Put, "/regimes/collections/api-config", config)))["result"]!;
        var again = (await Api.Ok(await Api.Send(_client, HttpMethod.Put, "/regimes/collections/api-config", config)))["result"]!;

        Assert.True((bool)created["created"]!);
        Assert.False((bool)again["created"]!);
        Assert.Equal("5m", (string?)created["bar_interval"]);
        Assert.Equal("2s", (string?)created["tolerance"]);
        Assert.Equal("regime-v1:w60:r1,5,20,60:v5,20:q5:o5,20", (string?)created["feature_set"]);
        Assert.Equal(15, created["features"]!.AsArray().Count);
        await Api.Problem(await Api.Send(_client, HttpMethod.Put, "/regimes/collections/api-config", new JsonObject { ["bar_interval"] = "1h" }), HttpStatusCode.Conflict, "collection_name");
        await Api.Problem(await Api.Send(_client, HttpMethod.Put, "/regimes/collections/api-bad", new JsonObject { ["bar_interval"] = "soon" }), HttpStatusCode.BadRequest, "bar_interval");
        await Api.Problem(await Api.Send(_client, HttpMethod.Put, "/regimes/collections/api-bad", new JsonObject { ["feature_set"] = "regime-v9" }), HttpStatusCode.BadRequest, "feature_set");
        var small = new JsonObject { ["feature_set"] = "regime-v1:w20:r1,5:v5:q5:o5", ["bar_interval"] = "1h" };
        var smallResult = (await Api.Ok(await Api.Send(_client, HttpMethod.Put, "/regimes/collections/api-small", small)))["result"]!;
        Assert.Equal(2 + 1 + 9, (int)smallResult["dimension"]!);
    }

    [Fact]
    public async Task Bad_requests_are_problems_naming_the_field_and_write_nothing()
    {
        await PostOk("/markets/SPX/bars?collection=api-errors&source=s", Body(Sp500, "text/csv"));
        async Task Search(JsonObject body, HttpStatusCode status, string field) =>
            await Api.Problem(await Api.Send(_client, HttpMethod.Post, "/regimes/search", body), status, field);
        JsonObject Reference(string market, string at) => new() { ["market"] = market, ["at"] = at };

        await Search(new JsonObject { ["collection"] = "api-errors" }, HttpStatusCode.BadRequest, "vector");
        await Search(new JsonObject { ["collection"] = "api-errors", ["vector"] = new JsonArray(1, 2), ["reference"] = Reference("SPX", "2010-01-01") }, HttpStatusCode.BadRequest, "vector");
        await Search(new JsonObject { ["collection"] = "api-errors", ["vector"] = new JsonArray(1, 2) }, HttpStatusCode.BadRequest, "vector");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = Reference("SPX", "yesterday") }, HttpStatusCode.BadRequest, "reference.at");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = new JsonObject { ["at"] = "2010-01-01" } }, HttpStatusCode.BadRequest, "reference.market");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = Reference("SPX", "2000-01-10") }, HttpStatusCode.NotFound, "reference.at");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = Reference("DAX", "2010-01-01") }, HttpStatusCode.NotFound, "reference.market");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = Reference("SPX", "2010-01-01"), ["k"] = 0 }, HttpStatusCode.BadRequest, "k");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = Reference("SPX", "2010-01-01"), ["from"] = "2012-01-01", ["to"] = "2011-01-01" }, HttpStatusCode.BadRequest, "from");
        await Search(new JsonObject { ["collection"] = "api-errors", ["reference"] = Reference("SPX", "2010-01-01"), ["markets"] = "SPX" }, HttpStatusCode.BadRequest, "markets");
        await Search(new JsonObject { ["collection"] = "no-such-regimes", ["reference"] = Reference("SPX", "2010-01-01") }, HttpStatusCode.NotFound, "collection_name");

        await Api.Problem(await _client.PostAsync("/markets/SPX/ticks?collection=api-errors-2&format=xml", Body("x", "text/csv")), HttpStatusCode.BadRequest, "format");
        await Api.Problem(await _client.PostAsync("/markets/SPX/ticks?collection=api-errors-2&sequence=5", Body("time,price\n", "text/csv")), HttpStatusCode.BadRequest, "sequence");
        await Api.Problem(await _client.PostAsync("/markets/SPX/ticks?collection=api-errors-2&source=a&sequence=0", Body("time,price\n", "text/csv")), HttpStatusCode.BadRequest, "sequence");
        await Api.Problem(await _client.PostAsync("/markets/SPX/ticks?collection=api-errors-2", Body("when,what\n1,2\n", "text/csv")), HttpStatusCode.BadRequest, "body");
        await Api.Problem(await _client.PostAsync("/markets/SPX/ticks?collection=api-errors-2", Body("{\"time\": 1}", "application/json")), HttpStatusCode.BadRequest, "body");
        await Api.Problem(await _client.PostAsync("/markets/ingest?collection=api-errors-2&kind=quotes", Body("time,price\n", "text/csv")), HttpStatusCode.BadRequest, "kind");
        // Rows without a market and no market named for the file.
        await Api.Problem(await _client.PostAsync("/markets/ingest?collection=api-errors-2", Body("time,price\n2024-01-01,1\n", "text/csv")), HttpStatusCode.BadRequest, "body");
        // A collection that is not a regime collection.
        await Api.CreateCollection(_client, "api-plain", 15, "Euclid");
        await Api.Problem(await _client.PostAsync("/markets/SPX/ticks?collection=api-plain", Body("time,price\n2024-01-01,1\n", "text/csv")), HttpStatusCode.Conflict, "collection");
        await Api.Problem(await _client.GetAsync("/markets/NOPE?collection=api-errors"), HttpStatusCode.NotFound, "symbol");

        // Nothing of the refused requests was written.
        var list = (await Api.Ok(await _client.GetAsync("/markets?collection=api-errors-2")))["result"]!.AsObject();
        Assert.Empty(list["markets"]!.AsArray());
    }
}

/// <summary>The market line feed of a server configured with a feed port: keys checked on the first line.</summary>
public sealed class MarketFeedTests
{
    [Fact]
    public async Task A_feed_connection_with_a_write_key_is_ingested_and_one_without_is_refused()
    {
        string data = Directory.CreateTempSubdirectory("vlink-feed-test-").FullName;
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var node = await ServerNode.StartAsync(data, new Dictionary<string, string?>
        {
            ["VLink:ApiKeys:0:Key"] = ServerFixture.ReadKey,
            ["VLink:ApiKeys:0:Role"] = "read",
            ["VLink:ApiKeys:1:Key"] = ServerFixture.WriteKey,
            ["VLink:ApiKeys:1:Role"] = "write",
            ["VLink:MarketFeedPort"] = port.ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            var t0 = new DateTime(2024, 7, 1, 0, 0, 0, DateTimeKind.Utc);
            var rows = new StringBuilder();
            for (int i = 0; i < 90; i++)
                rows.Append(CultureInfo.InvariantCulture, $"{{\"time\":\"{t0.AddMinutes(i):O}\",\"symbol\":\"FX1\",\"price\":{1.1 + 0.001 * Math.Sin(i):F5}}}\n");

            string accepted = await SendAsync(port, $"api-key {ServerFixture.WriteKey}\n" + rows);
            string readOnly = await SendAsync(port, $"api-key {ServerFixture.ReadKey}\n" + rows);
            string none = await SendAsync(port, rows.ToString());

            var summary = JsonNode.Parse(accepted)!.AsObject();
            Assert.Equal(90, (long)summary["accepted"]!);
            Assert.Equal(89 - 60, (long)summary["vectors"]!); // one-minute bars by default for ticks
            Assert.Contains("api-key", (string?)JsonNode.Parse(readOnly)!["error"]);
            Assert.Contains("api-key", (string?)JsonNode.Parse(none)!["error"]);
            var market = (await Api.Ok(await node.ClientWith(ServerFixture.ReadKey).GetAsync("/markets/FX1")))["result"]!;
            Assert.Equal(90, (long)market["ticks"]!);
        }
        finally
        {
            await node.DisposeAsync();
            ServerNode.DeleteFolder(data);
        }
    }

    private static async Task<string> SendAsync(int port, string text)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        client.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        using var reader = new StreamReader(stream);
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
    }
}
