using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class CollectionInfoApiTests(ServerFixture server)
{
    [Fact]
    public async Task Exists_answers_true_or_false()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "exists-check", 2, "Dot", shards: 1);
        var yes = await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/exists-check/exists"));
        Assert.True((bool)yes["result"]!["exists"]!);
        var no = await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/never-created/exists"));
        Assert.False((bool)no["result"]!["exists"]!);

        using var reader = server.ClientWith(ServerFixture.ReadKey);
        await Api.Ok(await Api.Send(reader, HttpMethod.Get, "/collections/exists-check/exists"));
    }

    [Fact]
    public async Task Info_reports_points_and_the_points_indexed_by_a_graph()
    {
        var client = server.Client;
        await DataApi.Seed(client, "info-counts", 30, shards: 2);
        var info = (await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/info-counts")))["result"]!;
        Assert.Equal(30, (long)info["points_count"]!);
        // Partitions below the flat threshold (2,000 points) scan exactly and index nothing.
        Assert.Equal(0, (long)info["indexed_vectors_count"]!);

        await DataApi.Ok(client, "/collections/info-counts/points/delete", """{"points":[1,2,3]}""");
        info = (await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/info-counts")))["result"]!;
        Assert.Equal(27, (long)info["points_count"]!);
    }

    [Fact]
    public async Task Indexed_vectors_count_counts_graph_partitions()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "info-graph", 2, "Euclid", shards: 1);
        var points = new JsonArray();
        for (int i = 0; i < 2_100; i++) points.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i % 97, i / 97) });
        await DataApi.Upsert(client, "info-graph", points.ToJsonString());
        var info = (await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/info-graph")))["result"]!;
        Assert.Equal(2_100, (long)info["points_count"]!);
        Assert.Equal(2_100, (long)info["indexed_vectors_count"]!);
    }

    [Fact]
    public async Task The_root_names_the_service_and_its_version_for_readers_only()
    {
        using var reader = server.ClientWith(ServerFixture.ReadKey);
        var response = await reader.GetAsync("/");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var body = JsonNode.Parse(text)!;
        Assert.Equal("vlink", (string?)body["title"]);
        Assert.Equal(VLink.Server.Api.ServiceEndpoints.QdrantDialect, (string?)body["version"]);
        Assert.Matches(@"^\d+\.\d+\.\d+", (string?)body["vlink_version"] ?? "");

        using var anonymous = server.ClientWith(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/")).StatusCode);
    }
}
