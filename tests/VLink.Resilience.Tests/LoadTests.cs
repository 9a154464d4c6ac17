using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 7: sustained mixed load (nine searches to one upsert) from several clients over three nodes on PostgreSQL for
/// a fixed time. Every request succeeds, every search is complete, the nodes' memory stays bounded (the upserts
/// overwrite a fixed set of ids, so the data does not grow), and the latencies and rate held are reported.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class LoadTests(ITestOutputHelper output)
{
    private const string Collection = "load";
    private const int Dimension = 32;
    private const int Partitions = 6;
    private const int Points = 6000;
    private const int Clients = 4;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(20);

    [PostgresFact]
    public async Task Mixed_load_runs_without_errors_in_bounded_memory()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        await Rest.CreateCollectionAsync(cluster.Admin, cluster.Url(0), Collection, Dimension, Partitions, "Cosine");
        for (int b = 0; b < Points; b += 1000)
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(b / 1000 % 3)}/collections/{Collection}/points", Rest.Json(Batch(b, 1000, 0))), cluster.Logs);

        var searches = new Latencies();
        var upserts = new Latencies();
        var errors = new List<string>();
        var memory = new List<(double At, long[] Bytes)>();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var client = LocalCluster.Client(LocalCluster.WriteKey);
            var rng = new Random(500 + c);
            for (int n = 0; clock.Elapsed < Duration; n++)
            {
                string url = cluster.Url((c + n) % cluster.Count);
                bool upsert = rng.Next(10) == 0;
                var latencies = upsert ? upserts : searches;
                long start = Stopwatch.GetTimestamp();
                HttpResponseMessage response;
                if (upsert)
                    response = await client.PutAsync($"{url}/collections/{Collection}/points", Rest.Json(Batch(rng.Next(Points - 10), 10, n)));
                else
                    response = await client.PostAsync($"{url}/collections/{Collection}/points/search", Rest.Json(new JsonObject
                    {
                        ["vector"] = Rest.Array(Rest.VectorOf(1_000_000 + rng.Next(1_000_000), Dimension)),
                        ["limit"] = 10,
                    }));
                using (response)
                {
                    string text = await response.Content.ReadAsStringAsync();
                    latencies.Add(Stopwatch.GetElapsedTime(start));
                    bool ok = response.StatusCode == HttpStatusCode.OK && (upsert || (bool)JsonNode.Parse(text)!["complete"]!);
                    if (!ok)
                        lock (errors) errors.Add($"{(upsert ? "upsert" : "search")} {(int)response.StatusCode}: {(text.Length > 300 ? text[..300] : text)}");
                }
            }
        })).ToList();
        // Memory is sampled once a second while the load runs (a sampling period, not a wait for a condition).
        var sampler = Task.Run(async () =>
        {
            using var period = new PeriodicTimer(TimeSpan.FromSeconds(1));
            do
            {
                memory.Add((clock.Elapsed.TotalSeconds, [.. Enumerable.Range(0, cluster.Count).Select(i => cluster.Node(i)!.WorkingSetBytes())]));
            }
            while (clock.Elapsed < Duration && await period.WaitForNextTickAsync());
        });
        await Task.WhenAll(workers);
        await sampler;
        double seconds = clock.Elapsed.TotalSeconds;

        // Memory: the most any node held in the second half against the first half (after warm-up).
        double half = Duration.TotalSeconds / 2;
        long firstHalf = memory.Where(m => m.At < half).SelectMany(m => m.Bytes).Max();
        long secondHalf = memory.Where(m => m.At >= half).SelectMany(m => m.Bytes).Max();
        int requests = searches.Count + upserts.Count;
        Figures.Report(output, "load: requests/s held (90 % search, 10 % upsert of 10 points, 4 clients, 3 nodes)", $"{Rest.F(requests / seconds)} over {Rest.F(seconds)} s ({requests} requests, {errors.Count} errors)");
        Figures.Report(output, "load: search p50 / p99 ms", $"{Rest.F(searches.Percentile(50))} / {Rest.F(searches.Percentile(99))}");
        Figures.Report(output, "load: upsert p50 / p99 ms", $"{Rest.F(upserts.Percentile(50))} / {Rest.F(upserts.Percentile(99))}");
        Figures.Report(output, "load: largest node working set, first half / second half (MiB)", $"{firstHalf >> 20} / {secondHalf >> 20}");

        Assert.True(errors.Count == 0, $"{errors.Count} of {requests} requests failed:\n{string.Join("\n", errors.Take(10))}");
        Assert.True(searches.Count > 100, $"only {searches.Count} searches in {seconds:0} s");
        Assert.True(secondHalf <= firstHalf * 3 / 2 + (64L << 20), $"memory grew from {firstHalf >> 20} MiB to {secondHalf >> 20} MiB");
        Assert.Equal(Points, await Rest.CountAsync(cluster.Admin, cluster.Url(0), Collection));
    }

    private static JsonObject Batch(int first, int count, int version) => new()
    {
        ["points"] = new JsonArray([.. Enumerable.Range(first, count).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = i,
            ["vector"] = Rest.Array(Rest.VectorOf(i * 31 + version, Dimension)),
            ["payload"] = new JsonObject { ["n"] = i, ["version"] = version },
        })]),
    };
}
