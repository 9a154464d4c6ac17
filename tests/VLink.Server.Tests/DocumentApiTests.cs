using System.Net;

namespace VLink.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class DocumentApiTests(ServerFixture server)
{
    [Fact]
    public async Task A_document_is_stored_with_its_point_and_returned_inside_the_payload()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "documents", 2, "Euclid", shards: 2);
        await DataApi.Upsert(client, "documents", """
            [{"id":1,"vector":[1,0],"payload":{"lang":"de"},"document":"Grüße aus Zürich"},
             {"id":2,"vector":[0,1],"document":"only text"},
             {"id":3,"vector":[1,1],"payload":{"lang":"en"}}]
            """);

        var all = await DataApi.Ok(client, "/collections/documents/points", """{"ids":[1,2,3]}""");
        var byId = all["result"]!.AsArray().ToDictionary(p => (int)p!["id"]!, p => p!["payload"]!.AsObject());
        Assert.Equal("Grüße aus Zürich", (string?)byId[1]["document"]);
        Assert.Equal("de", (string?)byId[1]["lang"]);
        Assert.Equal("only text", (string?)byId[2]["document"]);
        Assert.False(byId[3].ContainsKey("document"));

        // A key list selects the document like any other key.
        var picked = await DataApi.Ok(client, "/collections/documents/points", """{"ids":[1],"with_payload":["document"]}""");
        var payload = picked["result"]![0]!["payload"]!.AsObject();
        Assert.Equal(["document"], payload.Select(kv => kv.Key));

        // Search returns it with the payload, and not without.
        var hits = await DataApi.Ok(client, "/collections/documents/points/search", """{"vector":[0,1],"limit":1,"with_payload":true}""");
        Assert.Equal("only text", (string?)hits["result"]![0]!["payload"]!["document"]);
        var bare = await DataApi.Ok(client, "/collections/documents/points/search", """{"vector":[0,1],"limit":1}""");
        Assert.Null(bare["result"]![0]!["payload"]);

        // An upsert without a document replaces the point and drops its document.
        await DataApi.Upsert(client, "documents", """[{"id":2,"vector":[0,1]}]""");
        var replaced = await DataApi.Ok(client, "/collections/documents/points", """{"ids":[2]}""");
        Assert.Empty(replaced["result"]![0]!["payload"]!.AsObject());
    }

    [Theory]
    [InlineData("""{"points":[{"id":1,"vector":[1,0],"document":5}]}""", "points[0].document")]
    [InlineData("""{"points":[{"id":1,"vector":[1,0]},{"id":2,"vector":[1,0],"document":["a"]}]}""", "points[1].document")]
    [InlineData("""{"points":[{"id":1,"vector":[1,0],"document":"a","payload":{"document":"b"}}]}""", "points[0].payload.document")]
    [InlineData("""{"batch":{"ids":[1],"vectors":[[1,0]]}}""", "points")]
    [InlineData("""{"points":[{"id":1,"vector":[1,0]}],"shard_key":"k"}""", "shard_key")]
    public async Task A_bad_document_is_400_naming_the_field_and_nothing_is_written(string json, string field)
    {
        var client = server.Client;
        string name = "bad-documents-" + field.Length + "-" + json.Length;
        await Api.CreateCollection(client, name, 2, "Euclid", shards: 2);
        await Api.Problem(await Api.Send(client, HttpMethod.Put, $"/collections/{name}/points", json), HttpStatusCode.BadRequest, field);
        var found = await DataApi.Ok(client, $"/collections/{name}/points", """{"ids":[1,2]}""");
        Assert.Empty(found["result"]!.AsArray());
    }

    [Fact]
    public async Task A_document_over_one_mebibyte_is_refused()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "big-documents", 2, "Euclid", shards: 1);
        string text = new('x', (1 << 20) + 1);
        string json = $$"""{"points":[{"id":1,"vector":[1,0],"document":"{{text}}"}]}""";
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/big-documents/points", json), HttpStatusCode.BadRequest, "points[0].document");
        await DataApi.Upsert(client, "big-documents", $$"""[{"id":1,"vector":[1,0],"document":"{{text[1..]}}"}]""");
        var found = await DataApi.Ok(client, "/collections/big-documents/points", """{"ids":[1]}""");
        Assert.Equal(1 << 20, ((string?)found["result"]![0]!["payload"]!["document"])!.Length);
    }
}
