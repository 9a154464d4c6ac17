using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 4: the node holding the catalog singleton is killed with SIGKILL and not started again. The catalog comes
/// back on a survivor with a higher term; collection changes made after the failover are acknowledged and durable (they
/// survive killing and restarting the whole cluster); nothing acknowledged before the failover is lost.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class CatalogFailoverTests(ITestOutputHelper output)
{
    private const int Dimension = 4;

    [PostgresFact]
    public async Task Changes_after_the_catalogs_node_dies_are_durable_and_nothing_acknowledged_before_is_lost()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        var admin = cluster.Admin;

        // Before: two collections with points; a setting-like change (one collection dropped again).
        await Rest.CreateCollectionAsync(admin, cluster.Url(1), "kept", Dimension, 3);
        await Rest.CreateCollectionAsync(admin, cluster.Url(2), "dropped-after", Dimension, 2);
        await Rest.CreateCollectionAsync(admin, cluster.Url(0), "dropped-before", Dimension, 1);
        await Rest.Ok(await admin.DeleteAsync($"{cluster.Url(2)}/collections/dropped-before"));
        await Rest.AcknowledgedAsync(() => UpsertAsync(admin, cluster.Url(1), "kept", 0, 300), cluster.Logs);
        await Rest.AcknowledgedAsync(() => UpsertAsync(admin, cluster.Url(2), "dropped-after", 0, 50), cluster.Logs);
        var keptBefore = await Rest.ScrollAllAsync(admin, cluster.Url(0), "kept");
        var singleton = (await Rest.Ok(await admin.GetAsync($"{cluster.Url(0)}/cluster/singleton")))["result"]!;
        long termBefore = (long)singleton["term"]!;
        long indexBefore = (long)singleton["index"]!;

        int victim = await Rest.SingletonNodeAsync(cluster);
        int survivor = (victim + 1) % cluster.Count;
        var clock = Stopwatch.StartNew();
        await cluster.KillAsync(victim);
        output.WriteLine($"killed node {victim}, which held the catalog at term {termBefore}, index {indexBefore}");

        // A change through a survivor is acknowledged once the catalog has moved (refused, never half-done, before).
        await Poll.UntilAsync("a collection created after the failover", TimeSpan.FromSeconds(120), async () =>
        {
            using var response = await admin.PutAsync($"{cluster.Url(survivor)}/collections/created-after",
                Rest.Json($$"""{"vectors":{"size":{{Dimension}},"distance":"Euclid"},"shard_number":2}"""));
            return response.StatusCode == HttpStatusCode.OK;
        }, cluster.Logs);
        double failover = clock.Elapsed.TotalSeconds;
        var moved = (await Rest.Ok(await admin.GetAsync($"{cluster.Url(survivor)}/cluster/singleton")))["result"]!;
        Assert.NotEqual(cluster.Address(victim), (string?)moved["node"]);
        Assert.True((long)moved["term"]! > termBefore, $"term {moved["term"]} did not pass {termBefore}");
        Assert.Equal(indexBefore + 1, (long)moved["index"]!);

        await Poll.UntilAsync("the drop after the failover", TimeSpan.FromSeconds(60), async () =>
            (await admin.DeleteAsync($"{cluster.Url(survivor)}/collections/dropped-after")).StatusCode == HttpStatusCode.OK, cluster.Logs);
        await Poll.UntilAsync("points into the new collection", TimeSpan.FromSeconds(60), async () =>
            (await UpsertAsync(admin, cluster.Url(survivor), "created-after", 1000, 100)).StatusCode == HttpStatusCode.OK, cluster.Logs);
        var createdAfter = await Poll.UntilAsync("the new collection's points", TimeSpan.FromSeconds(60),
            async () => await Rest.ScrollAllAsync(admin, cluster.Url(survivor), "created-after"), cluster.Logs);
        var keptAfterFailover = await Poll.UntilAsync("the old collection's points", TimeSpan.FromSeconds(90),
            async () => await Rest.ScrollAllAsync(admin, cluster.Url(survivor), "kept"), cluster.Logs);
        Assert.Equal(Text(keptBefore), Text(keptAfterFailover));

        // Durable: the whole cluster is killed and started again (the dead node too) and holds exactly that.
        await cluster.KillAllAsync();
        await cluster.StartAllAsync();
        var names = await Poll.UntilAsync("the catalog after the restart", TimeSpan.FromSeconds(90), async () =>
            (await Rest.Ok(await admin.GetAsync($"{cluster.Url(victim)}/collections")))["result"]!["collections"]!.AsArray()
                .Select(c => (string)c!["name"]!).Order(StringComparer.Ordinal).ToList(), cluster.Logs);
        Assert.Equal(["created-after", "kept"], names);
        var kept = await Poll.UntilAsync("every partition of kept", TimeSpan.FromSeconds(90), async () => await Rest.ScrollAllAsync(admin, cluster.Url(victim), "kept"), cluster.Logs);
        Assert.Equal(Text(keptBefore), Text(kept));
        var created = await Poll.UntilAsync("every partition of created-after", TimeSpan.FromSeconds(90), async () => await Rest.ScrollAllAsync(admin, cluster.Url(0), "created-after"), cluster.Logs);
        Assert.Equal(Text(createdAfter), Text(created));
        Assert.Equal(100, created.Count);

        Figures.Report(output, "catalog failover: seconds from SIGKILL of the catalog's node to an acknowledged collection change", Rest.F(failover));
        Figures.Report(output, "catalog failover: acknowledged points and changes lost", $"0 of {keptBefore.Count + created.Count} points, 0 of 6 catalog changes");
    }

    private static Task<HttpResponseMessage> UpsertAsync(HttpClient client, string url, string collection, int first, int count)
    {
        var points = new JsonArray([.. Enumerable.Range(first, count).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = i,
            ["vector"] = Rest.Array(Rest.VectorOf(i, Dimension)),
            ["payload"] = new JsonObject { ["n"] = i },
        })]);
        return client.PutAsync($"{url}/collections/{collection}/points", Rest.Json(new JsonObject { ["points"] = points }));
    }

    private static string Text(List<JsonObject> points) => string.Join("\n", points.Select(p => p.ToJsonString()));
}
