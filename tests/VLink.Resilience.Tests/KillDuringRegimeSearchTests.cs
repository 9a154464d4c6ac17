using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Regime searches against three nodes on PostgreSQL (one replica of each market) while a node holding some markets is
/// killed with SIGKILL: no answer is an error. Until the dead node's markets re-home, answers come by their
/// <c>timeout</c> with the surviving markets' matches, <c>complete: false</c> and only the dead node's markets named;
/// with <c>require_complete=true</c> such an answer is a 503 naming them.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class KillDuringRegimeSearchTests(ITestOutputHelper output)
{
    private const string Collection = "regimes";
    private static readonly string[] Markets = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"];

    [PostgresFact]
    public async Task Regime_searches_answer_the_surviving_markets_flagged_partial_and_never_fail()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        string first = cluster.Url(0);
        await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{first}/regimes/collections/{Collection}", Rest.Json("""{"bar_interval":"1m"}""")), cluster.Logs);
        using (var csv = new StringContent(Ticks(Markets, 120), Encoding.UTF8, "text/csv"))
            await Rest.Ok(await cluster.Admin.PostAsync($"{first}/markets/ingest?collection={Collection}&kind=ticks&source=six.csv", csv), cluster.Logs);

        var byNode = await Rest.PartitionsByNodeAsync(cluster.Admin, first, Collection);
        int catalogNode = await Rest.SingletonNodeAsync(cluster);
        // A node holding some markets but not all; the catalog's node only if no other will do.
        var candidates = Enumerable.Range(0, cluster.Count)
            .Where(i => byNode.GetValueOrDefault(cluster.Address(i))?.Count is > 0 and < 6)
            .OrderBy(i => i == catalogNode).ToList();
        Assert.NotEmpty(candidates);
        int victim = candidates[0];
        var dead = byNode[cluster.Address(victim)].ToHashSet();
        var readers = Enumerable.Range(0, cluster.Count).Where(i => i != victim).ToList();
        var vector = new JsonArray([.. Enumerable.Range(0, 15).Select(_ => (JsonNode)JsonValue.Create(0.0))]);
        string search = new JsonObject { ["collection"] = Collection, ["vector"] = vector, ["k"] = 30 }.ToJsonString();

        var before = await Rest.Ok(await cluster.Admin.PostAsync($"{cluster.Url(readers[0])}/regimes/search?timeout=2", Rest.Json(search)), cluster.Logs);
        Assert.True((bool)before["result"]!["complete"]!);

        await cluster.KillAsync(victim);
        output.WriteLine($"killed node {victim}, which held {string.Join(", ", dead.Order())}");

        // Searches from both survivors for 10 s: every answer a 200 by its timeout; the partial ones name dead markets only.
        var timeout = TimeSpan.FromSeconds(2);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int partial = 0, complete = 0, refused = 0;
        var slowest = TimeSpan.Zero;
        while (DateTime.UtcNow < until)
        {
            var rounds = readers.Select(async reader =>
            {
                var clock = Stopwatch.StartNew();
                using var response = await cluster.Admin.PostAsync($"{cluster.Url(reader)}/regimes/search?timeout=2", Rest.Json(search));
                var elapsed = clock.Elapsed;
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"node {reader}: {(int)response.StatusCode} after {elapsed}: {text}");
                var result = JsonNode.Parse(text)!["result"]!;
                var missing = result["missing_partitions"]!.AsArray().Select(p => (string)p!).ToList();
                Assert.All(missing, p => Assert.Contains(p, dead));
                Assert.Equal(missing.Count == 0, (bool)result["complete"]!);
                Assert.NotEmpty(result["matches"]!.AsArray());
                if (missing.Count > 0)
                    Assert.All(result["matches"]!.AsArray(), m => Assert.DoesNotContain(dead, p => p.EndsWith("/" + (string)m!["market"]!, StringComparison.Ordinal)));
                return (Elapsed: elapsed, Partial: missing.Count > 0);
            });
            foreach (var (elapsed, isPartial) in await Task.WhenAll(rounds))
            {
                if (isPartial) partial++;
                else complete++;
                if (elapsed > slowest) slowest = elapsed;
            }
            using var strict = await cluster.Admin.PostAsync($"{cluster.Url(readers[0])}/regimes/search?timeout=2&require_complete=true", Rest.Json(search));
            if (strict.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                var problem = JsonNode.Parse(await strict.Content.ReadAsStringAsync())!;
                Assert.All(problem["missing_partitions"]!.AsArray(), p => Assert.Contains((string)p!, dead));
                refused++;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, strict.StatusCode);
            }
        }
        output.WriteLine($"after the kill: {partial} partial and {complete} complete answers, slowest {slowest.TotalMilliseconds:F0} ms (timeout {timeout.TotalMilliseconds:F0} ms); {refused} refused with require_complete");
        Assert.True(partial > 0, "no answer missed the dead node's markets: the kill proved nothing");
        Assert.True(refused > 0, "require_complete never refused a partial answer");
        Assert.True(slowest < timeout + TimeSpan.FromMilliseconds(100), $"slowest answer {slowest}");
    }

    // Ticks every 10 s for each market in turn, with a market column.
    private static string Ticks(IEnumerable<string> markets, int minutes)
    {
        var sb = new StringBuilder("time,market,price,size\n");
        var t0 = new DateTime(2024, 6, 3, 9, 0, 0, DateTimeKind.Utc);
        int m = 0;
        foreach (string market in markets)
        {
            m++;
            for (int i = 0; i < minutes * 6; i++)
            {
                double p = 100 * Math.Exp(0.01 * Math.Sin(i / (17.0 + 5 * m)) + 0.00001 * i * m + 0.0005 * Math.Sin(i * 1.7));
                sb.Append(t0.AddSeconds(10 * i).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Append(',')
                    .Append(market).Append(',').Append(p.ToString("F5", CultureInfo.InvariantCulture)).Append(",1\n");
            }
        }
        return sb.ToString();
    }
}
