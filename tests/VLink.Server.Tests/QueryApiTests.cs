using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class QueryApiTests(ServerFixture server)
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static bool _seeded;

    // Points 1..40 at [i, 0] with payload n = i: the nearest points of [x, 0] are known without a brute force.
    private async Task<HttpClient> Ready()
    {
        await Once.WaitAsync();
        try
        {
            if (!_seeded) await DataApi.Seed(server.Client, "query", 40, shards: 3);
            _seeded = true;
        }
        finally { Once.Release(); }
        return server.Client;
    }

    [Fact]
    public async Task Batch_search_answers_an_array_of_arrays_in_request_order()
    {
        var client = await Ready();
        var body = await DataApi.Ok(client, "/collections/query/points/search/batch", """
            {"searches":[
              {"vector":[10.2,0],"limit":3,"params":{"exact":true}},
              {"vector":[30.9,0],"limit":2,"with_payload":true,"params":{"exact":true}},
              {"vector":[20,0],"limit":4,"filter":{"must":[{"key":"even","match":{"value":false}}]},"params":{"exact":true}},
              {"vector":[5,0],"limit":2,"offset":1,"score_threshold":1.5,"params":{"exact":true}}
            ]}
            """);
        Assert.True((bool)body["complete"]!);
        Assert.Empty(body["missing_partitions"]!.AsArray());
        var result = body["result"]!.AsArray();
        Assert.Equal(4, result.Count);
        Assert.Equal(["10", "11", "9"], DataApi.Ids(result[0]));
        Assert.Equal(0.2, (double)result[0]![0]!["score"]!, 1e-5);
        Assert.Null(result[0]![0]!["payload"]);
        Assert.Equal(["31", "30"], DataApi.Ids(result[1]));
        Assert.Equal(31, (int)result[1]![0]!["payload"]!["n"]!);
        Assert.Equal(["19", "21", "17", "23"], DataApi.Ids(result[2]));
        // Offset 1 skips 5 itself; the threshold (a distance) keeps 4 and 6 at distance 1, in id order.
        Assert.Equal(["4", "6"], DataApi.Ids(result[3]));

        // The same searches without filters and with one limit travel together: same answers.
        var together = await DataApi.Ok(client, "/collections/query/points/search/batch", """
            {"searches":[{"vector":[10.2,0],"limit":3,"params":{"exact":true}},{"vector":[30.9,0],"limit":3,"params":{"exact":true}}]}
            """);
        Assert.Equal(["10", "11", "9"], DataApi.Ids(together["result"]![0]));
        Assert.Equal(["31", "30", "32"], DataApi.Ids(together["result"]![1]));
    }

    [Fact]
    public async Task Query_takes_a_vector_nearest_or_a_point_id_and_answers_points()
    {
        var client = await Ready();
        var plain = await DataApi.Ok(client, "/collections/query/points/query", """{"query":[7.1,0],"limit":3,"params":{"exact":true}}""");
        Assert.Equal(["7", "8", "6"], DataApi.Ids(plain["result"]!["points"]));
        Assert.True((bool)plain["complete"]!);
        var first = plain["result"]!["points"]![0]!.AsObject();
        Assert.Equal(0, (int)first["version"]!);
        Assert.Equal(0.1, (double)first["score"]!, 1e-5);
        Assert.Null(first["payload"]);

        var nearest = await DataApi.Ok(client, "/collections/query/points/query",
            """{"query":{"nearest":[7.1,0]},"limit":2,"offset":1,"with_payload":true,"with_vector":true,"params":{"exact":true}}""");
        var points = nearest["result"]!["points"]!;
        Assert.Equal(["8", "6"], DataApi.Ids(points));
        Assert.Equal(8, (int)points[0]!["payload"]!["n"]!);
        Assert.Equal([8f, 0f], points[0]!["vector"]!.AsArray().Select(x => (float)x!));

        // By id: the point's own vector, the point itself left out.
        var byId = await DataApi.Ok(client, "/collections/query/points/query", """{"query":20,"limit":3,"params":{"exact":true}}""");
        Assert.Equal(["19", "21", "18"], DataApi.Ids(byId["result"]!["points"]));
        var byNearestId = await DataApi.Ok(client, "/collections/query/points/query",
            """{"query":{"nearest":40},"limit":2,"filter":{"must":[{"key":"even","match":{"value":true}}]},"params":{"exact":true}}""");
        Assert.Equal(["38", "36"], DataApi.Ids(byNearestId["result"]!["points"]));
    }

    [Fact]
    public async Task Query_batch_answers_one_points_object_per_query()
    {
        var client = await Ready();
        var body = await DataApi.Ok(client, "/collections/query/points/query/batch", """
            {"searches":[{"query":[1,0],"limit":1},{"query":{"nearest":3},"limit":2,"params":{"exact":true}},{"query":[39.6,0],"limit":1,"with_payload":["n"]}]}
            """);
        var result = body["result"]!.AsArray();
        Assert.Equal(3, result.Count);
        Assert.Equal(["1"], DataApi.Ids(result[0]!["points"]));
        Assert.Equal(["2", "4"], DataApi.Ids(result[1]!["points"]));
        Assert.Equal("""{"n":40}""", result[2]!["points"]![0]!["payload"]!.ToJsonString());
    }

    [Theory]
    [InlineData("query", """{"limit":3}""", "query")]
    [InlineData("query", """{"query":[1,2,3]}""", "query")]
    [InlineData("query", """{"query":{"nearest":[1]}}""", "query.nearest")]
    [InlineData("query", """{"query":{"recommend":{"positive":[1]}}}""", "query.recommend")]
    [InlineData("query", """{"query":{"fusion":"rrf"}}""", "query.fusion")]
    [InlineData("query", """{"query":{"order_by":"n"}}""", "query.order_by")]
    [InlineData("query", """{"query":{"something":1}}""", "query.something")]
    [InlineData("query", """{"query":{}}""", "query")]
    [InlineData("query", """{"query":true}""", "query")]
    [InlineData("query", """{"query":{"nearest":{"text":"hello","model":"m"}}}""", "query.nearest")]
    [InlineData("query", """{"query":[1,0],"prefetch":[{"query":[1,0]}]}""", "query")] // prefetch needs {"fusion": "rrf"}
    [InlineData("query", """{"query":[1,0],"using":"dense"}""", "using")]
    [InlineData("query", """{"query":[1,0],"lookup_from":{"collection":"x"}}""", "lookup_from")]
    [InlineData("query", """{"query":[1,0],"limit":0}""", "limit")]
    [InlineData("query", """{"query":[1,0],"limit":9000,"offset":2000}""", "offset")]
    [InlineData("query", """{"query":[1,0],"params":{"hnsw_ef":0}}""", "params.hnsw_ef")]
    [InlineData("query", """{"query":[1,0],"score_threshold":"high"}""", "score_threshold")]
    [InlineData("query", """{"query":[1,0],"filter":{"must":[{"key":"n","geo_radius":{}}]}}""", "filter.must[0].geo_radius")]
    [InlineData("query/batch", """{"searches":[{"query":[1,0]},{"query":[1]}]}""", "searches[1].query")]
    [InlineData("query/batch", """{"searches":[{"query":[1,0]},{"query":[1,0],"limit":-1}]}""", "searches[1].limit")]
    [InlineData("query/batch", """{"searches":{}}""", "searches")]
    [InlineData("query/batch", """{}""", "searches")]
    [InlineData("search/batch", """{"searches":[{"vector":[1,0],"with_payload":{"include":3}}]}""", "searches[0].with_payload.include")]
    [InlineData("search/batch", """{"searches":[{"vector":[1,0]},{"limit":2}]}""", "searches[1].vector")]
    [InlineData("search/batch", """{"searches":[{"vector":[1,0],"filter":{"must":[{"key":"a","match":{"any":"x"}}]}}]}""", "searches[0].filter.must[0].match.any")]
    [InlineData("search/batch", """{"searches":[3]}""", "searches[0]")]
    [InlineData("search", """{"vector":[1,0],"shard_key":"a"}""", "shard_key")]
    [InlineData("query/batch", """{"searches":[{"query":[1,0],"shard_key":"a"}]}""", "searches[0].shard_key")]
    [InlineData("", """{"ids":[1],"shard_key":"a"}""", "shard_key")]
    public async Task Bad_queries_are_400_naming_the_field(string route, string json, string field)
    {
        var client = await Ready();
        string path = route.Length == 0 ? "/collections/query/points" : $"/collections/query/points/{route}";
        await Api.Problem(await Api.Send(client, HttpMethod.Post, path, json), HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task A_batch_of_more_than_100_searches_is_refused()
    {
        var client = await Ready();
        var searches = new JsonArray([.. Enumerable.Range(0, 101).Select(_ => (JsonNode)new JsonObject { ["vector"] = new JsonArray(1, 0) })]);
        await Api.Problem(await Api.Send(client, HttpMethod.Post, "/collections/query/points/search/batch", new JsonObject { ["searches"] = searches }),
            HttpStatusCode.BadRequest, "searches");
        var ok = await DataApi.Ok(client, "/collections/query/points/search/batch", """{"searches":[]}""");
        Assert.Empty(ok["result"]!.AsArray());
    }

    [Fact]
    public async Task A_query_by_an_unknown_point_id_is_404_and_an_unknown_collection_is_404()
    {
        var client = await Ready();
        await Api.Problem(await Api.Send(client, HttpMethod.Post, "/collections/query/points/query", """{"query":4040}"""), HttpStatusCode.NotFound, "query");
        await Api.Problem(await Api.Send(client, HttpMethod.Post, "/collections/query/points/query/batch", """{"searches":[{"query":[1,0]},{"query":{"nearest":4040}}]}"""),
            HttpStatusCode.NotFound, "searches[1].query.nearest");
        foreach (string route in new[] { "query", "query/batch", "search/batch" })
            await Api.Problem(await Api.Send(client, HttpMethod.Post, $"/collections/no-such/points/{route}", """{"query":[1,0],"searches":[]}"""), HttpStatusCode.NotFound, "collection_name");
    }

    [Fact]
    public async Task With_payload_include_and_exclude_select_keys()
    {
        var client = await Ready();
        var include = await DataApi.Ok(client, "/collections/query/points", """{"ids":[5],"with_payload":{"include":["n","group"]}}""");
        Assert.Equal("""{"n":5,"group":"g2"}""", include["result"]![0]!["payload"]!.ToJsonString());
        var exclude = await DataApi.Ok(client, "/collections/query/points", """{"ids":[5],"with_payload":{"exclude":["n"]}}""");
        Assert.Equal("""{"even":false,"group":"g2"}""", exclude["result"]![0]!["payload"]!.ToJsonString());
    }
}
