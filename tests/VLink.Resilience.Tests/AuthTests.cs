using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 6: every route of a real node, with no key, a wrong key, a read key, a write key and an admin key. The
/// routes come from the node's own OpenAPI document (plus the few it does not describe), so a route added later without
/// an expected role here fails the test. Requests that pass the key check are shaped to be refused or to find nothing
/// (an unknown collection, a body missing its required field), so no key changes anything.
/// </summary>
[Collection(SingleNodeCollection.Name)]
public sealed class AuthTests(SingleNodeFixture node, ITestOutputHelper output)
{
    private enum Needs { Anyone, Read, Write, Admin }

    /// <summary>The role each route needs (docs/server.md): what the node must enforce.</summary>
    private static readonly Dictionary<string, Needs> Expected = new()
    {
        ["GET /healthz"] = Needs.Anyone,
        ["GET /readyz"] = Needs.Anyone,
        ["GET /openapi/v1.json"] = Needs.Anyone,
        ["GET /scalar"] = Needs.Anyone,
        ["GET /"] = Needs.Read,
        ["GET /metrics"] = Needs.Read,
        ["GET /collections"] = Needs.Read,
        ["GET /collections/{name}"] = Needs.Read,
        ["GET /collections/{name}/exists"] = Needs.Read,
        ["POST /collections/{name}/points"] = Needs.Read,
        ["GET /collections/{name}/points/{id}"] = Needs.Read,
        ["POST /collections/{name}/points/search"] = Needs.Read,
        ["POST /collections/{name}/points/search/batch"] = Needs.Read,
        ["POST /collections/{name}/points/query"] = Needs.Read,
        ["POST /collections/{name}/points/query/batch"] = Needs.Read,
        ["POST /collections/{name}/points/scroll"] = Needs.Read,
        ["POST /collections/{name}/points/count"] = Needs.Read,
        ["POST /collections/{name}/search/text"] = Needs.Read,
        ["GET /collections/{name}/points/export"] = Needs.Read,
        ["GET /cluster"] = Needs.Read,
        ["GET /cluster/shards"] = Needs.Read,
        ["GET /cluster/singleton"] = Needs.Read,
        ["GET /markets"] = Needs.Read,
        ["GET /markets/{symbol}"] = Needs.Read,
        ["POST /regimes/search"] = Needs.Read,
        ["PUT /collections/{name}"] = Needs.Write,
        ["DELETE /collections/{name}"] = Needs.Write,
        ["PUT /collections/{name}/points"] = Needs.Write,
        ["POST /collections/{name}/points/delete"] = Needs.Write,
        ["POST /collections/{name}/points/payload"] = Needs.Write,
        ["PUT /collections/{name}/points/payload"] = Needs.Write,
        ["POST /collections/{name}/points/payload/delete"] = Needs.Write,
        ["POST /collections/{name}/points/payload/clear"] = Needs.Write,
        ["POST /collections/{name}/points/import"] = Needs.Write,
        ["POST /markets/{symbol}/ticks"] = Needs.Write,
        ["POST /markets/{symbol}/bars"] = Needs.Write,
        ["POST /markets/ingest"] = Needs.Write,
        ["PUT /regimes/collections/{name}"] = Needs.Write,
        ["POST /cluster/leave"] = Needs.Admin,
        ["POST /cluster/down"] = Needs.Admin,
        ["POST /cluster/join"] = Needs.Admin,
    };

    /// <summary>Routes served but not in the OpenAPI document (the document itself, its viewer, the metrics scrape).</summary>
    private static readonly string[] Undescribed = ["GET /openapi/v1.json", "GET /scalar", "GET /metrics"];

    /// <summary>A request that passes the key check yet changes nothing: query string and body per route.</summary>
    private static (string Query, string? Body) Harmless(string method, string template) => (method, template) switch
    {
        ("PUT", "/collections/{name}") => ("", "{}"),
        ("PUT", "/regimes/collections/{name}") => ("", """{"bar_interval":"banana"}"""),
        ("POST", "/markets/{symbol}/ticks" or "/markets/{symbol}/bars") => ("?format=xml", "[]"),
        ("POST", "/markets/ingest") => ("?kind=banana", ""),
        ("POST", "/cluster/leave" or "/cluster/down") => ("", """{"address":"127.0.0.1:1"}"""),
        ("POST", "/cluster/join") => ("", """{"seed":"127.0.0.1:1"}"""),
        ("POST", "/regimes/search") => ("", """{"collection":"auth-absent","vector":[1,2,3]}"""),
        ("POST", "/collections/{name}/points/import") => ("", "{\"id\":1,\"vector\":[1,2,3,4]}\n"),
        ("GET" or "DELETE", _) => ("", null),
        _ => ("", "{}"),
    };

