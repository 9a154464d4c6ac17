using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>Streamed import and export of points as NDJSON and CSV.</summary>
[Collection(ServerCollection.Name)]
public sealed class TransferTests(ServerFixture server)
{
    private const int Dim = 4;

    private static StringContent Body(string text, string type) => new(text, Encoding.UTF8, type);

    private static string Num(float f) => f.ToString(CultureInfo.InvariantCulture);

    private static float[] VectorOf(int i) => [i * 0.25f, -i / 3f, 1f / (i + 1), i % 7];

    private static string JsonLine(int i)
    {
        string vector = "[" + string.Join(",", VectorOf(i).Select(Num)) + "]";
        return i % 5 == 0
            ? "{\"id\":\"" + Guid.Parse($"00000000-0000-4000-8000-{i:D12}") + "\",\"vector\":" + vector + ",\"document\":\"text " + i + "\"}"
            : "{\"id\":" + i + ",\"vector\":" + vector + ",\"payload\":{\"n\":" + i + ",\"tag\":\"t" + (i % 3) + "\"}}";
    }

    private static string CsvLine(int i) => $"{i},{string.Join(",", VectorOf(i).Select(Num))}";

    private async Task<JsonNode> Import(HttpClient client, string name, string body, string type, string query = "")
    {
        var response = await client.PostAsync($"/collections/{name}/points/import{query}", Body(body, type));
        return (await Api.Ok(response))["result"]!;
    }

    private async Task<string> Export(string name, string query = "")
    {
        var response = await server.ClientWith(ServerFixture.ReadKey).GetAsync($"/collections/{name}/points/export{query}");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text;
    }

    private async Task<long> Count(string name) =>
        (long)(await Api.Ok(await Api.Send(server.Client, HttpMethod.Post, $"/collections/{name}/points/count", """{"exact":true}""")))["result"]!["count"]!;

