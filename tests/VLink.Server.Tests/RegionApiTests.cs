using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>Region-partitioned collections over REST: the <c>regions</c> extension of collection creation and <c>params.probes</c>.</summary>
[Collection(ServerCollection.Name)]
public sealed class RegionApiTests(ServerFixture server)
{
    private static JsonArray Points(int from, int count)
    {
        var points = new JsonArray();
        for (int i = from; i < from + count; i++)
        {
            // Four tight groups along the diagonal: k-means puts each in its own region.
            int group = i % 4;
            points.Add(new JsonObject
            {
                ["id"] = i,
                ["vector"] = new JsonArray(group * 10 + i % 7 * 0.01, group * 10 - i % 5 * 0.01),
                ["payload"] = new JsonObject { ["group"] = group },
            });
        }
        return points;
    }

    [Fact]
    public async Task A_region_collection_trains_on_its_first_points_and_searches_visit_the_probed_regions()
    {
        var client = server.Client;
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/regioned",
            """{"vectors":{"size":2,"distance":"Euclid"},"shard_number":4,"regions":{"train_size":40,"probes":1}}"""));
        var info = (await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/regioned")))["result"]!;
        Assert.Equal("staging", (string?)info["config"]!["regions"]!["phase"]);
        Assert.Equal(1, (int)info["segments_count"]!);

        await DataApi.Upsert(client, "regioned", Points(0, 30).ToJsonString());
        await DataApi.Upsert(client, "regioned", Points(30, 30).ToJsonString());
        info = (await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/regioned")))["result"]!;
        Assert.Equal("active", (string?)info["config"]!["regions"]!["phase"]);
        Assert.Equal(1, (int)info["config"]!["regions"]!["probes"]!);
        Assert.Equal(4, (int)info["segments_count"]!);
        Assert.Equal(60, (long)info["points_count"]!);

        // One probe reaches the query's own group: its 15 points, nothing of the other groups.
        var hits = (await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/regioned/points/search",
            """{"vector":[20,20],"limit":20,"with_payload":true}""")))["result"]!.AsArray();
        Assert.Equal(15, hits.Count);
        Assert.All(hits, h => Assert.Equal(2, (int)h!["payload"]!["group"]!));
        var wider = (await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/regioned/points/search",
            """{"vector":[20,20],"limit":20,"params":{"probes":4}}""")))["result"]!.AsArray();
        Assert.Equal(20, wider.Count);

        // Points are read and deleted by id wherever their region is.
        var got = (await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/regioned/points", """{"ids":[5,6,999],"with_vector":true}""")))["result"]!.AsArray();
        Assert.Equal([5, 6], got.Select(p => (int)p!["id"]!).Order());
        await DataApi.Ok(client, "/collections/regioned/points/delete", """{"points":[5,6]}""");
        var count = (await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/regioned/points/count", """{"exact":true}""")))["result"]!;
        Assert.Equal(58, (long)count["count"]!);
    }

    [Theory]
    [InlineData("""{"vectors":{"size":2,"distance":"Euclid"},"shard_number":4,"regions":{"probes":5}}""", "regions")]
    [InlineData("""{"vectors":{"size":2,"distance":"Euclid"},"shard_number":4,"regions":{"train_size":3}}""", "regions")]
    [InlineData("""{"vectors":{"size":2,"distance":"Euclid"},"regions":{"probes":0}}""", "regions.probes")]
    [InlineData("""{"vectors":{"size":2,"distance":"Euclid"},"regions":"yes"}""", "regions")]
    public async Task Bad_region_settings_are_refused_naming_the_field(string body, string field)
    {
        var response = await Api.Send(server.Client, HttpMethod.Put, "/collections/bad-regions", body);
        await Api.Problem(response, HttpStatusCode.BadRequest, field);
        var exists = await Api.Ok(await Api.Send(server.Client, HttpMethod.Get, "/collections/bad-regions/exists"));
        Assert.False((bool)exists["result"]!["exists"]!);
    }

    [Fact]
    public async Task A_probe_count_below_one_is_refused()
    {
        await Api.CreateCollection(server.Client, "probe-check", 2, "Euclid", shards: 1);
        var response = await Api.Send(server.Client, HttpMethod.Post, "/collections/probe-check/points/search", """{"vector":[1,2],"params":{"probes":0}}""");
        await Api.Problem(response, HttpStatusCode.BadRequest, "params.probes");
    }
}
