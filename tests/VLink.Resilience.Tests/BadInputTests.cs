using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 5: a corpus of malformed requests against a real node. Each must be a 4xx answered with RFC 7807 problem
/// details (the field named where one is at fault); after each one the node still serves, and the collection holds
/// exactly what it held before (no partial writes).
/// </summary>
[Collection(SingleNodeCollection.Name)]
public sealed class BadInputTests(SingleNodeFixture node, ITestOutputHelper output)
{
    private const string T = "/collections/" + SingleNodeFixture.Target;

    /// <summary>One malformed request; <paramref name="Status"/> null = any 4xx; <paramref name="Field"/> null = any field.</summary>
    public sealed record Bad(string Name, string Method, string Path, Func<HttpContent?> Body, int? Status = 400, string? Field = null)
    {
        /// <summary>Refused by the HTTP server itself, before the application: no problem body.</summary>
        public bool Bare { get; init; }
    }

    private static Func<HttpContent?> J(string json) => () => new StringContent(json, Encoding.UTF8, "application/json");

    private static Func<HttpContent?> Bytes(byte[] bytes, string type) => () => new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue(type) } };

    private static string Point(string id, string vector = "[0.1,0.2,0.3,0.4]") => $$"""{"points":[{"id":1000,"vector":[1,1,1,1]},{"id":{{id}},"vector":{{vector}}}]}""";

    private static string Nested(int depth)
    {
        var text = new StringBuilder();
        for (int i = 0; i < depth; i++) text.Append("{\"must\":[");
        text.Append("{\"key\":\"city\",\"match\":{\"value\":\"Berlin\"}}");
        for (int i = 0; i < depth; i++) text.Append("]}");
        return text.ToString();
    }

    public static IEnumerable<Bad> Corpus()
    {
        // Broken JSON, everywhere a body is read.
        yield return new("upsert: truncated", "PUT", $"{T}/points", J("""{"points": ["""), 400, "body");
        yield return new("upsert: empty body", "PUT", $"{T}/points", J(""), 400, "body");
        yield return new("upsert: null", "PUT", $"{T}/points", J("null"), 400, "body");
        yield return new("upsert: trailing comma", "PUT", $"{T}/points", J("""{"points":[{"id":1001,"vector":[1,2,3,4]},]}"""), 400, "body");
        yield return new("upsert: invalid UTF-8", "PUT", $"{T}/points", Bytes([.. "{\"points\":[{\"id\":1001,\"vector\":[1,2,3,4],\"payload\":{\"a\":\""u8, 0xff, 0xfe, .. "\"}}]}"u8], "application/json"), 400, "body");
        yield return new("search: truncated", "POST", $"{T}/points/search", J("""{"vector": [1,2,3,4]"""), 400, "body");
        yield return new("search: array body", "POST", $"{T}/points/search", J("[]"), 400, "body");
        yield return new("search: NaN literal", "POST", $"{T}/points/search", J("""{"vector":[1,2,NaN,4]}"""), 400, "body");
        yield return new("batch: truncated", "POST", $"{T}/points/search/batch", J("""{"searches": [{"vector": [1,2,3,4]},"""), 400, "body");
        yield return new("query: not JSON", "POST", $"{T}/points/query", J("nul"), 400, "body");
        yield return new("scroll: truncated", "POST", $"{T}/points/scroll", J("{"), 400, "body");
        yield return new("count: garbage", "POST", $"{T}/points/count", J("[}"), 400, "body");
        yield return new("payload: truncated", "POST", $"{T}/points/payload", J("""{"payload": {"a":1}, "points": [1]"""), 400, "body");
        yield return new("delete: trailing comma", "POST", $"{T}/points/delete", J("""{"points": [1,]}"""), 400, "body");
        yield return new("create: not JSON", "PUT", "/collections/fresh", J("not json"), 400, "body");
        yield return new("cluster down: truncated", "POST", "/cluster/down", J("""{"address": }"""), 400, "body");

        // Wrong dimension: a good point beside a bad one writes neither.
        yield return new("upsert: 3-d beside 4-d", "PUT", $"{T}/points", J(Point("1001", "[1,2,3]")), 400, "points[1].vector");
        yield return new("upsert: 5-d", "PUT", $"{T}/points", J(Point("1001", "[1,2,3,4,5]")), 400, "points[1].vector");
        yield return new("upsert: empty vector", "PUT", $"{T}/points", J(Point("1001", "[]")), 400, "points[1].vector");
        yield return new("upsert: vector of strings", "PUT", $"{T}/points", J(Point("1001", """["a","b","c","d"]""")), 400);
        yield return new("search: 3-d", "POST", $"{T}/points/search", J("""{"vector":[1,2,3]}"""), 400, "vector");
        yield return new("search: 0-d", "POST", $"{T}/points/search", J("""{"vector":[]}"""), 400, "vector");
        yield return new("batch: second search 5-d", "POST", $"{T}/points/search/batch", J("""{"searches":[{"vector":[1,2,3,4]},{"vector":[1,2,3,4,5]}]}"""), 400);
        yield return new("query: 2-d", "POST", $"{T}/points/query", J("""{"query":[1,2]}"""), 400);
        yield return new("import: second line 3-d", "POST", $"{T}/points/import", () => new StringContent(
            "{\"id\":1001,\"vector\":[1,2,3,4]}\n{\"id\":1002,\"vector\":[1,2,3]}\n", Encoding.UTF8, "application/x-ndjson"), 400, "line 2.vector");
        yield return new("import: CSV header of 3 columns", "POST", $"{T}/points/import", () => new StringContent(
            "id,x0,x1,x2\n1001,1,2,3\n", Encoding.UTF8, "text/csv"), 400);

        // NaN and infinities (JSON has no literal for them: strings, or numbers beyond float's range).
        yield return new("upsert: \"NaN\"", "PUT", $"{T}/points", J(Point("1001", """[1,"NaN",3,4]""")), 400);
        yield return new("upsert: \"Infinity\"", "PUT", $"{T}/points", J(Point("1001", """[1,"Infinity",3,4]""")), 400);
        yield return new("upsert: 1e39 overflows float", "PUT", $"{T}/points", J(Point("1001", "[1,1e39,3,4]")), 400, "points[1].vector[1]");
        yield return new("upsert: -1e39", "PUT", $"{T}/points", J(Point("1001", "[1,2,-1e39,4]")), 400, "points[1].vector[2]");
        yield return new("upsert: 1e400 overflows double", "PUT", $"{T}/points", J(Point("1001", "[1e400,2,3,4]")), 400);
        yield return new("search: 1e39", "POST", $"{T}/points/search", J("""{"vector":[1,1e39,3,4]}"""), 400, "vector[1]");
        yield return new("search: \"-Infinity\"", "POST", $"{T}/points/search", J("""{"vector":[1,2,3,"-Infinity"]}"""), 400);

        // k (limit) and offsets: zero, negative, huge, not integers.
        foreach (string k in new[] { "0", "-1", "10001", "2147483648", "1e300", "1.5", "\"10\"", "-9223372036854775809" })
            yield return new($"search: limit {k}", "POST", $"{T}/points/search", J($$"""{"vector":[1,2,3,4],"limit":{{k}}}"""), 400, "limit");
        yield return new("search: offset -1", "POST", $"{T}/points/search", J("""{"vector":[1,2,3,4],"offset":-1}"""), 400, "offset");
        yield return new("search: limit + offset > 10000", "POST", $"{T}/points/search", J("""{"vector":[1,2,3,4],"limit":10,"offset":9995}"""), 400);
        yield return new("query: limit -5", "POST", $"{T}/points/query", J("""{"query":[1,2,3,4],"limit":-5}"""), 400, "limit");
        yield return new("scroll: limit 0", "POST", $"{T}/points/scroll", J("""{"limit":0}"""), 400, "limit");
        yield return new("scroll: limit 100000", "POST", $"{T}/points/scroll", J("""{"limit":100000}"""), 400, "limit");
        yield return new("batch: 101 searches", "POST", $"{T}/points/search/batch",
            J("{\"searches\":[" + string.Join(",", Enumerable.Repeat("{\"vector\":[1,2,3,4]}", 101)) + "]}"), 400, "searches");
        yield return new("import: batch_size 0", "POST", $"{T}/points/import?batch_size=0", () => new StringContent(
            "{\"id\":1001,\"vector\":[1,2,3,4]}\n", Encoding.UTF8, "application/x-ndjson"), 400, "batch_size");
        yield return new("regimes: k 5000", "POST", "/regimes/search", J("""{"vector":[1,2,3],"k":5000}"""), null);

        // Oversized bodies (the node's cap is 1 MiB), with and without Content-Length.
        string big = "{\"points\":[" + string.Join(",", Enumerable.Range(0, 32_000).Select(i => $"{{\"id\":{2000 + i},\"vector\":[0.25,0.5,0.75,1.0]}}")) + "]}";
        yield return new("upsert: 1.4 MB with length", "PUT", $"{T}/points", J(big), 413, "body");
        yield return new("upsert: 1.4 MB chunked", "PUT", $"{T}/points", () => new ChunkedContent(Encoding.UTF8.GetBytes(big)), 413, "body");
        yield return new("search: 1.4 MB", "POST", $"{T}/points/search", J("{\"vector\":[1,2,3,4],\"pad\":\"" + new string('x', 1_400_000) + "\"}"), 413, "body");

        // Unknown collections.
        yield return new("get unknown", "GET", "/collections/nowhere", () => null, 404, "collection_name");
        yield return new("upsert unknown", "PUT", "/collections/nowhere/points", J("""{"points":[{"id":1,"vector":[1,2,3,4]}]}"""), 404, "collection_name");
        yield return new("search unknown", "POST", "/collections/nowhere/points/search", J("""{"vector":[1,2,3,4]}"""), 404, "collection_name");
        yield return new("batch unknown", "POST", "/collections/nowhere/points/search/batch", J("""{"searches":[{"vector":[1,2,3,4]}]}"""), 404, "collection_name");
        yield return new("query unknown", "POST", "/collections/nowhere/points/query", J("""{"query":[1,2,3,4]}"""), 404, "collection_name");
        yield return new("payload unknown", "POST", "/collections/nowhere/points/payload", J("""{"payload":{"a":1},"points":[1]}"""), 404, "collection_name");
        yield return new("import unknown", "POST", "/collections/nowhere/points/import", () => new StringContent("{\"id\":1,\"vector\":[1,2,3,4]}\n", Encoding.UTF8, "application/x-ndjson"), 404, "collection_name");
        yield return new("export unknown", "GET", "/collections/nowhere/points/export", () => null, 404, "collection_name");
        yield return new("market unknown", "GET", "/markets/NOWHERE", () => null, 404, "symbol");

        // Ids of the wrong type.
        foreach (string id in new[] { "true", "-1", "1.5", "\"not-a-uuid\"", "null", "{}", "[1]", "18446744073709551616", "\"\"", "\"1\"" })
            yield return new($"upsert: id {id}", "PUT", $"{T}/points", J(Point(id)), 400, "points[1].id");
        yield return new("retrieve: id \"x\"", "POST", $"{T}/points", J("""{"ids":["x"]}"""), 400);
        yield return new("delete: id -5", "POST", $"{T}/points/delete", J("""{"points":[1,-5]}"""), 400);
        yield return new("payload: id 1.5", "POST", $"{T}/points/payload", J("""{"payload":{"a":1},"points":[1,1.5]}"""), 400);
        yield return new("scroll: offset not a uuid", "POST", $"{T}/points/scroll", J("""{"offset":"zzz"}"""), 400, "offset");

        // Filters: too deep for the planner, too deep for the JSON reader, unknown conditions, wrong types.
        yield return new("search: filter 40 deep", "POST", $"{T}/points/search", J($$"""{"vector":[1,2,3,4],"filter":{{Nested(40)}}}"""), 400);
        yield return new("search: filter 3000 deep", "POST", $"{T}/points/search", J($$"""{"vector":[1,2,3,4],"filter":{{Nested(3000)}}}"""), 400);
        yield return new("count: filter 40 deep", "POST", $"{T}/points/count", J($$"""{"filter":{{Nested(40)}}}"""), 400);
        yield return new("delete: filter 40 deep", "POST", $"{T}/points/delete", J($$"""{"filter":{{Nested(40)}}}"""), 400);
        yield return new("payload: filter 40 deep", "POST", $"{T}/points/payload", J($$"""{"payload":{"a":1},"filter":{{Nested(40)}}}"""), 400);
        yield return new("search: unknown condition", "POST", $"{T}/points/search", J("""{"vector":[1,2,3,4],"filter":{"must":[{"foo":1}]}}"""), 400);
        yield return new("delete: range of strings", "POST", $"{T}/points/delete", J("""{"filter":{"must":[{"key":"n","range":{"gt":"a"}}]}}"""), 400);
        yield return new("scroll: match of an object", "POST", $"{T}/points/scroll", J("""{"filter":{"must":[{"key":"n","match":{"value":{"x":1}}}]}}"""), 400);

        // Names with path and SQL metacharacters.
        const string create = """{"vectors":{"size":4,"distance":"Dot"}}""";
        foreach (string name in new[] { "a'%3B%20DROP%20TABLE%20event_journal%3B--", "..%2F..%2Fetc", "a%2Fb", "a%22b", "x%20y", new string('n', 300), "a%5Cb", "%24%7Bjndi%7D" })
            yield return new($"create: name {(name.Length > 40 ? name[..12] + "..." : name)}", "PUT", $"/collections/{name}", J(create), 400, "collection_name");
        // ".." is resolved by the client and the router to another route: whatever answers, it is a refusal.
        yield return new("create: name %2E%2E", "PUT", "/collections/%2E%2E", J(create), null);
        // A NUL in the path is refused by Kestrel before any middleware runs: a bare 400, no problem body possible.
        yield return new("create: name with NUL", "PUT", "/collections/a%00b", J(create), 400) { Bare = true };
        yield return new("search: name with quote", "POST", "/collections/t'%20OR%20'1'='1/points/search", J("""{"vector":[1,2,3,4]}"""), 404, "collection_name");
        yield return new("market: symbol of 200 characters", "POST", $"/markets/{new string('S', 200)}/ticks", J("[]"), 400, "symbol");
        yield return new("market: collection with quote", "POST", "/markets/X/ticks?collection=r'%3Bdrop", J("[]"), 400, "collection");
        yield return new("regimes: name with quote", "PUT", "/regimes/collections/r'%3Bdrop", J("{}"), 400, "collection_name");

        // Other refused shapes.
        yield return new("payload: not an object", "POST", $"{T}/points/payload", J("""{"payload":[1],"points":[1]}"""), 400, "payload");
        yield return new("payload: ids and filter", "POST", $"{T}/points/payload", J("""{"payload":{"a":1},"points":[1],"filter":{"must":[]}}"""), 400);
        yield return new("payload delete: keys not a list", "POST", $"{T}/points/payload/delete", J("""{"keys":"a","points":[1]}"""), 400, "keys");
        yield return new("market: format xml", "POST", "/markets/X/ticks?format=xml", J("[]"), 400, "format");
        yield return new("market: sequence without source", "POST", "/markets/X/ticks?sequence=5", J("[]"), 400, "sequence");
        yield return new("market: sequence -1", "POST", "/markets/X/ticks?source=s&sequence=-1", J("[]"), 400, "sequence");
        yield return new("market: bar_interval banana", "POST", "/markets/X/ticks?bar_interval=banana", J("[]"), 400, "bar_interval");
        yield return new("cluster down: not an address", "POST", "/cluster/down", J("""{"address":"nowhere"}"""), 400, "address");
        yield return new("cluster down: address 5", "POST", "/cluster/down", J("""{"address":5}"""), 400, "address");
        yield return new("import: content type image/png", "POST", $"{T}/points/import", Bytes([1, 2, 3], "image/png"), 415);
        yield return new("create: size 0", "PUT", "/collections/fresh", J("""{"vectors":{"size":0,"distance":"Dot"}}"""), 400, "vectors.size");
        yield return new("create: size 65537", "PUT", "/collections/fresh", J("""{"vectors":{"size":65537,"distance":"Dot"}}"""), 400, "vectors.size");
        yield return new("create: shard_number -1", "PUT", "/collections/fresh", J("""{"vectors":{"size":4,"distance":"Dot"},"shard_number":-1}"""), 400, "shard_number");
        yield return new("create: existing, other size", "PUT", T, J("""{"vectors":{"size":8,"distance":"Dot"}}"""), 409, "collection_name");
    }

    [Fact]
    public async Task Every_malformed_request_is_a_4xx_problem_the_node_keeps_serving_and_nothing_is_written()
    {
        var client = node.Cluster.Admin;
        string url = node.Url;
        var before = await Contents(client, url);
        var collectionsBefore = await Collections(client, url);
        Assert.Equal(SingleNodeFixture.Points, await Rest.CountAsync(client, url, SingleNodeFixture.Target));

        var corpus = Corpus().ToList();
        var failures = new List<string>();
        foreach (var bad in corpus)
        {
            long count = await Rest.CountAsync(client, url, SingleNodeFixture.Target);
            using var request = new HttpRequestMessage(new HttpMethod(bad.Method), url + bad.Path) { Content = bad.Body() };
            using var response = await client.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            string? problem = Judge(bad, response, text);
            // The node still serves, and the collection holds what it held.
            long now = await Rest.CountAsync(client, url, SingleNodeFixture.Target);
            if (now != count) problem += $" count changed from {count} to {now};";
            if (problem is not null) failures.Add($"{bad.Name} ({bad.Method} {Short(bad.Path)}): {problem} answer {(int)response.StatusCode} {Short(text)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {corpus.Count} bad requests were not handled cleanly:\n{string.Join("\n", failures)}");
        Assert.Equal(before, await Contents(client, url));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"{url}/healthz")).StatusCode);
        Assert.Equal(collectionsBefore, await Collections(client, url));

        Figures.Report(output, "bad inputs handled cleanly", $"{corpus.Count - failures.Count} of {corpus.Count}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {corpus.Count} bad requests were not handled cleanly:\n{string.Join("\n", failures)}");
    }

    /// <summary>What is wrong with the answer to a bad request, or null when it is a proper problem.</summary>
    private static string? Judge(Bad bad, HttpResponseMessage response, string text)
    {
        int status = (int)response.StatusCode;
        if (status is < 400 or > 499) return "not a 4xx;";
        if (bad.Status is { } expected && status != expected) return $"expected {expected};";
        if (bad.Bare) return null;
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return $"content type {response.Content.Headers.ContentType};";
        JsonObject body;
        try
        {
            body = JsonNode.Parse(text)!.AsObject();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return "the problem is not a JSON object;";
        }
        if ((int?)body["status"] != status) return "problem status differs from the answer's;";
        if (string.IsNullOrEmpty((string?)body["title"])) return "problem without title;";
        if (bad.Field is { } field && (string?)body["field"] != field) return $"expected field '{field}', got '{body["field"]}';";
        return null;
    }

    private static async Task<string> Contents(HttpClient client, string url) =>
        string.Join("\n", (await Rest.ScrollAllAsync(client, url, SingleNodeFixture.Target)).Select(p => p.ToJsonString()));

    private static async Task<string> Collections(HttpClient client, string url) =>
        string.Join(",", (await Rest.Ok(await client.GetAsync($"{url}/collections")))["result"]!["collections"]!.AsArray()
            .Select(c => (string)c!["name"]!).Order(StringComparer.Ordinal));

    private static string Short(string text) => text.Length > 300 ? text[..300] + "..." : text;

    /// <summary>A body sent without Content-Length (chunked), so only reading it can find it too large.</summary>
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
