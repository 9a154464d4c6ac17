using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class ErrorTests(ServerFixture server)
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static bool _created;

    private async Task<HttpClient> Ready()
    {
        await Once.WaitAsync();
        try
        {
            if (!_created) await Api.CreateCollection(server.Client, "errors", 3, "Cosine", shards: 2);
            _created = true;
        }
        finally { Once.Release(); }
        return server.Client;
    }

    [Theory]
    [InlineData("PUT", "/collections/errors/points", "{\"points\": [")]
    [InlineData("POST", "/collections/errors/points/search", "{\"vector\": [1, 2, NaN]}")]
    [InlineData("PUT", "/collections/bad-json", "not json")]
    public async Task Malformed_json_is_400(string method, string path, string json)
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, new HttpMethod(method), path, json), HttpStatusCode.BadRequest, "body");
    }

    [Theory]
    [InlineData("{\"vector\":[1,2]}", "vector")]
    [InlineData("{\"vector\":[1,2,3,4]}", "vector")]
    [InlineData("{\"vector\":[1,\"NaN\",3]}", "vector[1]")]
    [InlineData("{\"vector\":[1,1e40,3]}", "vector[1]")]
    [InlineData("{\"vector\":[0,0,0]}", "vector")]
    [InlineData("{\"limit\":10}", "vector")]
    [InlineData("{\"vector\":[1,2,3],\"limit\":0}", "limit")]
    [InlineData("{\"vector\":[1,2,3],\"limit\":-3}", "limit")]
    [InlineData("{\"vector\":[1,2,3],\"limit\":10001}", "limit")]
    [InlineData("{\"vector\":[1,2,3],\"params\":{\"exact\":\"yes\"}}", "params.exact")]
    public async Task Bad_search_is_400_naming_the_field(string json, string field)
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, HttpMethod.Post, "/collections/errors/points/search", json), HttpStatusCode.BadRequest, field);
    }

    [Theory]
    [InlineData("{\"points\":[{\"id\":1,\"vector\":[1,2]}]}", "points[0].vector")]
    [InlineData("{\"points\":[{\"id\":1}]}", "points[0].vector")]
    [InlineData("{\"points\":[{\"id\":true,\"vector\":[1,2,3]}]}", "points[0].id")]
    [InlineData("{\"points\":[{\"id\":-1,\"vector\":[1,2,3]}]}", "points[0].id")]
    [InlineData("{\"points\":[{\"id\":1.5,\"vector\":[1,2,3]}]}", "points[0].id")]
    [InlineData("{\"points\":[{\"id\":\"not-a-uuid\",\"vector\":[1,2,3]}]}", "points[0].id")]
    [InlineData("{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":[1]}]}", "points[0].payload")]
    [InlineData("{}", "points")]
    public async Task Bad_upsert_is_400_naming_the_field(string json, string field)
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/errors/points", json), HttpStatusCode.BadRequest, field);
    }

    [Theory]
    [InlineData("{\"vectors\":{\"size\":0,\"distance\":\"Cosine\"}}", "vectors.size")]
    [InlineData("{\"vectors\":{\"size\":4,\"distance\":\"Manhattan\"}}", "vectors.distance")]
    [InlineData("{\"shard_number\":2}", "vectors")]
    [InlineData("{\"vectors\":{\"size\":4,\"distance\":\"Dot\"},\"shard_number\":0}", "shard_number")]
    public async Task Bad_create_is_400_naming_the_field(string json, string field)
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/never", json), HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Invalid_collection_name_is_400()
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/bad%20name", "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"}}"),
            HttpStatusCode.BadRequest, "collection_name");
    }

    [Theory]
    [InlineData("GET", "/collections/nowhere", null)]
    [InlineData("PUT", "/collections/nowhere/points", "{\"points\":[]}")]
    [InlineData("POST", "/collections/nowhere/points/search", "{\"vector\":[1,2,3]}")]
    [InlineData("POST", "/collections/nowhere/points", "{\"ids\":[1]}")]
    [InlineData("POST", "/collections/nowhere/points/scroll", "{}")]
    [InlineData("POST", "/collections/nowhere/points/count", "{}")]
    [InlineData("POST", "/collections/nowhere/points/delete", "{\"points\":[1]}")]
    public async Task Unknown_collection_is_404(string method, string path, string? json)
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, new HttpMethod(method), path, json), HttpStatusCode.NotFound, "collection_name");
    }

    [Fact]
    public async Task Failed_upsert_batch_changes_nothing()
    {
        var client = await Ready();
        await Api.CreateCollection(client, "atomic", 3, "Euclid", shards: 4);
        const string good = """{"points":[{"id":1,"vector":[1,1,1],"payload":{"v":1}},{"id":2,"vector":[2,2,2],"payload":{"v":2}}]}""";
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/atomic/points", good));
        var before = await Read(client);

        // Changes point 1, adds 3..20, and one bad point at the end: none of it may land.
        var points = new JsonArray { new JsonObject { ["id"] = 1, ["vector"] = new JsonArray(9, 9, 9), ["payload"] = new JsonObject { ["v"] = 99 } } };
        for (int i = 3; i <= 20; i++) points.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, i, i) });
        points.Add(new JsonObject { ["id"] = 21, ["vector"] = new JsonArray(1, 2) });
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/atomic/points", new JsonObject { ["points"] = points }),
            HttpStatusCode.BadRequest, "points[19].vector");

        Assert.Equal(before, await Read(client));
        var info = (await Api.Ok(await client.GetAsync("/collections/atomic")))["result"]!;
        Assert.Equal(2, (long)info["points_count"]!);
    }

    private static async Task<string> Read(HttpClient client)
    {
        var ids = string.Join(",", Enumerable.Range(1, 21));
        var body = await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/atomic/points",
            $$"""{"ids":[{{ids}}],"with_payload":true,"with_vector":true}"""));
        return body["result"]!.ToJsonString();
    }
}
