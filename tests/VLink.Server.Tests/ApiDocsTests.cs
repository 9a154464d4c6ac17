using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VLink.Server.Tests;

/// <summary>The OpenAPI document and Scalar's reference, both open without a key.</summary>
[Collection(ServerCollection.Name)]
public sealed class ApiDocsTests(ServerFixture server)
{
    [Fact]
    public async Task The_OpenAPI_document_lists_the_routes_and_both_ways_to_send_a_key()
    {
        var response = await server.ClientWith(null).GetAsync("/openapi/v1.json");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var document = JsonNode.Parse(text)!;
        Assert.StartsWith("3.", (string?)document["openapi"], StringComparison.Ordinal);
        Assert.Equal("VLink", (string?)document["info"]!["title"]);
        var paths = document["paths"]!.AsObject();
        Assert.True(paths.ContainsKey("/collections/{name}/points/search"), text);
        Assert.NotNull(paths["/collections/{name}"]!["put"]);
        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("apiKey", (string?)schemes["api-key"]!["type"]);
        Assert.Equal("header", (string?)schemes["api-key"]!["in"]);
        Assert.Equal("bearer", (string?)schemes["bearer"]!["scheme"]);
    }

    [Fact]
    public async Task Scalar_serves_its_reference_page_and_script_without_a_key()
    {
        var anyone = server.ClientWith(null);
        var response = await anyone.GetAsync("/scalar");
        string page = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, page);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("openapi/v1.json", page);
        var script = Regex.Match(page, "<script[^>]*src=\"([^\"]+)\"");
        Assert.True(script.Success, page);
        var js = await anyone.GetAsync(new Uri(new Uri(anyone.BaseAddress!, "/scalar/"), script.Groups[1].Value));
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
    }
}
