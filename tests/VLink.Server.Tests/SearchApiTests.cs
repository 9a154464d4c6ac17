using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class SearchApiTests(ServerFixture server)
{
    private const int Dim = 8;
    private const int Count = 200;

    [Theory]
    [InlineData("Cosine")]
    [InlineData("Dot")]
    [InlineData("Euclid")]
    public async Task Search_matches_brute_force_with_qdrant_scores(string distance)
    {
        var client = server.Client;
        string name = "search-" + distance.ToLowerInvariant();
        await Api.CreateCollection(client, name, Dim, distance);
        var rng = new Random(7);
        var vectors = Enumerable.Range(0, Count).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var points = new JsonArray();
        for (int i = 0; i < Count; i++)
            points.Add(new JsonObject { ["id"] = i, ["vector"] = Api.Vector(vectors[i]), ["payload"] = new JsonObject { ["n"] = i, ["tag"] = $"p{i}" } });
        var upsert = await Api.Ok(await Api.Send(client, HttpMethod.Put, $"/collections/{name}/points", new JsonObject { ["points"] = points }));
        Assert.Equal("completed", (string?)upsert["result"]!["status"]);

        var query = Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var body = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{name}/points/search", new JsonObject
        {
            ["vector"] = Api.Vector(query),
            ["limit"] = 10,
            ["with_payload"] = true,
            ["with_vector"] = false,
            ["params"] = new JsonObject { ["exact"] = true },
        }));
        Assert.True((bool)body["complete"]!);
        Assert.Empty(body["missing_partitions"]!.AsArray());

        var expected = Enumerable.Range(0, Count)
            .Select(i => (Id: i, Score: ExpectedScore(distance, query, vectors[i])))
            .OrderBy(x => distance == "Euclid" ? x.Score : -x.Score)
            .Take(10)
            .ToList();
        var hits = body["result"]!.AsArray();
        Assert.Equal(10, hits.Count);
        for (int r = 0; r < 10; r++)
        {
            var hit = hits[r]!.AsObject();
            Assert.Equal(expected[r].Id, (int)hit["id"]!);
            Assert.Equal(0, (int)hit["version"]!);
            Assert.Equal(expected[r].Score, (double)hit["score"]!, 1e-4);
            Assert.Equal(expected[r].Id, (int)hit["payload"]!["n"]!);
            Assert.Equal($"p{expected[r].Id}", (string?)hit["payload"]!["tag"]);
        }

        // Without payload: payload is null; a threshold cuts the list where Qdrant would.
        double cut = expected[4].Score;
        var thresholded = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{name}/points/search", new JsonObject
        {
            ["vector"] = Api.Vector(query),
            ["limit"] = 10,
            ["score_threshold"] = distance == "Euclid" ? cut + 1e-6 : cut - 1e-6,
        }));
        var cutHits = thresholded["result"]!.AsArray();
        Assert.Equal(5, cutHits.Count);
        Assert.All(cutHits, h => Assert.Null(h!["payload"]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_filtered_search_returns_only_matching_points_and_the_filtered_brute_force_top10(bool exact)
    {
        var client = server.Client;
        string name = "filtered-" + (exact ? "exact" : "ann");
        await Api.CreateCollection(client, name, Dim, "Euclid");
        var rng = new Random(11);
        var vectors = Enumerable.Range(0, Count).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var points = new JsonArray();
        for (int i = 0; i < Count; i++)
            points.Add(new JsonObject { ["id"] = i, ["vector"] = Api.Vector(vectors[i]), ["payload"] = new JsonObject { ["n"] = i, ["colour"] = i % 3 == 0 ? "red" : "blue" } });
        await Api.Ok(await Api.Send(client, HttpMethod.Put, $"/collections/{name}/points", new JsonObject { ["points"] = points }));

        var query = vectors[42].Select(x => x + 0.01f).ToArray();
        var filter = new JsonObject
        {
            ["must"] = new JsonArray(new JsonObject { ["key"] = "colour", ["match"] = new JsonObject { ["value"] = "red" } }),
            ["must_not"] = new JsonArray(new JsonObject { ["key"] = "n", ["range"] = new JsonObject { ["lt"] = 30 } }),
        };
        var body = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{name}/points/search", new JsonObject
        {
            ["vector"] = Api.Vector(query),
            ["limit"] = 10,
            ["filter"] = filter,
            ["with_payload"] = true,
            ["params"] = new JsonObject { ["exact"] = exact },
        }));
        Assert.True((bool)body["complete"]!);
        var ids = body["result"]!.AsArray().Select(h => (int)h!["id"]!).ToList();
        Assert.All(ids, id => Assert.True(id % 3 == 0 && id >= 30, $"point {id} does not match the filter"));
        var expected = Enumerable.Range(0, Count).Where(i => i % 3 == 0 && i >= 30)
            .OrderBy(i => vectors[i].Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).Take(10).ToList();
        if (exact) Assert.Equal(expected, ids);
        else Assert.True(ids.Intersect(expected).Count() >= 9, $"recall {ids.Intersect(expected).Count()}/10");
    }

    [Fact]
    public async Task A_malformed_filter_is_a_400_naming_its_path()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "filter-errors", Dim, "Cosine");
        var response = await Api.Send(client, HttpMethod.Post, "/collections/filter-errors/points/search", new JsonObject
        {
            ["vector"] = Api.Vector(Enumerable.Repeat(0.5f, Dim).ToArray()),
            ["filter"] = new JsonObject { ["must"] = new JsonArray(new JsonObject { ["key"] = "price", ["range"] = new JsonObject { ["gte"] = "ten" } }) },
        });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Contains("filter.must[0].range.gte", text);
    }

    [Fact]
    public async Task Retrieve_by_ids_returns_payloads_and_vectors()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "retrieve", 3, "Euclid", shards: 2);
        const string uuid = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26";
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/retrieve/points", """
            {"points":[{"id":1,"vector":[1,2,3],"payload":{"city":"Berlin"}},{"id":"5C56C793-69F3-4FBF-87E6-C4BF54C28C26","vector":[4,5,6]}]}
            """));
        var body = await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/retrieve/points",
            $$"""{"ids":[1,"{{uuid}}",99],"with_payload":true,"with_vector":true}"""));
        var result = body["result"]!.AsArray();
        Assert.Equal(2, result.Count);
        Assert.Equal(1, (int)result[0]!["id"]!);
        Assert.Equal("Berlin", (string?)result[0]!["payload"]!["city"]);
        Assert.Equal([1f, 2f, 3f], result[0]!["vector"]!.AsArray().Select(v => (float)v!));
        Assert.Equal(uuid, (string?)result[1]!["id"]);
        Assert.Equal([4f, 5f, 6f], result[1]!["vector"]!.AsArray().Select(v => (float)v!));
    }

    private static double ExpectedScore(string distance, float[] q, float[] v)
    {
        double dot = 0, qq = 0, vv = 0, l2 = 0;
        for (int i = 0; i < q.Length; i++)
        {
            dot += q[i] * (double)v[i];
            qq += q[i] * (double)q[i];
            vv += v[i] * (double)v[i];
            l2 += (q[i] - (double)v[i]) * (q[i] - (double)v[i]);
        }
        return distance switch
        {
            "Cosine" => dot / Math.Sqrt(qq * vv),
            "Dot" => dot,
            _ => Math.Sqrt(l2),
        };
    }
}
