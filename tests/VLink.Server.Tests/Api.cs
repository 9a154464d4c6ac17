using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>Small helpers to speak JSON to the server.</summary>
internal static class Api
{
    public static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, JsonNode body) =>
        Send(client, method, path, body.ToJsonString());

    /// <summary>Asserts a 200 with Qdrant's envelope and returns the body.</summary>
    public static async Task<JsonObject> Ok(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("ok", (string?)body["status"]);
        Assert.True((double)body["time"]! >= 0);
        Assert.True(body.ContainsKey("result"));
        return body;
    }

    /// <summary>Asserts problem details with the status and a detail naming the field.</summary>
    public static async Task<JsonObject> Problem(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal((int)status, (int)body["status"]!);
        Assert.Contains(field, (string?)body["detail"] ?? "", StringComparison.Ordinal);
        Assert.Equal(field, (string?)body["field"]);
        return body;
    }

    public static async Task CreateCollection(HttpClient client, string name, int size, string distance, int shards = 4)
    {
        var body = new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = size, ["distance"] = distance },
            ["hnsw_config"] = new JsonObject { ["m"] = 16, ["ef_construct"] = 100 },
            ["shard_number"] = shards,
        };
        var result = await Ok(await Send(client, HttpMethod.Put, $"/collections/{name}", body));
        Assert.True((bool)result["result"]!);
    }

    public static JsonArray Vector(float[] v) => new([.. v.Select(x => (JsonNode)JsonValue.Create(x))]);
}
