using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>Helpers of the data-route tests: a collection with known points, and requests that must succeed.</summary>
internal static class DataApi
{
    /// <summary>POSTs (or sends <paramref name="method"/>) and returns the OK envelope.</summary>
    public static async Task<JsonObject> Ok(HttpClient client, string path, string json, HttpMethod? method = null) =>
        await Api.Ok(await Api.Send(client, method ?? HttpMethod.Post, path, json));

    /// <summary>Upserts points given as JSON text (the array).</summary>
    public static async Task Upsert(HttpClient client, string name, string pointsJson) =>
        await Ok(client, $"/collections/{name}/points?wait=true", $$"""{"points":{{pointsJson}}}""", HttpMethod.Put);

    /// <summary>
    /// A 2-d Euclid collection of <paramref name="count"/> points with ids 1..count, vector [i, 0] and payload
    /// <c>{"n": i, "even": i % 2 == 0, "group": "g{i % 3}"}</c>.
    /// </summary>
    public static async Task Seed(HttpClient client, string name, int count, int shards = 4)
    {
        await Api.CreateCollection(client, name, 2, "Euclid", shards);
        var points = new JsonArray();
        for (int i = 1; i <= count; i++)
        {
            points.Add(new JsonObject
            {
                ["id"] = i,
                ["vector"] = new JsonArray(i, 0),
                ["payload"] = new JsonObject { ["n"] = i, ["even"] = i % 2 == 0, ["group"] = $"g{i % 3}" },
            });
        }
        await Upsert(client, name, points.ToJsonString());
    }

    /// <summary>The ids of a JSON array of points, as text (numbers and UUIDs alike).</summary>
    public static List<string> Ids(JsonNode? points) => [.. points!.AsArray().Select(p => p!["id"]!.ToJsonString().Trim('"'))];
}
