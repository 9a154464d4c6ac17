using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VLink.Server.Tests;

/// <summary>/metrics in Prometheus' text format.</summary>
[Collection(ServerCollection.Name)]
public sealed class MetricsTests(ServerFixture server)
{
    [Fact]
    public async Task Metrics_show_the_route_histogram_and_VLinks_instruments_after_a_search()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "metrics", 2, "Euclid", shards: 2);
        var points = new JsonArray();
        for (int i = 0; i < 25; i++) points.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, 1) });
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/metrics/points", new JsonObject { ["points"] = points }));
        for (int i = 0; i < 3; i++)
            await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/metrics/points/search", """{"vector":[3,1],"limit":2}"""));

        var response = await server.ClientWith(ServerFixture.ReadKey).GetAsync("/metrics");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);

        // ASP.NET Core's request histogram. Every test server of this process has its own ASP.NET Core meter and the
        // exporter keeps the first instrument of a name, so its counts per route are checked on a real node process
        // (VLink.Cli.Tests' NodeMetricsTests); here, that it is exported.
        Assert.Contains("http_server_request_duration_seconds_bucket{", text);
        // VLink's own meter.
        Assert.True(Value(text, "vlink_searches_total", "collection=\"metrics\"", "complete=\"true\"") >= 3, text);
        Assert.True(Value(text, "vlink_search_duration_seconds_count", "collection=\"metrics\"") >= 3, text);
        Assert.Contains("vlink_search_duration_seconds_bucket{", text);
        Assert.True(Value(text, "vlink_journal_write_duration_seconds_count", "operation=\"upsert\"") >= 1, text);
        Assert.True(Value(text, "vlink_partitions") >= 2, text);
        Assert.True(Value(text, "vlink_vectors") >= 25, text);
        // 25 two-dimensional points: at least their vectors (8 bytes each) are held; each partition says its own.
        Assert.True(Value(text, "vlink_memory_bytes") >= 25 * 8, text);
        Assert.True(Value(text, "vlink_partition_memory_bytes", "partition=\"metrics") > 0, text);
    }

    [Fact]
    public async Task Metrics_need_a_key()
    {
        await Api.Problem(await server.ClientWith(null).GetAsync("/metrics"), HttpStatusCode.Unauthorized, "api-key");
    }

    /// <summary>The sample value of the first line of <paramref name="metric"/> whose labels contain all of <paramref name="labels"/>.</summary>
    private static double Value(string text, string metric, params string[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            var match = Regex.Match(line, @"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)");
            if (!match.Success || match.Groups["name"].Value != metric) continue;
            if (!labels.All(l => match.Groups["labels"].Value.Contains(l, StringComparison.Ordinal))) continue;
            return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return double.NaN;
    }
}
