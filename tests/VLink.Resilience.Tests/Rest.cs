using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>The few REST calls the scenarios make, and the data they write.</summary>
public static class Rest
{
    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The body of a 200 answer; anything else fails the test with the answer.</summary>
    public static async Task<JsonObject> Ok(HttpResponseMessage response, Func<string>? context = null)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK,
            $"{(int)response.StatusCode} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {text}\n{context?.Invoke()}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// The body of a write's 200 answer, sending it again while the answer is 503 (a cold partition, or a busy machine,
    /// may miss the ask timeout; writes are idempotent, and a client would retry). Any other answer fails the test.
    /// For setting up data, not for the scenarios' own writes.
    /// </summary>
    public static async Task<JsonObject> AcknowledgedAsync(Func<Task<HttpResponseMessage>> send, Func<string>? context = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var response = await send();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline) return await Ok(response, context);
            response.Dispose();
            await Task.Delay(500);
        }
    }

    public static async Task CreateCollectionAsync(HttpClient client, string url, string name, int dimension, int partitions, string distance = "Euclid") =>
        await Ok(await client.PutAsync($"{url}/collections/{name}", Json(new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = dimension, ["distance"] = distance },
            ["shard_number"] = partitions,
        })));

    /// <summary>The point <paramref name="id"/>'s vector: the same numbers for the same id in every run.</summary>
    public static float[] VectorOf(long id, int dimension)
    {
        var rng = new Random((int)(id * 2654435761 % int.MaxValue));
        return [.. Enumerable.Range(0, dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    public static JsonArray Array(float[] v) => new([.. v.Select(x => (JsonNode)JsonValue.Create(x))]);

    public static float[] Floats(JsonNode node) => [.. node.AsArray().Select(x => (float)x!)];

    public static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Every point of a collection (ids, payloads and vectors), page by page in id order; fails when any partition does not answer.</summary>
    public static async Task<List<JsonObject>> ScrollAllAsync(HttpClient client, string url, string collection)
    {
        var all = new List<JsonObject>();
        JsonNode? offset = null;
        do
        {
            var request = new JsonObject { ["limit"] = 1000, ["with_payload"] = true, ["with_vector"] = true };
            if (offset is not null) request["offset"] = offset.DeepClone();
            var page = (await Ok(await client.PostAsync($"{url}/collections/{collection}/points/scroll?require_complete=true", Json(request))))["result"]!;
            all.AddRange(page["points"]!.AsArray().Select(p => p!.AsObject()));
            offset = page["next_page_offset"];
        }
        while (offset is not null);
        return all;
    }

    /// <summary>The exact number of points in a collection; fails when any partition does not answer.</summary>
    public static async Task<long> CountAsync(HttpClient client, string url, string collection) =>
        (long)(await Ok(await client.PostAsync($"{url}/collections/{collection}/points/count?require_complete=true", Json("""{"exact":true}"""))))["result"]!["count"]!;

    /// <summary>The index of the node holding the catalog singleton, from <c>GET /cluster/singleton</c> of a live node.</summary>
    public static async Task<int> SingletonNodeAsync(LocalCluster cluster)
    {
        var body = await Ok(await cluster.Admin.GetAsync($"{cluster.Url(cluster.Live[0])}/cluster/singleton"));
        string node = (string)body["result"]!["node"]!;
        return Enumerable.Range(0, cluster.Count).Single(i => cluster.Address(i) == node);
    }

    /// <summary>The partitions (entity ids) of a collection per node address, from <c>GET /cluster/shards</c>.</summary>
    public static async Task<Dictionary<string, List<string>>> PartitionsByNodeAsync(HttpClient client, string url, string collection)
    {
        var body = await Ok(await client.GetAsync($"{url}/cluster/shards"));
        return body["result"]!["nodes"]!.AsArray().ToDictionary(
            n => (string)n!["address"]!,
            n => n!["partitions"]!.AsArray().Where(p => (string?)p!["collection"] == collection).Select(p => (string)p!["entity_id"]!).ToList());
    }
}

/// <summary>Latencies of many requests, from several threads; percentiles at the end.</summary>
public sealed class Latencies
{
    private readonly List<double> _millis = [];

    public int Count
    {
        get
        {
            lock (_millis) return _millis.Count;
        }
    }

    public void Add(TimeSpan elapsed)
    {
        lock (_millis) _millis.Add(elapsed.TotalMilliseconds);
    }

    /// <summary>The <paramref name="p"/>-th percentile in milliseconds (nearest rank), or NaN when empty.</summary>
    public double Percentile(double p)
    {
        lock (_millis)
        {
            if (_millis.Count == 0) return double.NaN;
            var sorted = _millis.Order().ToList();
            int rank = (int)Math.Ceiling(p / 100 * sorted.Count);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
        }
    }

    /// <summary>Times one call.</summary>
    public async Task<T> TimeAsync<T>(Func<Task<T>> call)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        finally
        {
            Add(Stopwatch.GetElapsedTime(start));
        }
    }
}

/// <summary>The figures the issue asks for, written to the test output as <c>FIGURE name = value</c> lines.</summary>
public static class Figures
{
    public static void Report(ITestOutputHelper output, string name, string value)
    {
        string line = $"FIGURE {name} = {value}";
        output.WriteLine(line);
        // Also on the runner's console, so CI logs carry the figures of passing tests.
        Console.WriteLine(line);
    }
}
