using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class ScrollCountApiTests(ServerFixture server)
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static bool _seeded;

    // 50 points with ids 1..50 and 5 UUID points, over 4 partitions.
    private async Task<HttpClient> Ready()
    {
        await Once.WaitAsync();
        try
        {
            if (!_seeded)
            {
                await DataApi.Seed(server.Client, "scroll", 50);
                var uuids = new JsonArray();
                for (int i = 0; i < 5; i++)
                    uuids.Add(new JsonObject { ["id"] = $"00000000-0000-0000-0000-00000000000{i}", ["vector"] = new JsonArray(-i, 1), ["document"] = $"text {i}" });
                await DataApi.Upsert(server.Client, "scroll", uuids.ToJsonString());
                _seeded = true;
            }
        }
        finally { Once.Release(); }
        return server.Client;
    }

    [Fact]
    public async Task Scroll_pages_through_every_point_in_ascending_id_order_numbers_first()
    {
        var client = await Ready();
        var seen = new List<string>();
        JsonNode? offset = null;
        int pages = 0;
        do
        {
            var body = new JsonObject { ["limit"] = 8, ["with_payload"] = false };
            if (offset is not null) body["offset"] = offset.DeepClone();
            var result = (await DataApi.Ok(client, "/collections/scroll/points/scroll", body.ToJsonString()))["result"]!.AsObject();
            var points = result["points"]!.AsArray();
            Assert.InRange(points.Count, 1, 8);
            Assert.All(points, p => Assert.Null(p!["payload"]));
            Assert.All(points, p => Assert.Null(p!["vector"]));
            seen.AddRange(DataApi.Ids(points));
            offset = result["next_page_offset"];
            pages++;
        }
        while (offset is not null);

        var expected = Enumerable.Range(1, 50).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Concat(Enumerable.Range(0, 5).Select(i => $"00000000-0000-0000-0000-00000000000{i}"));
        Assert.Equal(expected, seen);
        Assert.Equal(7, pages);
    }

    [Fact]
    public async Task Scroll_defaults_to_ten_points_with_payload_and_honours_filter_offset_and_vectors()
    {
        var client = await Ready();
        var first = (await DataApi.Ok(client, "/collections/scroll/points/scroll", "{}"))["result"]!;
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"{i}"), DataApi.Ids(first["points"]));
        Assert.Equal(11, (int)first["next_page_offset"]!);
        Assert.Equal(3, (int)first["points"]![2]!["payload"]!["n"]!);

        var filtered = (await DataApi.Ok(client, "/collections/scroll/points/scroll", """
            {"filter":{"must":[{"key":"even","match":{"value":true}}],"must_not":[{"key":"group","match":{"value":"g0"}}]},
             "offset":21,"limit":3,"with_vector":true,"with_payload":["n"]}
            """))["result"]!;
        // Even, not a multiple of 3, from 21: 22, 26, 28; then 32.
        Assert.Equal(["22", "26", "28"], DataApi.Ids(filtered["points"]));
        Assert.Equal(32, (int)filtered["next_page_offset"]!);
        var p22 = filtered["points"]![0]!;
        Assert.Equal("""{"n":22}""", p22["payload"]!.ToJsonString());
        Assert.Equal([22f, 0f], p22["vector"]!.AsArray().Select(x => (float)x!));

        // A UUID offset starts among the strings; documents come back inside the payload.
        var strings = (await DataApi.Ok(client, "/collections/scroll/points/scroll",
            """{"offset":"00000000-0000-0000-0000-000000000003","limit":10}"""))["result"]!;
        Assert.Equal(["00000000-0000-0000-0000-000000000003", "00000000-0000-0000-0000-000000000004"], DataApi.Ids(strings["points"]));
        Assert.Null(strings["next_page_offset"]);
        Assert.Equal("text 3", (string?)strings["points"]![0]!["payload"]!["document"]);
    }

    [Fact]
    public async Task Count_counts_all_points_or_those_matching_a_filter()
    {
        var client = await Ready();
        Assert.Equal(55, (long)(await DataApi.Ok(client, "/collections/scroll/points/count", "{}"))["result"]!["count"]!);
        Assert.Equal(55, (long)(await DataApi.Ok(client, "/collections/scroll/points/count", """{"exact":false}"""))["result"]!["count"]!);
        var g1 = await DataApi.Ok(client, "/collections/scroll/points/count", """{"filter":{"must":[{"key":"group","match":{"value":"g1"}}]},"exact":true}""");
        Assert.Equal(17, (long)g1["result"]!["count"]!);
        var ids = await DataApi.Ok(client, "/collections/scroll/points/count", """{"filter":{"must":[{"has_id":[1,2,"00000000-0000-0000-0000-000000000001",999]}]}}""");
        Assert.Equal(3, (long)ids["result"]!["count"]!);
    }

    [Theory]
    [InlineData("scroll", """{"limit":0}""", "limit")]
    [InlineData("scroll", """{"limit":10001}""", "limit")]
    [InlineData("scroll", """{"offset":-1}""", "offset")]
    [InlineData("scroll", """{"offset":"not-a-uuid"}""", "offset")]
    [InlineData("scroll", """{"filter":{"must":[{"key":"n","range":{"gt":"x"}}]}}""", "filter.must[0].range.gt")]
    [InlineData("scroll", """{"order_by":"n"}""", "order_by")]
    [InlineData("scroll", """{"with_payload":7}""", "with_payload")]
    [InlineData("scroll", """{"with_vector":"yes"}""", "with_vector")]
    [InlineData("count", """{"exact":"yes"}""", "exact")]
    [InlineData("count", """{"filter":{"must":{"key":"n"}}}""", "filter.must")]
    [InlineData("count", """{"filter":[1]}""", "filter")]
    public async Task Bad_scroll_and_count_requests_are_400_naming_the_field(string route, string json, string field)
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, HttpMethod.Post, $"/collections/scroll/points/{route}", json), HttpStatusCode.BadRequest, field);
    }

    [Theory]
    [InlineData("scroll")]
    [InlineData("count")]
    public async Task An_unknown_collection_is_404(string route)
    {
        await Api.Problem(await Api.Send(server.Client, HttpMethod.Post, $"/collections/no-such/points/{route}", "{}"), HttpStatusCode.NotFound, "collection_name");
    }

    [Fact]
    public async Task A_read_key_may_scroll_and_count()
    {
        await Ready();
        using var reader = server.ClientWith(ServerFixture.ReadKey);
        await DataApi.Ok(reader, "/collections/scroll/points/scroll", "{}");
        await DataApi.Ok(reader, "/collections/scroll/points/count", "{}");
        var refused = await Api.Send(reader, HttpMethod.Post, "/collections/scroll/points/delete", """{"points":[1]}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}
