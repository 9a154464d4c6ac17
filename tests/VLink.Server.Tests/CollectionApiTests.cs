using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class CollectionApiTests(ServerFixture server)
{
    [Fact]
    public async Task Health_and_readiness_answer_200()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task Create_list_get_delete()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "lifecycle", 4, "Dot", shards: 3);
        // Creating again with the same configuration is accepted (idempotent).
        await Api.CreateCollection(client, "lifecycle", 4, "Dot", shards: 3);

        var list = await Api.Ok(await client.GetAsync("/collections"));
        Assert.Contains(list["result"]!["collections"]!.AsArray(), c => (string?)c!["name"] == "lifecycle");

        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/lifecycle/points",
            """{"points":[{"id":1,"vector":[1,0,0,0]},{"id":2,"vector":[0,1,0,0]}]}"""));
        var info = (await Api.Ok(await client.GetAsync("/collections/lifecycle")))["result"]!;
        Assert.Equal("green", (string?)info["status"]);
        Assert.Equal(2, (long)info["points_count"]!);
        Assert.Equal(4, (int)info["config"]!["params"]!["vectors"]!["size"]!);
        Assert.Equal("Dot", (string?)info["config"]!["params"]!["vectors"]!["distance"]);
        Assert.Equal(3, (int)info["config"]!["params"]!["shard_number"]!);
        Assert.Equal(16, (int)info["config"]!["hnsw_config"]!["m"]!);
        Assert.Equal(100, (int)info["config"]!["hnsw_config"]!["ef_construct"]!);

        var deleted = await Api.Ok(await client.DeleteAsync("/collections/lifecycle"));
        Assert.True((bool)deleted["result"]!);
        await Api.Problem(await client.GetAsync("/collections/lifecycle"), HttpStatusCode.NotFound, "collection_name");
        var again = await Api.Ok(await client.DeleteAsync("/collections/lifecycle"));
        Assert.False((bool)again["result"]!);
        var after = await Api.Ok(await client.GetAsync("/collections"));
        Assert.DoesNotContain(after["result"]!["collections"]!.AsArray(), c => (string?)c!["name"] == "lifecycle");
    }

    [Fact]
    public async Task Scalar_quantization_is_a_collection_option_in_Qdrants_shape()
    {
        var client = server.Client;
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/quantized",
            """{"vectors":{"size":8,"distance":"Cosine"},"quantization_config":{"scalar":{"type":"int8","quantile":0.99,"always_ram":true}}}"""));
        var info = (await Api.Ok(await client.GetAsync("/collections/quantized")))["result"]!;
        var scalar = info["config"]!["quantization_config"]!["scalar"]!;
        Assert.Equal("int8", (string?)scalar["type"]);
        Assert.Equal(0.99, (double)scalar["quantile"]!);
        Assert.True((bool)scalar["always_ram"]!);

        await Api.CreateCollection(client, "unquantized", 4, "Dot");
        var none = (await Api.Ok(await client.GetAsync("/collections/unquantized")))["result"]!;
        Assert.Null(none["config"]!["quantization_config"]);
    }

    [Theory]
    [InlineData("""{"scalar":{"type":"int4"}}""", "quantization_config.scalar.type")]
    [InlineData("""{"scalar":{"type":"int8","quantile":0.2}}""", "quantization_config.scalar.quantile")]
    [InlineData("""{"scalar":{"type":"int8","always_ram":"yes"}}""", "quantization_config.scalar.always_ram")]
    [InlineData("""{"product":{"compression":"x16"}}""", "quantization_config.product")]
    [InlineData("""{}""", "quantization_config.scalar")]
    [InlineData("""[1]""", "quantization_config")]
    public async Task A_bad_quantization_config_is_400_naming_the_field_and_creates_nothing(string config, string field)
    {
        var response = await Api.Send(server.Client, HttpMethod.Put, "/collections/badquant",
            $$"""{"vectors":{"size":8,"distance":"Cosine"},"quantization_config":{{config}}}""");
        await Api.Problem(response, HttpStatusCode.BadRequest, field);
        await Api.Problem(await server.Client.GetAsync("/collections/badquant"), HttpStatusCode.NotFound, "collection_name");
    }

    [Fact]
    public async Task Conflicting_create_is_409()
    {
        await Api.CreateCollection(server.Client, "conflict", 4, "Cosine");
        var response = await Api.Send(server.Client, HttpMethod.Put, "/collections/conflict", """{"vectors":{"size":5,"distance":"Cosine"}}""");
        await Api.Problem(response, HttpStatusCode.Conflict, "collection_name");
    }
}
