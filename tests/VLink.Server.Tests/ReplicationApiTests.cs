using System.Net;

namespace VLink.Server.Tests;

/// <summary>
/// Replicas over REST on one node (both replicas of each partition then share the node): the collection takes Qdrant's
/// <c>replication_factor</c> and <c>write_consistency_factor</c> (or <c>write_consistency</c>), writes say how many
/// replicas acknowledged, reads by id take a read consistency, and bad values are refused naming the field.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ReplicationApiTests(ServerFixture server)
{
    [Fact]
    public async Task A_replicated_collection_reports_its_factors_and_writes_say_how_many_replicas_acknowledged()
    {
        var client = server.Client;
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/replicated",
            """{"vectors":{"size":2,"distance":"Euclid"},"shard_number":3,"replication_factor":3,"write_consistency":"majority"}"""));
        var config = (await Api.Ok(await client.GetAsync("/collections/replicated")))["result"]!["config"]!["params"]!;
        Assert.Equal(3, (int)config["replication_factor"]!);
        Assert.Equal(2, (int)config["write_consistency_factor"]!);

        var upsert = await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/replicated/points",
            """{"points":[{"id":1,"vector":[1,0],"payload":{"a":1}},{"id":2,"vector":[0,1]},{"id":3,"vector":[1,1]}]}"""));
        Assert.InRange((int)upsert["result"]!["acknowledged"]!, 2, 3);
        // Each point is counted once, not once per replica. A replica answers from what it has stored, and with W = 2 of
        // 3 the third may still be storing the write (read-your-writes takes W = all), so the answers may lag a moment
        // (each read turns to the next replica); they never exceed 3.
        long count = 0, pointsCount = 0;
        System.Text.Json.Nodes.JsonObject search = null!;
        for (var until = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(50))
        {
            count = (long)(await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/replicated/points/count", "{}")))["result"]!["count"]!;
            pointsCount = (long)(await Api.Ok(await client.GetAsync("/collections/replicated")))["result"]!["points_count"]!;
            search = await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/replicated/points/search", """{"vector":[1,0],"limit":10}"""));
            Assert.InRange(count, 0, 3);
            Assert.InRange(pointsCount, 0, 3);
            Assert.InRange(search["result"]!.AsArray().Count, 0, 3);
            if ((count == 3 && pointsCount == 3 && search["result"]!.AsArray().Count == 3) || DateTime.UtcNow > until) break;
        }
        Assert.Equal(3, count);
        Assert.Equal(3, pointsCount);
        Assert.Equal(3, search["result"]!.AsArray().Count);
        Assert.True((bool)search["complete"]!);

        foreach (var consistency in new[] { "one", "majority", "quorum", "all", "2" })
        {
            var point = await Api.Ok(await client.GetAsync($"/collections/replicated/points/1?consistency={consistency}"));
            Assert.Equal(1, (int)point["result"]!["payload"]!["a"]!);
            var many = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/replicated/points?consistency={consistency}", """{"ids":[1,2,99]}"""));
            Assert.Equal(2, many["result"]!.AsArray().Count);
        }
        await Api.Problem(await client.GetAsync("/collections/replicated/points/99"), HttpStatusCode.NotFound, "id");
        await Api.Problem(await client.GetAsync("/collections/replicated/points/nope"), HttpStatusCode.BadRequest, "id");
        await Api.Problem(await client.GetAsync("/collections/replicated/points/1?consistency=some"), HttpStatusCode.BadRequest, "consistency");
        await Api.Problem(await client.GetAsync("/collections/replicated/points/1?consistency=0"), HttpStatusCode.BadRequest, "consistency");

        var deleted = await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/replicated/points/delete", """{"points":[2]}"""));
        Assert.InRange((int)deleted["result"]!["acknowledged"]!, 2, 3);
        Assert.Equal(2, (long)(await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/replicated/points/count", "{}")))["result"]!["count"]!);
    }

    [Theory]
    [InlineData("""{"vectors":{"size":2,"distance":"Dot"},"replication_factor":0}""", "replication_factor")]
    [InlineData("""{"vectors":{"size":2,"distance":"Dot"},"replication_factor":17}""", "replication_factor")]
    [InlineData("""{"vectors":{"size":2,"distance":"Dot"},"replication_factor":2,"write_consistency_factor":3}""", "write_consistency_factor")]
    [InlineData("""{"vectors":{"size":2,"distance":"Dot"},"replication_factor":2,"write_consistency":"most"}""", "write_consistency")]
    [InlineData("""{"vectors":{"size":2,"distance":"Dot"},"replication_factor":2,"write_consistency":1,"write_consistency_factor":1}""", "write_consistency")]
    [InlineData("""{"vectors":{"size":2,"distance":"Dot"},"replication_factor":2,"regions":true}""", "replication_factor")]
    public async Task Bad_replication_settings_are_refused_naming_the_field(string body, string field)
    {
        await Api.Problem(await Api.Send(server.Client, HttpMethod.Put, "/collections/badreplicas", body), HttpStatusCode.BadRequest, field);
        await Api.Problem(await server.Client.GetAsync("/collections/badreplicas"), HttpStatusCode.NotFound, "collection_name");
    }

    [Fact]
    public async Task Without_replication_settings_a_collection_has_one_replica_and_writes_acknowledge_one()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "single", 2, "Dot");
        var config = (await Api.Ok(await client.GetAsync("/collections/single")))["result"]!["config"]!["params"]!;
        Assert.Equal(1, (int)config["replication_factor"]!);
        Assert.Equal(1, (int)config["write_consistency_factor"]!);
        var upsert = await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/single/points", """{"points":[{"id":1,"vector":[1,0]}]}"""));
        Assert.Equal(1, (int)upsert["result"]!["acknowledged"]!);
    }
}
