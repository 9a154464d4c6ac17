using System.Net;
using VLink.Server.Api;

namespace VLink.Server.Tests;

/// <summary>One structured log line per changing request.</summary>
[Collection(ServerCollection.Name)]
public sealed class OperationLogTests(ServerFixture server)
{
    private List<LogCapture.Entry> Lines(string collection) => [.. server.Logs.Entries
        .Where(e => e.Category == OperationLog.Category && Equals(e.Fields.GetValueOrDefault("Collection"), collection))];

    [Fact]
    public async Task Writes_deletes_and_collection_changes_each_log_one_line_with_their_fields()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "logged", 2, "Dot", shards: 2);
        await Api.Ok(await Api.Send(client, HttpMethod.Put, "/collections/logged/points",
            """{"points":[{"id":1,"vector":[1,0]},{"id":2,"vector":[0,1]},{"id":3,"vector":[1,1]}]}"""));
        await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/logged/points/delete", """{"points":[2,3,99]}"""));
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/logged/points", """{"points":[{"id":4,"vector":[1]}]}"""),
            HttpStatusCode.BadRequest, "points[0].vector");
        await Api.Problem(await Api.Send(server.ClientWith(ServerFixture.ReadKey), HttpMethod.Put, "/collections/logged/points",
            """{"points":[{"id":5,"vector":[1,0]}]}"""), HttpStatusCode.Forbidden, "api-key");
        // Reads are not operations.
        await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/logged/points/search", """{"vector":[1,0]}"""));
        await Api.Ok(await client.GetAsync("/collections/logged"));
        await Api.Ok(await client.DeleteAsync("/collections/logged"));

        var lines = Lines("logged");
        Assert.Equal(
            ["PUT /collections/{name} 200", "PUT /collections/{name}/points 200", "POST /collections/{name}/points/delete 200",
             "PUT /collections/{name}/points 400", "PUT /collections/{name}/points 403", "DELETE /collections/{name} 200"],
            lines.Select(l => $"{l.Fields["Method"]} {l.Fields["Route"]} {l.Fields["Status"]}"));
        Assert.All(lines, l => Assert.True((double)l.Fields["ElapsedMs"]! >= 0));
        Assert.All(lines, l => Assert.Equal("{Method} {Route} collection={Collection} points={Points} status={Status} in {ElapsedMs} ms", l.Fields["{OriginalFormat}"]));
        Assert.Equal(3L, lines[1].Fields["Points"]);
        Assert.Equal(2L, lines[2].Fields["Points"]);
        Assert.Null(lines[3].Fields["Points"]);
        Assert.Contains("collection=logged points=3 status=200", lines[1].Message);
    }
}
