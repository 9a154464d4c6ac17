using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VLink.Cli.Tests;

/// <summary>
/// <c>/metrics</c> of a real node process counts each REST request in ASP.NET Core's duration histogram under its
/// route. (A test process hosting several servers cannot check this: every host has its own ASP.NET Core meter and
/// the exporter keeps only the first instrument of a name, so it is checked here, one server per process, as users run it.)
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class NodeMetricsTests(ClusterFixture cluster)
{
    private const string SearchRoute = "http_route=\"/collections/{name}/points/search\"";
    private const string Ok = "http_response_status_code=\"200\"";
    private const string BadRequest = "http_response_status_code=\"400\"";

    [PostgresFact]
    public async Task A_nodes_route_histogram_counts_each_search_by_its_status()
    {
        var node = cluster.Nodes[1];
        var client = cluster.Client;
        await Send(client, HttpMethod.Put, $"{node.Url}/collections/node-metrics",
            """{"vectors":{"size":2,"distance":"Euclid"},"shard_number":2}""", HttpStatusCode.OK);
        await Send(client, HttpMethod.Put, $"{node.Url}/collections/node-metrics/points?wait=true",
            """{"points":[{"id":1,"vector":[1,1]},{"id":2,"vector":[2,1]},{"id":3,"vector":[3,1]}]}""", HttpStatusCode.OK);

        string before = await Metrics(node);
        for (int i = 0; i < 3; i++)
            await Send(client, HttpMethod.Post, $"{node.Url}/collections/node-metrics/points/search", """{"vector":[3,1],"limit":2}""", HttpStatusCode.OK);
        await Send(client, HttpMethod.Post, $"{node.Url}/collections/node-metrics/points/search", """{"vector":[3,1,4],"limit":2}""", HttpStatusCode.BadRequest);

        // The server records a request once its response is written, which may be just after the client has it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string after;
        while (true)
        {
            after = await Metrics(node);
            if (Sum(after, SearchRoute, Ok) - Sum(before, SearchRoute, Ok) >= 3 && Sum(after, SearchRoute, BadRequest) - Sum(before, SearchRoute, BadRequest) >= 1) break;
            if (DateTime.UtcNow > deadline) break;
            await Task.Delay(200);
        }
        Assert.Equal(3, Sum(after, SearchRoute, Ok) - Sum(before, SearchRoute, Ok));
        Assert.Equal(1, Sum(after, SearchRoute, BadRequest) - Sum(before, SearchRoute, BadRequest));
        Assert.Contains("http_server_request_duration_seconds_bucket{", after);
    }

    private static async Task Send(HttpClient client, HttpMethod method, string url, string body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {url}: {(int)response.StatusCode} {text}");
    }

    private async Task<string> Metrics(NodeProcess node)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{node.Url}/metrics");
        request.Headers.Add("api-key", ClusterFixture.ReadKey);
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await plain.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text;
    }

    /// <summary>The sum of <c>http_server_request_duration_seconds_count</c> over the lines whose labels hold all of <paramref name="labels"/>.</summary>
    private static double Sum(string text, params string[] labels)
    {
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            var match = Regex.Match(line, @"^http_server_request_duration_seconds_count\{(?<labels>.*)\} (?<value>\S+)");
            if (!match.Success || !labels.All(l => match.Groups["labels"].Value.Contains(l, StringComparison.Ordinal))) continue;
            sum += double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
