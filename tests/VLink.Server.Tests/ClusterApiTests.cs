using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class ClusterApiTests(ServerFixture server)
{
    private async Task<JsonNode> Cluster() => (await Api.Ok(await server.Client.GetAsync("/cluster")))["result"]!;

    [Fact]
    public async Task Cluster_names_this_node_as_the_only_member_and_leader_in_Qdrant_shape()
    {
        var result = await Cluster();

        Assert.Equal("enabled", (string?)result["status"]);
        string self = (string)result["self"]!;
        Assert.StartsWith("akka.tcp://vlink@127.0.0.1:", self, StringComparison.Ordinal);
        long peerId = (long)result["peer_id"]!;
        Assert.Equal(self, (string?)result["peers"]![peerId.ToString(System.Globalization.CultureInfo.InvariantCulture)]!["uri"]);
        Assert.Equal(self, (string?)result["leader"]);
        var member = Assert.Single(result["members"]!.AsArray())!;
        Assert.Equal(self, (string?)member["address"]);
        Assert.Equal("Up", (string?)member["status"]);
        Assert.Equal(1, (int)member["up_number"]!);
        Assert.True((bool)member["reachable"]!);
        Assert.True((bool)member["leader"]!);
        Assert.Empty(result["unreachable"]!.AsArray());
        // The catalog's log stands in for Qdrant's raft state: this node holds it.
        var raft = result["raft_info"]!;
        Assert.True((long)raft["term"]! >= 1);
        Assert.Equal(peerId, (long)raft["leader"]!);
        Assert.Equal("Leader", (string?)raft["role"]);
    }

    [Fact]
    public async Task Shards_list_every_partition_with_its_vectors_and_index_kind()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "cluster-shards", 2, "Euclid", shards: 3);
        var points = new JsonArray();
        for (int i = 0; i < 40; i++) points.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, -i) });
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/cluster-shards/points", new JsonObject { ["points"] = points }));

        var result = (await Api.Ok(await client.GetAsync("/cluster/shards")))["result"]!;

        var node = Assert.Single(result["nodes"]!.AsArray())!;
        Assert.True((bool)node["answered"]!);
        var mine = node["partitions"]!.AsArray().Where(p => (string?)p!["collection"] == "cluster-shards").ToList();
        Assert.Equal(["p0", "p1", "p2"], mine.Select(p => (string)p!["key"]!).Order(StringComparer.Ordinal));
        Assert.Equal(40, mine.Sum(p => (int)p!["vectors"]!));
        Assert.All(mine, p => Assert.Equal("flat", (string?)p!["index"]));
        Assert.All(mine, p => Assert.True((bool)p!["current"]!));
        // Each partition's memory covers at least its vectors (two floats each); nothing is memory-mapped here.
        Assert.All(mine, p => Assert.True((long)p!["memory_bytes"]! >= 8L * (int)p!["vectors"]!));
        Assert.All(mine, p => Assert.Equal(0, (long)p!["mapped_bytes"]!));
        Assert.True((long)result["vectors"]! >= 40);
    }

    [Fact]
    public async Task Singleton_names_the_catalog_node_and_its_log_position()
    {
        await Api.CreateCollection(server.Client, "cluster-singleton", 2, "Dot", shards: 1);
        string self = (string)(await Cluster())["self"]!;

        var result = (await Api.Ok(await server.Client.GetAsync("/cluster/singleton")))["result"]!;

        Assert.Equal(self, (string?)result["node"]);
        Assert.Equal(self, (string?)result["oldest"]);
        Assert.True((long)result["term"]! >= 1);
        Assert.True((long)result["index"]! >= 1);
        Assert.True((int)result["collections"]! >= 1);
        Assert.Equal(1, (int)result["schema_version"]!);
    }

    [Theory]
    [InlineData("/cluster/leave", """{"address":"nonsense"}""")]
    [InlineData("/cluster/leave", """{"address":"127.0.0.1:99999"}""")]
    [InlineData("/cluster/leave", """{"address":"akka.tcp://other@127.0.0.1:4053"}""")]
    [InlineData("/cluster/leave", """{"address":"http://vlink@127.0.0.1:4053"}""")]
    [InlineData("/cluster/leave", """{"address":12}""")]
    [InlineData("/cluster/leave", """{}""")]
    [InlineData("/cluster/down", """{"address":"host only"}""")]
    public async Task Bad_addresses_are_400_naming_the_field(string path, string body)
    {
        var response = await Api.Send(server.Client, HttpMethod.Post, path, body);
        await Api.Problem(response, HttpStatusCode.BadRequest, "address");
    }

    [Theory]
    [InlineData("/cluster/leave", "127.0.0.1:1")]
    [InlineData("/cluster/down", "akka.tcp://vlink@10.255.255.1:4053")]
    public async Task Unknown_members_are_404(string path, string address)
    {
        var response = await Api.Send(server.Client, HttpMethod.Post, path, new JsonObject { ["address"] = address });
        await Api.Problem(response, HttpStatusCode.NotFound, "address");
    }

    [Fact]
    public async Task Join_accepts_the_own_cluster_and_refuses_another()
    {
        string self = (string)(await Cluster())["self"]!;
        string hostPort = self[(self.IndexOf('@', StringComparison.Ordinal) + 1)..];

        var same = (await Api.Ok(await Api.Send(server.Client, HttpMethod.Post, "/cluster/join", new JsonObject { ["seed"] = hostPort })))["result"]!;
        Assert.True((bool)same["already_member"]!);
        Assert.Equal(self, (string?)same["seed"]);

        await Api.Problem(await Api.Send(server.Client, HttpMethod.Post, "/cluster/join", """{"seed":"127.0.0.1:1"}"""), HttpStatusCode.Conflict, "seed");
        await Api.Problem(await Api.Send(server.Client, HttpMethod.Post, "/cluster/join", """{"seed":"no-port"}"""), HttpStatusCode.BadRequest, "seed");

        // Nothing changed: still one member, Up.
        Assert.Equal("Up", (string?)Assert.Single((await Cluster())["members"]!.AsArray())!["status"]);
    }

    [Fact]
    public async Task Reads_need_a_read_key_and_operations_an_admin_key()
    {
        using var reader = server.ClientWith(ServerFixture.ReadKey);
        using var writer = server.ClientWith(ServerFixture.WriteKey);
        using var anonymous = server.ClientWith(null);

        foreach (string path in new[] { "/cluster", "/cluster/shards", "/cluster/singleton" })
        {
            await Api.Ok(await reader.GetAsync(path));
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        }
        foreach (string path in new[] { "/cluster/leave", "/cluster/down", "/cluster/join" })
        {
            // Refused before the body is read: a valid request of a lesser role changes nothing.
            Assert.Equal(HttpStatusCode.Forbidden, (await Api.Send(reader, HttpMethod.Post, path, """{"address":"127.0.0.1:1","seed":"127.0.0.1:1"}""")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await Api.Send(writer, HttpMethod.Post, path, """{"address":"127.0.0.1:1","seed":"127.0.0.1:1"}""")).StatusCode);
        }
        Assert.Equal("Up", (string?)Assert.Single((await Cluster())["members"]!.AsArray())!["status"]);
    }
}