    [Fact]
    public async Task Ndjson_round_trips_ids_vectors_payloads_and_documents()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "ndjson-src", Dim, "Euclid", shards: 3);
        await Api.CreateCollection(client, "ndjson-dst", Dim, "Euclid", shards: 2);
        var lines = Enumerable.Range(1, 2500).Select(JsonLine).ToList();
        lines.Insert(100, "");
        lines.Insert(200, "   \r");
        var result = await Import(client, "ndjson-src", string.Join("\r\n", lines) + "\n", "application/x-ndjson", "?batch_size=1000");
        Assert.Equal(2500, (long)result["imported"]!);
        Assert.Equal(2502, (long)result["lines"]!);
        Assert.Equal(3, (int)result["batches"]!);
        Assert.Equal(2500, await Count("ndjson-src"));

        string exported = await Export("ndjson-src");
        var exportedLines = exported.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2500, exportedLines.Length);
        var byId = exportedLines.Select(l => JsonNode.Parse(l)!).ToDictionary(n => n["id"]!.ToJsonString());
        foreach (int i in new[] { 1, 5, 42, 1000, 2500 })
        {
            var expected = JsonNode.Parse(JsonLine(i))!;
            var actual = byId[expected["id"]!.ToJsonString()];
            Assert.Equal(VectorOf(i), actual["vector"]!.AsArray().Select(v => (float)v!));
            Assert.True(JsonNode.DeepEquals(expected["payload"], actual["payload"]), actual.ToJsonString());
            Assert.Equal((string?)expected["document"], (string?)actual["document"]);
        }

        var again = await Import(client, "ndjson-dst", exported, "application/x-ndjson");
        Assert.Equal(2500, (long)again["imported"]!);
        Assert.Equal(exported, await Export("ndjson-dst"));

        // Without payloads: ids and vectors only.
        var bare = (await Export("ndjson-src", "?with_payload=false")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(bare, l => Assert.Equal(["id", "vector"], JsonNode.Parse(l)!.AsObject().Select(p => p.Key)));
    }

    [Fact]
    public async Task Csv_round_trips_with_its_header_and_a_collection_with_payloads_exports_without_them()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "csv-src", Dim, "Dot", shards: 2);
        await Api.CreateCollection(client, "csv-dst", Dim, "Dot", shards: 2);
        string csv = "\uFEFFid,x0,x1,x2,x3\n" + string.Join("\n", Enumerable.Range(1, 300).Select(CsvLine));
        var result = await Import(client, "csv-src", csv, "text/csv", "?batch_size=128");
        Assert.Equal(300, (long)result["imported"]!);
        Assert.Equal(301, (long)result["lines"]!);
        Assert.Equal(3, (int)result["batches"]!);

        string exported = await Export("csv-src", "?format=csv");
        var rows = exported.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,x0,x1,x2,x3", rows[0]);
        Assert.Equal(301, rows.Length);
        Assert.Equal(CsvLine(7), rows.Single(r => r.StartsWith("7,", StringComparison.Ordinal)));
        // The export (header included) imports back unchanged.
        Assert.Equal(300, (long)(await Import(client, "csv-dst", exported, "text/csv"))["imported"]!);
        Assert.Equal(exported, await Export("csv-dst", "?format=csv"));

        // Without a header, and with ?format= overriding the Content-Type.
        await Api.CreateCollection(client, "csv-plain", Dim, "Dot", shards: 1);
        var plain = await Import(client, "csv-plain", string.Join("\n", Enumerable.Range(1, 10).Select(CsvLine)), "application/octet-stream", "?format=csv");
        Assert.Equal(10, (long)plain["imported"]!);

        // A collection with payloads exports as CSV without them.
        await Api.CreateCollection(client, "csv-payloads", Dim, "Dot", shards: 1);
        await Import(client, "csv-payloads", string.Join("\n", Enumerable.Range(1, 20).Where(i => i % 5 != 0).Select(JsonLine)), "application/x-ndjson");
        var payloadRows = (await Export("csv-payloads", "?format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(17, payloadRows.Length);
        Assert.All(payloadRows, r => Assert.Equal(Dim + 1, r.Split(',').Length));
    }

    [Theory]
    [InlineData("ndjson")]
    [InlineData("csv")]
    public async Task A_bad_line_is_named_and_its_batch_is_not_written(string format)
    {
        var client = server.Client;
        string name = "bad-line-" + format;
        await Api.CreateCollection(client, name, Dim, "Euclid", shards: 3);
        Func<int, string> line = format == "csv" ? CsvLine : JsonLine;
        var lines = Enumerable.Range(1, 250).Select(line).ToList();
        lines.Add(format == "csv" ? "251,1,2,3" : """{"id":251,"vector":[1,2,3]}""");
        lines.AddRange(Enumerable.Range(252, 50).Select(line));
        var response = await client.PostAsync($"/collections/{name}/points/import?batch_size=100",
            Body(string.Join("\n", lines), format == "csv" ? "text/csv" : "application/x-ndjson"));

        var problem = await Api.Problem(response, HttpStatusCode.BadRequest, "line 251.vector");
        Assert.Contains("wrong vector dimension: expected 4, got 3", (string?)problem["detail"]);
        Assert.Equal(251, (long)problem["line"]!);
        Assert.Equal(200, (long)problem["imported"]!);
        // Batches 1 and 2 (lines 1-200) were written; the bad line's batch (from line 201) was not.
        Assert.Equal(200, await Count(name));
        var found = await Api.Ok(await Api.Send(client, HttpMethod.Post, $"/collections/{name}/points", """{"ids":[199,201,249,252]}"""));
        Assert.Equal([199], found["result"]!.AsArray().Select(p => (int)p!["id"]!));
    }

    [Theory]
    [InlineData("ndjson", "{\"id\":1,\"vector\":[1,2,3,4]}\n\n{\"id\":2,\"vector\":[1,2,3,4]\n", "line 3")]
    [InlineData("ndjson", "{\"id\":1,\"vector\":[1,2,3,4]}\n{\"id\":-2,\"vector\":[1,2,3,4]}", "line 2.id")]
    [InlineData("ndjson", "{\"id\":1,\"vector\":[1,2,3,\"x\"]}", "line 1.vector[3]")]
    [InlineData("csv", "id,x0,x1,x2\n1,1,2,3", "line 1")]
    [InlineData("csv", "1,1,2,3,4\nid,x0,x1,x2,x3\n", "line 2.id")]
    [InlineData("csv", "id,x0,x1,x2,x3\n\n\n1,1,2,3,4,5", "line 4.vector")]
    [InlineData("csv", "1,1,2,3,4\n2,1,2,abc,4", "line 2.vector[2]")]
    [InlineData("csv", "1,1,2,3,4\n2,1,2,1e40,4", "line 2.vector[2]")]
    [InlineData("csv", "x,1,2,3,4", "line 1.id")]
    public async Task Line_problems_name_the_line_and_field(string format, string body, string field)
    {
        await Api.CreateCollection(server.Client, "line-problems", Dim, "Euclid", shards: 1);
        var response = await server.Client.PostAsync("/collections/line-problems/points/import",
            Body(body, format == "csv" ? "text/csv" : "application/x-ndjson"));
        var problem = await Api.Problem(response, HttpStatusCode.BadRequest, field);
        Assert.StartsWith(field + ":", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Equal(0, (long)problem["imported"]!);
    }

    [Fact]
    public async Task Import_and_export_refusals()
    {
        var client = server.Client;
        await Api.CreateCollection(client, "transfer-refusals", Dim, "Dot", shards: 1);
        const string one = """{"id":1,"vector":[1,2,3,4]}""";
        await Api.Problem(await client.PostAsync("/collections/transfer-refusals/points/import?batch_size=0", Body(one, "application/x-ndjson")),
            HttpStatusCode.BadRequest, "batch_size");
        await Api.Problem(await client.PostAsync("/collections/transfer-refusals/points/import?batch_size=10001", Body(one, "application/x-ndjson")),
            HttpStatusCode.BadRequest, "batch_size");
        await Api.Problem(await client.PostAsync("/collections/transfer-refusals/points/import?format=xml", Body(one, "application/x-ndjson")),
            HttpStatusCode.BadRequest, "format");
        await Api.Problem(await client.PostAsync("/collections/transfer-refusals/points/import", Body(one, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "Content-Type");
        await Api.Problem(await client.PostAsync("/collections/nowhere/points/import", Body(one, "application/x-ndjson")),
            HttpStatusCode.NotFound, "collection_name");
        await Api.Problem(await server.ClientWith(ServerFixture.ReadKey).PostAsync("/collections/transfer-refusals/points/import", Body(one, "application/x-ndjson")),
            HttpStatusCode.Forbidden, "api-key");
        await Api.Problem(await client.GetAsync("/collections/nowhere/points/export"), HttpStatusCode.NotFound, "collection_name");
        await Api.Problem(await client.GetAsync("/collections/transfer-refusals/points/export?with_payload=maybe"), HttpStatusCode.BadRequest, "with_payload");
        await Api.Problem(await server.ClientWith(null).GetAsync("/collections/transfer-refusals/points/export"), HttpStatusCode.Unauthorized, "api-key");
        Assert.Equal(0, await Count("transfer-refusals"));
        Assert.Equal("", await Export("transfer-refusals"));
    }
}
