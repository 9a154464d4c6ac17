using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>
/// No request is run with part of it ignored: a field VLink does not read, at the top of a body or inside one of its
/// objects, is a 400 naming the field's path, on every route that reads a JSON body, and nothing is written.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class UnknownFieldTests(ServerFixture server)
{
    private const string Collection = "strict-fields";
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static bool _created;

    private async Task<HttpClient> Ready()
    {
        await Once.WaitAsync();
        try
        {
            if (!_created)
            {
                await Api.CreateCollection(server.Client, Collection, 3, "Cosine", shards: 2);
                await Api.Ok(await Api.Send(server.Client, HttpMethod.Put, $"/collections/{Collection}/points?wait=true",
                    """{"points":[{"id":1,"vector":[1,0,0],"payload":{"a":1}},{"id":2,"vector":[0,1,0]},{"id":3,"vector":[0,0,1]}]}"""));
            }
            _created = true;
        }
        finally { Once.Release(); }
        return server.Client;
    }

    [Theory]
    [InlineData("PUT", "/collections/strict-new", """{"vectors":{"size":3,"distance":"Cosine"},"optimizers_config":{}}""", "optimizers_config")]
    [InlineData("PUT", "/collections/strict-new", """{"vectors":{"size":3,"distance":"Cosine","on_disk":true}}""", "vectors.on_disk")]
    [InlineData("PUT", "/collections/strict-new", """{"vectors":{"size":3,"distance":"Cosine"},"hnsw_config":{"m":16,"full_scan_threshold":10}}""", "hnsw_config.full_scan_threshold")]
    [InlineData("PUT", "/collections/strict-new", """{"vectors":{"size":3,"distance":"Cosine"},"quantization_config":{"scalar":{"type":"int8","bits":8}}}""", "quantization_config.scalar.bits")]
    [InlineData("PUT", "/collections/strict-new", """{"vectors":{"size":3,"distance":"Cosine"},"regions":{"probes":2,"k":3}}""", "regions.k")]
    [InlineData("PUT", "/collections/strict-fields/points", """{"points":[{"id":9,"vector":[1,0,0],"vectors":{}}]}""", "points[0].vectors")]
    [InlineData("PUT", "/collections/strict-fields/points", """{"points":[{"id":9,"vector":[1,0,0]}],"ordering":"strong"}""", "ordering")]
    [InlineData("POST", "/collections/strict-fields/points", """{"ids":[1],"with_vectors":true}""", "with_vectors")]
    [InlineData("POST", "/collections/strict-fields/points/search", """{"vector":[1,0,0],"limit":2,"with_vectors":true}""", "with_vectors")]
    [InlineData("POST", "/collections/strict-fields/points/search", """{"vector":[1,0,0],"params":{"hnsw_ef":10,"ef":5}}""", "params.ef")]
    [InlineData("POST", "/collections/strict-fields/points/search", """{"vector":[1,0,0],"params":{"quantization":{"rescore":true}}}""", "params.quantization")]
    [InlineData("POST", "/collections/strict-fields/points/search/batch", """{"searches":[{"vector":[1,0,0],"top":2}]}""", "searches[0].top")]
    [InlineData("POST", "/collections/strict-fields/points/search/batch", """{"searches":[],"consistency":"all"}""", "consistency")]
    [InlineData("POST", "/collections/strict-fields/points/query", """{"query":[1,0,0],"top":2}""", "top")]
    [InlineData("POST", "/collections/strict-fields/points/query", """{"query":{"nearest":[1,0,0],"mmr":null,"diversity":0.5}}""", "query.diversity")]
    [InlineData("POST", "/collections/strict-fields/points/query", """{"prefetch":[{"query":[1,0,0],"top":2}],"query":{"fusion":"rrf"}}""", "prefetch[0].top")]
    [InlineData("POST", "/collections/strict-fields/points/query/batch", """{"searches":[{"query":[1,0,0],"top":2}]}""", "searches[0].top")]
    [InlineData("POST", "/collections/strict-fields/points/delete", """{"points":[1],"ordering":"weak"}""", "ordering")]
    [InlineData("POST", "/collections/strict-fields/points/scroll", """{"limit":1,"with_vectors":true}""", "with_vectors")]
    [InlineData("POST", "/collections/strict-fields/points/count", """{"exact":true,"approximate":false}""", "approximate")]
    [InlineData("POST", "/collections/strict-fields/points/payload", """{"payload":{"b":2},"points":[1],"merge":true}""", "merge")]
    [InlineData("PUT", "/collections/strict-fields/points/payload", """{"payload":{"b":2},"points":[1],"merge":true}""", "merge")]
    [InlineData("POST", "/collections/strict-fields/points/payload/delete", """{"keys":["a"],"points":[1],"key":"a"}""", "key")]
    [InlineData("POST", "/collections/strict-fields/points/payload/clear", """{"points":[1],"keys":["a"]}""", "keys")]
    [InlineData("POST", "/collections/strict-fields/search/text", """{"query":"a","top":2}""", "top")]
    [InlineData("PUT", "/regimes/collections/strict-regimes", """{"bar_interval":"1d","window":20}""", "window")]
    [InlineData("PUT", "/regimes/collections/strict-regimes", """{"bar_interval":"1d","replication_factor":2}""", "replication_factor")]
    [InlineData("POST", "/regimes/search", """{"reference":{"market":"SPX","at":"2011-08-08"},"diverse":false}""", "diverse")]
    [InlineData("POST", "/cluster/leave", """{"address":"127.0.0.1:1","force":true}""", "force")]
    [InlineData("POST", "/cluster/down", """{"address":"127.0.0.1:1","force":true}""", "force")]
    [InlineData("POST", "/cluster/join", """{"seed":"127.0.0.1:1","force":true}""", "force")]
    public async Task An_unknown_field_is_400_naming_its_path_and_nothing_is_written(string method, string path, string body, string field)
    {
        var client = await Ready();
        var problem = await Api.Problem(await Api.Send(client, new HttpMethod(method), path, body), HttpStatusCode.BadRequest, field);
        Assert.Contains(field, (string?)problem["detail"], StringComparison.Ordinal);

        // Nothing written: the collection's points and payloads as they were, and no collection created.
        var count = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{Collection}/points/count", """{"exact":true}"""));
        Assert.Equal(3, (int)count["result"]!["count"]!);
        var one = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{Collection}/points", """{"ids":[1],"with_payload":true}"""));
        Assert.Equal("""{"a":1}""", one["result"]![0]!["payload"]!.ToJsonString());
        var exists = await Api.Ok(await Api.Send(client, HttpMethod.Get, "/collections/strict-new/exists"));
        Assert.False((bool)exists["result"]!["exists"]!);
    }

    [Fact]
    public async Task A_null_field_counts_as_absent_and_known_fields_still_pass()
    {
        var client = await Ready();
        var answer = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{Collection}/points/search",
            """{"vector":[1,0,0],"limit":2,"offset":null,"with_payload":true,"with_vector":false,"score_threshold":null,"filter":null,"params":{"hnsw_ef":16,"exact":false,"indexed_only":false},"shard_key":null,"not_a_field":null}"""));
        Assert.Equal(1, (int)answer["result"]![0]!["id"]!);
    }
}
