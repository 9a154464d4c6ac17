using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>
/// <c>GET /cluster/shards</c> with a replicated collection: every replica is listed with its index, vectors, digest and
/// high-water version (equal digests once the replicas agree), and the totals count each partition once.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ReplicaShardsApiTests(ServerFixture server)
{
    [Fact]
    public async Task Shards_list_every_replica_with_its_digest_and_count_each_partition_once()
    {
        var client = server.Client;
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/replica-shards",
            """{"vectors":{"size":2,"distance":"Euclid"},"shard_number":2,"replication_factor":2,"write_consistency":"all"}"""));
        var points = new JsonArray();
        for (int i = 0; i < 30; i++) points.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, -i) });
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/replica-shards/points", new JsonObject { ["points"] = points }));
        await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/replica-shards/points/delete", """{"points":[0,1,2]}"""));

        var result = (await Api.Ok(await client.GetAsync("/cluster/shards")))["result"]!;
        var node = Assert.Single(result["nodes"]!.AsArray())!;
        var mine = node["partitions"]!.AsArray().Where(p => (string?)p!["collection"] == "replica-shards").Select(p => p!).ToList();

        // Two partitions, two replicas each, every replica holding its own copy.
        Assert.Equal(4, mine.Count);
        Assert.Equal([0, 0, 1, 1], mine.Select(p => (int)p["replica"]!).Order());
        Assert.Equal(27, mine.Where(p => (int)p["replica"]! == 0).Sum(p => (int)p["vectors"]!));
        Assert.Equal(27, mine.Where(p => (int)p["replica"]! == 1).Sum(p => (int)p["vectors"]!));
        foreach (var partition in mine.GroupBy(p => (string)p["key"]!))
        {
            var (zero, one) = (partition.Single(p => (int)p["replica"]! == 0), partition.Single(p => (int)p["replica"]! == 1));
            Assert.EndsWith("#1/" + partition.Key, (string)one["entity_id"]!, StringComparison.Ordinal);
            Assert.Equal(12, ((string)zero["digest"]!).Length);
            Assert.NotEqual("000000000000", (string)zero["digest"]!);
            // Both replicas received every write (write consistency all): same digest, same high water, same vectors.
            Assert.Equal((string)zero["digest"]!, (string)one["digest"]!);
            Assert.Equal((string)zero["high_water"]!, (string)one["high_water"]!);
            Assert.Equal((int)zero["vectors"]!, (int)one["vectors"]!);
        }
        // The node's vectors count replica 0 only; hosted vectors count both copies.
        Assert.True((long)node["hosted_vectors"]! - (long)node["vectors"]! >= 27);
        Assert.True((int)result["replicas"]! - (int)result["partitions"]! >= 2);
    }
}
