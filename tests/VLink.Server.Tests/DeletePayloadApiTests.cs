using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class DeletePayloadApiTests(ServerFixture server)
{
    private async Task<Dictionary<int, JsonObject?>> Payloads(HttpClient client, string name)
    {
        var page = await DataApi.Ok(client, $"/collections/{name}/points/scroll", """{"limit":1000}""");
        return page["result"]!["points"]!.AsArray().ToDictionary(p => (int)p!["id"]!, p => p!["payload"] as JsonObject);
    }

    private static void AssertCompleted(JsonObject body)
    {
        Assert.Equal(0, (int)body["result"]!["operation_id"]!);
        Assert.Equal("completed", (string?)body["result"]!["status"]);
    }

    [Fact]
    public async Task Delete_by_ids_and_by_filter_answers_qdrant_shape_and_removes_the_points()
    {
        var client = server.Client;
        await DataApi.Seed(client, "delete-points", 30);

        AssertCompleted(await DataApi.Ok(client, "/collections/delete-points/points/delete?wait=true", """{"points":[1,2,3,999]}"""));
        Assert.Equal(27, (long)(await DataApi.Ok(client, "/collections/delete-points/points/count", "{}"))["result"]!["count"]!);
        Assert.Empty((await DataApi.Ok(client, "/collections/delete-points/points", """{"ids":[1,2,3]}"""))["result"]!.AsArray());

        AssertCompleted(await DataApi.Ok(client, "/collections/delete-points/points/delete?wait=false",
            """{"filter":{"must":[{"key":"group","match":{"value":"g0"}}]}}"""));
        var left = await Payloads(client, "delete-points");
        Assert.Equal(Enumerable.Range(4, 27).Where(i => i % 3 != 0), left.Keys.Order());

        // The deleted points are gone from searches too.
        var hits = await DataApi.Ok(client, "/collections/delete-points/points/search", """{"vector":[6,0],"limit":3,"params":{"exact":true}}""");
        Assert.Equal(["5", "7", "4"], DataApi.Ids(hits["result"]));

        // An empty filter matches every point.
        AssertCompleted(await DataApi.Ok(client, "/collections/delete-points/points/delete", """{"filter":{}}"""));
        Assert.Equal(0, (long)(await DataApi.Ok(client, "/collections/delete-points/points/count", "{}"))["result"]!["count"]!);
    }

    [Fact]
    public async Task Payload_routes_set_overwrite_delete_keys_and_clear_by_ids_or_filter()
    {
        var client = server.Client;
        await DataApi.Seed(client, "payload-ops", 12, shards: 3);

        // Set merges top-level keys; by ids and by filter.
        AssertCompleted(await DataApi.Ok(client, "/collections/payload-ops/points/payload?wait=true", """{"payload":{"tag":"a","n":-1},"points":[1,2]}"""));
        AssertCompleted(await DataApi.Ok(client, "/collections/payload-ops/points/payload",
            """{"payload":{"big":true},"filter":{"must":[{"key":"n","range":{"gte":10}}]}}"""));
        var after = await Payloads(client, "payload-ops");
        Assert.Equal("""{"n":-1,"even":false,"group":"g1","tag":"a"}""", after[1]!.ToJsonString());
        Assert.Equal("""{"n":10,"even":true,"group":"g1","big":true}""", after[10]!.ToJsonString());
        Assert.False(after[9]!.ContainsKey("big"));

        // Filters see the new keys at once.
        var tagged = await DataApi.Ok(client, "/collections/payload-ops/points/count", """{"filter":{"must":[{"key":"tag","match":{"value":"a"}}]}}""");
        Assert.Equal(2, (long)tagged["result"]!["count"]!);

        // Overwrite replaces the whole payload.
        AssertCompleted(await DataApi.Ok(client, "/collections/payload-ops/points/payload", """{"payload":{"only":1},"points":[3]}""", HttpMethod.Put));
        Assert.Equal("""{"only":1}""", (await Payloads(client, "payload-ops"))[3]!.ToJsonString());

        // Delete keys, by filter.
        AssertCompleted(await DataApi.Ok(client, "/collections/payload-ops/points/payload/delete",
            """{"keys":["even","group"],"filter":{"must":[{"key":"n","range":{"lte":5}}]}}"""));
        after = await Payloads(client, "payload-ops");
        Assert.Equal("""{"n":-1,"tag":"a"}""", after[1]!.ToJsonString());
        Assert.Equal("""{"n":4}""", after[4]!.ToJsonString());
        Assert.Equal("""{"n":6,"even":true,"group":"g0"}""", after[6]!.ToJsonString());

        // Clear, by ids: the payload is {} afterwards.
        AssertCompleted(await DataApi.Ok(client, "/collections/payload-ops/points/payload/clear", """{"points":[1,4,404]}"""));
        after = await Payloads(client, "payload-ops");
        Assert.Empty(after[1]!);
        Assert.Empty(after[4]!);
        Assert.Equal(12, after.Count);
        var none = await DataApi.Ok(client, "/collections/payload-ops/points/count", """{"filter":{"must":[{"key":"tag","match":{"value":"a"}}]}}""");
        Assert.Equal(1, (long)none["result"]!["count"]!);
    }

    [Theory]
    [InlineData("delete", """{}""", "points")]
    [InlineData("delete", """{"points":[1],"filter":{}}""", "filter")]
    [InlineData("delete", """{"points":[1,-2]}""", "points[1]")]
    [InlineData("delete", """{"points":"1"}""", "points")]
    [InlineData("delete", """{"filter":{"must":[{"key":"n","match":{}}]}}""", "filter.must[0].match")]
    [InlineData("payload", """{"points":[1]}""", "payload")]
    [InlineData("payload", """{"payload":[1],"points":[1]}""", "payload")]
    [InlineData("payload", """{"payload":{"a":1}}""", "points")]
    [InlineData("payload", """{"payload":{"a":1},"points":[1],"key":"nested"}""", "key")]
    [InlineData("payload/delete", """{"points":[1]}""", "keys")]
    [InlineData("payload/delete", """{"keys":["a",3],"points":[1]}""", "keys[1]")]
    [InlineData("payload/delete", """{"keys":"a","points":[1]}""", "keys")]
    [InlineData("payload/clear", """{"filter":{"should":[{"key":"n","range":{"lt":null,"gt":"2"}}]}}""", "filter.should[0].range.gt")]
    public async Task Bad_requests_are_400_naming_the_field_and_change_nothing(string route, string json, string field)
    {
        var client = server.Client;
        string name = $"payload-bad-{route.Replace('/', '-')}-{json.Length}";
        await DataApi.Seed(client, name, 3, shards: 2);
        var before = await Payloads(client, name);

        await Api.Problem(await Api.Send(client, HttpMethod.Post, $"/collections/{name}/points/{route}", json), HttpStatusCode.BadRequest, field);

        var after = await Payloads(client, name);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (id, payload) in before) Assert.Equal(payload!.ToJsonString(), after[id]!.ToJsonString());
    }

    [Fact]
    public async Task A_bad_wait_parameter_is_400_and_unknown_collections_are_404()
    {
        var client = server.Client;
        await DataApi.Seed(client, "payload-wait", 2, shards: 1);
        await Api.Problem(await Api.Send(client, HttpMethod.Post, "/collections/payload-wait/points/delete?wait=soon", """{"points":[1]}"""), HttpStatusCode.BadRequest, "wait");
        Assert.Equal(2, (long)(await DataApi.Ok(client, "/collections/payload-wait/points/count", "{}"))["result"]!["count"]!);
        foreach (string route in new[] { "delete", "payload", "payload/delete", "payload/clear" })
        {
            await Api.Problem(await Api.Send(client, HttpMethod.Post, $"/collections/no-such/points/{route}", """{"points":[1],"payload":{},"keys":["a"]}"""),
                HttpStatusCode.NotFound, "collection_name");
        }
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/no-such/points/payload", """{"points":[1],"payload":{}}"""), HttpStatusCode.NotFound, "collection_name");
    }
}