    [Fact]
    public async Task Every_route_enforces_its_role_for_no_key_a_wrong_key_and_keys_of_each_role()
    {
        string url = node.Url;
        var routes = await RoutesAsync(url);
        Assert.Equal(Expected.Keys.Order(StringComparer.Ordinal), routes.Order(StringComparer.Ordinal));

        var keys = new (string Name, string? Key, Needs? Role)[]
        {
            ("no key", null, null),
            ("a wrong key", "not-a-key-" + LocalCluster.ReadKey, null),
            ("the read key", LocalCluster.ReadKey, Needs.Read),
            ("the write key", LocalCluster.WriteKey, Needs.Write),
            ("the admin key", LocalCluster.AdminKey, Needs.Admin),
        };
        var failures = new List<string>();
        int tried = 0;
        foreach (var route in routes.Order(StringComparer.Ordinal))
        {
            string method = route[..route.IndexOf(' ')];
            string template = route[(method.Length + 1)..];
            string path = template.Replace("{name}", "auth-absent", StringComparison.Ordinal).Replace("{symbol}", "AUTHABSENT", StringComparison.Ordinal)
                .Replace("{id}", "1", StringComparison.Ordinal);
            var (query, body) = Harmless(method, template);
            foreach (var (name, key, role) in keys)
            {
                foreach (bool bearer in key is null ? [false] : new[] { false, true })
                {
                    tried++;
                    using var client = LocalCluster.Client(null);
                    if (key is not null && bearer) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    else if (key is not null) client.DefaultRequestHeaders.Add("api-key", key);
                    using var request = new HttpRequestMessage(new HttpMethod(method), url + path + query);
                    if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, template.EndsWith("/import", StringComparison.Ordinal) ? "application/x-ndjson" : "application/json");
                    using var response = await client.SendAsync(request);
                    string text = await response.Content.ReadAsStringAsync();
                    string? wrong = Judge(Expected[route], role, response, text);
                    if (wrong is not null) failures.Add($"{route} with {name}{(bearer ? " (bearer)" : "")}: {wrong}; answer {(int)response.StatusCode} {(text.Length > 200 ? text[..200] : text)}");
                }
            }
        }
        // Nothing any key did left a trace.
        Assert.Equal(HttpStatusCode.NotFound, (await node.Cluster.Admin.GetAsync($"{url}/collections/auth-absent")).StatusCode);
        Assert.Equal(SingleNodeFixture.Points, await Rest.CountAsync(node.Cluster.Admin, url, SingleNodeFixture.Target));

        Figures.Report(output, "auth checks (route x key)", $"{tried - failures.Count} of {tried} as expected over {routes.Count} routes");
        Assert.True(failures.Count == 0, $"{failures.Count} of {tried} requests were not treated as their key deserves:\n{string.Join("\n", failures)}");
    }

    /// <summary>What is wrong with the answer to a request with a key of <paramref name="role"/> (null: none or wrong), or null.</summary>
    private static string? Judge(Needs needs, Needs? role, HttpResponseMessage response, string text)
    {
        var status = response.StatusCode;
        if ((int)status >= 500) return "a server error";
        if (needs == Needs.Anyone)
            return status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? "an open route refused the request" : null;
        if (role is null)
        {
            if (status != HttpStatusCode.Unauthorized) return "expected 401";
            if (response.Headers.WwwAuthenticate.FirstOrDefault()?.Scheme != "Bearer") return "401 without WWW-Authenticate: Bearer";
            return ProblemNamingApiKey(response, text);
        }
        if (role < needs) return status == HttpStatusCode.Forbidden ? ProblemNamingApiKey(response, text) : "expected 403";
        return status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? "a key of the needed role was refused" : null;
    }

    private static string? ProblemNamingApiKey(HttpResponseMessage response, string text)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return "not problem details";
        return (string?)JsonNode.Parse(text)!["field"] == "api-key" ? null : "the problem does not name api-key";
    }

    /// <summary>"METHOD /template" of every route the node's OpenAPI document describes, plus the undescribed ones.</summary>
    private static async Task<List<string>> RoutesAsync(string url)
    {
        using var client = LocalCluster.Client(null);
        var document = JsonNode.Parse(await client.GetStringAsync($"{url}/openapi/v1.json"))!;
        var routes = new List<string>(Undescribed);
        foreach (var (path, item) in document["paths"]!.AsObject())
            foreach (var (method, _) in item!.AsObject())
                if (method is "get" or "put" or "post" or "delete" or "patch" or "head") routes.Add($"{method.ToUpperInvariant()} {path}");
        return routes;
    }
}
