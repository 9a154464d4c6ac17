using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 3: every node is killed with SIGKILL and started again on the same journal — three nodes on PostgreSQL, one
/// node on SQLite. The answers after are identical to the answers before: searches through the HNSW graphs and exact
/// searches, ids and scores, and every point with its payload and vector. The graph searches run at an ef as large as a
/// partition: a graph rebuilt from the journal holds the same points, but a large batch is linked in parallel, in an
/// order no replay repeats, so at a low ef near ties could rank differently.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class RestartTests(ITestOutputHelper output)
{
    private const string Collection = "restart";
    private const int Dimension = 16;
    // Two partitions of 2,500 points: past the flat threshold (2,000), so each partition searches an HNSW graph.
    private const int Partitions = 2;
    private const int Count = 5000;

    [PostgresFact]
    public Task A_three_node_cluster_on_PostgreSQL_answers_identically_after_every_node_is_killed_and_restarted() =>
        StoryAsync(3, postgres: true);

    [Fact]
    public Task One_node_on_SQLite_answers_identically_after_it_is_killed_and_restarted() =>
        StoryAsync(1, postgres: false);

    private async Task StoryAsync(int nodes, bool postgres)
    {
        await using var database = postgres ? await PostgresDatabase.CreateAsync() : null;
        await using var cluster = await LocalCluster.StartAsync(nodes, database?.ConnectionString);
        await Rest.CreateCollectionAsync(cluster.Admin, cluster.Url(0), Collection, Dimension, Partitions, "Cosine");
        for (int b = 0; b < Count; b += 1000)
        {
            var points = new JsonArray([.. Enumerable.Range(b, 1000).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i,
                ["vector"] = Rest.Array(Rest.VectorOf(i, Dimension)),
                ["payload"] = new JsonObject { ["n"] = i, ["even"] = i % 2 == 0 },
            })]);
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(b / 1000 % nodes)}/collections/{Collection}/points", Rest.Json(new JsonObject { ["points"] = points.DeepClone() })), cluster.Logs);
        }
        // Some deletes and payload changes, so the journal holds more than upserts.
        await Rest.AcknowledgedAsync(() => cluster.Admin.PostAsync($"{cluster.Url(0)}/collections/{Collection}/points/delete", Rest.Json("""{"points":[3,33,333,3333]}""")), cluster.Logs);
        await Rest.AcknowledgedAsync(() => cluster.Admin.PostAsync($"{cluster.Url(nodes - 1)}/collections/{Collection}/points/payload", Rest.Json("""{"payload":{"tag":"changed"},"points":[7,77,777]}""")), cluster.Logs);

        var before = await AnswersAsync(cluster);
        await cluster.KillAllAsync();
        await cluster.StartAllAsync();
        // The first answers may wait for partitions to recover; poll until one is complete.
        await Poll.UntilAsync("a complete search after the restart", TimeSpan.FromSeconds(120), async () =>
        {
            var body = await Rest.Ok(await cluster.Admin.PostAsync($"{cluster.Url(0)}/collections/{Collection}/points/search", Rest.Json("""{"vector":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}""")));
            return (bool)body["complete"]!;
        }, cluster.Logs);
        var after = await AnswersAsync(cluster);

        Assert.Equal(before.Count, after.Count);
        int differing = before.Zip(after).Count(p => p.Item1 != p.Item2);
        Figures.Report(output, $"restart ({nodes} node{(nodes > 1 ? "s" : "")}, {(postgres ? "PostgreSQL" : "SQLite")}): answers identical after", $"{before.Count - differing} of {before.Count}");
        for (int i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);
    }

    /// <summary>Searches (through the graphs and exact, from every node), the count, and every point in id order, as text.</summary>
    private static async Task<List<string>> AnswersAsync(LocalCluster cluster)
    {
        var answers = new List<string>();
        for (int q = 0; q < 20; q++)
        {
            var query = Rest.Array(Rest.VectorOf(100_000 + q, Dimension));
            foreach (bool exact in new[] { false, true })
            {
                var body = await Rest.Ok(await cluster.Admin.PostAsync($"{cluster.Url(q % cluster.Count)}/collections/{Collection}/points/search", Rest.Json(new JsonObject
                {
                    ["vector"] = query.DeepClone(),
                    ["limit"] = 10,
                    ["with_payload"] = true,
                    ["params"] = exact ? new JsonObject { ["exact"] = true } : new JsonObject { ["hnsw_ef"] = Count },
                })), cluster.Logs);
                Assert.True((bool)body["complete"]!, body.ToJsonString());
                answers.Add($"search {q} exact={exact}: {body["result"]!.ToJsonString()}");
            }
        }
        answers.Add($"count: {await Rest.CountAsync(cluster.Admin, cluster.Url(0), Collection)}");
        answers.AddRange((await Rest.ScrollAllAsync(cluster.Admin, cluster.Url(cluster.Count - 1), Collection)).Select(p => p.ToJsonString()));
        return answers;
    }
}
