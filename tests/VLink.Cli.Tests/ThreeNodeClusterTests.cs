using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Cli.Tests;

/// <summary>
/// A story over three real <c>vlink node</c> processes: a collection spread over their partitions answers the same
/// global top-k from every node, equal to brute force; <c>vlink cluster</c> shows all three; of two more nodes one
/// leaves and one is downed, and both their processes end (the three shared nodes stay for the other tests).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ThreeNodeClusterTests(ClusterFixture cluster)
{
    private const string Collection = "cli-global";
    private const int Dimension = 16;
    private const int Count = 3000;
    private const int Partitions = 6;
    private const int K = 10;

    [PostgresFact]
    public async Task Global_top_k_is_the_same_from_every_node_equals_brute_force_and_the_cluster_commands_show_every_member()
    {
        var nodes = cluster.Nodes;
        var client = cluster.Client;

        // 1. A collection with several partitions, written through every node.
        await Ok(await client.PutAsync($"{nodes[0].Url}/collections/{Collection}", Json(new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = Dimension, ["distance"] = "Cosine" },
            ["shard_number"] = Partitions,
        })));
        var rng = new Random(20261123);
        var vectors = Enumerable.Range(0, Count).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        for (int batch = 0; batch < 3; batch++)
        {
            var points = new JsonArray();
            for (int i = batch * 1000; i < (batch + 1) * 1000; i++)
                points.Add(new JsonObject { ["id"] = i, ["vector"] = Vector(vectors[i]), ["payload"] = new JsonObject { ["n"] = i } });
            await Ok(await client.PutAsync($"{nodes[batch].Url}/collections/{Collection}/points", Json(new JsonObject { ["points"] = points })));
        }

        // 2. Every node answers the same global top-k, equal to brute force over all points.
        for (int q = 0; q < 4; q++)
        {
            float[] query = [.. Enumerable.Range(0, Dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
            var brute = Enumerable.Range(0, Count).Select(i => (Id: i, Score: Cosine(query, vectors[i]))).OrderByDescending(h => h.Score).ToList();
            var scoreOf = brute.ToDictionary(h => h.Id, h => h.Score);
            string? first = null;
            foreach (var node in nodes)
            {
                var answer = await Ok(await client.PostAsync($"{node.Url}/collections/{Collection}/points/search",
                    Json(new JsonObject { ["vector"] = Vector(query), ["limit"] = K, ["params"] = new JsonObject { ["exact"] = true } })));
                Assert.True((bool)answer["complete"]!, $"{node.Url}: {answer.ToJsonString()}");
                var hits = answer["result"]!.AsArray().Select(h => (Id: (int)h!["id"]!, Score: (double)h["score"]!)).ToList();
                Assert.Equal(K, hits.Count);
                for (int rank = 0; rank < K; rank++)
                {
                    // Same point (or, within float rounding, one exactly as near) at every rank, with its true score.
                    Assert.True(Math.Abs(scoreOf[hits[rank].Id] - brute[rank].Score) < 1e-5,
                        $"query {q}, {node.Url}, rank {rank}: got {hits[rank]}, brute force has {brute[rank]}");
                    Assert.True(Math.Abs(hits[rank].Score - scoreOf[hits[rank].Id]) < 1e-4, $"score of {hits[rank]} vs {scoreOf[hits[rank].Id]}");
                }
                // Bit-identical across nodes: ids and scores.
                string result = answer["result"]!.ToJsonString();
                first ??= result;
                Assert.Equal(first, result);
            }
        }

        // 3. vlink cluster show, from the second node: all three members, Up, one leader.
        var show = await Cli(nodes[1], "cluster", "show");
        foreach (var node in nodes) Assert.Contains(node.Address, show.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, Lines(show.Stdout).Count(l => l.Contains("akka.tcp://", StringComparison.Ordinal) && l.Contains(" Up ", StringComparison.Ordinal)));
        Assert.Contains("members: 3", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("unreachable: 0", show.Stdout, StringComparison.Ordinal);

        // 4. vlink cluster shards, from the third node: every node answers; the collection's partitions hold every point.
        var shards = await Cli(nodes[2], "cluster", "shards");
        foreach (var node in nodes) Assert.Contains(node.Address, shards.Stdout, StringComparison.Ordinal);
        Assert.Equal(Partitions, Lines(shards.Stdout).Count(l => l.Contains($" {Collection} ", StringComparison.Ordinal)));
        var shardsJson = JsonNode.Parse((await Cli(nodes[2], "cluster", "shards", "--json")).Stdout)!["result"]!;
        var perNode = shardsJson["nodes"]!.AsArray();
        Assert.Equal(nodes.Select(n => n.Address).Order(StringComparer.Ordinal), perNode.Select(n => (string)n!["address"]!));
        Assert.All(perNode, n => Assert.True((bool)n!["answered"]!));
        var mine = perNode.SelectMany(n => n!["partitions"]!.AsArray()
            .Where(p => (string?)p!["collection"] == Collection)
            .Select(p => (Node: (string)n["address"]!, Key: (string)p!["key"]!, Vectors: (int)p["vectors"]!, Index: (string)p["index"]!))).ToList();
        Assert.Equal(Enumerable.Range(0, Partitions).Select(i => $"p{i}").Order(StringComparer.Ordinal), mine.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(Count, mine.Sum(p => p.Vectors));
        Assert.All(mine, p => Assert.Contains(p.Index, new[] { "flat", "hnsw" }));
        // The shard coordinator spreads partitions over the members: the search above did gather across nodes.
        Assert.True(mine.Select(p => p.Node).Distinct().Count() >= 2, string.Join(", ", mine));

        // 5. vlink cluster singleton names one of the members as the catalog's node.
        var singleton = await Cli(nodes[0], "cluster", "singleton");
        Assert.Contains(nodes.Select(n => n.Address), a => Lines(singleton.Stdout).Any(l => l.Contains(" node ", StringComparison.Ordinal) && l.Contains(a, StringComparison.Ordinal)));

        // 6. vlink search through the CLI gives the HTTP answer.
        float[] probe = vectors[7];
        var cliSearch = await Cli(nodes[1], "search", Collection, "--vector", string.Join(",", probe.Select(f => f.ToString("R", CultureInfo.InvariantCulture))), "--exact", "--json");
        var cliHits = JsonNode.Parse(cliSearch.Stdout)!["result"]!.AsArray();
        Assert.Equal(7, (int)cliHits[0]!["id"]!);
        Assert.Equal(K, cliHits.Count);

        // 7. Operations need the admin key, name unknown members, and a leave removes the member.
        var refused = await VLinkProgram.RunAsync(["cluster", "leave", $"127.0.0.1:{nodes[2].AkkaPort}", "--url", nodes[0].Url, "--api-key", ClusterFixture.ReadKey]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("403", refused.Stderr, StringComparison.Ordinal);
        var unknown = await VLinkProgram.RunAsync(["cluster", "down", "127.0.0.1:1", "--url", nodes[0].Url], ClusterFixture.AdminKey);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr, StringComparison.Ordinal);
        Assert.Contains("not a member", unknown.Stderr, StringComparison.Ordinal);

        // Two more nodes join, so the three the other tests share stay in the cluster.
        var leaving = await cluster.AddNodeAsync();
        var crashed = await cluster.AddNodeAsync();
        await cluster.WaitForMembersAsync(nodes[0], 5, TimeSpan.FromSeconds(40));
        Assert.Contains("members: 5", (await Cli(nodes[0], "cluster", "show")).Stdout, StringComparison.Ordinal);

        var leave = await VLinkProgram.RunAsync(["cluster", "leave", $"127.0.0.1:{leaving.AkkaPort}", "--url", nodes[0].Url], ClusterFixture.AdminKey);
        Assert.True(leave.ExitCode == 0, leave.ToString());
        Assert.Contains($"{leaving.Address} is leaving", leave.Stdout, StringComparison.Ordinal);
        await cluster.WaitForMembersAsync(nodes[0], 4, TimeSpan.FromSeconds(40));
        var after = await Cli(nodes[0], "cluster", "show");
        Assert.DoesNotContain(leaving.Address, after.Stdout, StringComparison.Ordinal);
        Assert.Contains("members: 4", after.Stdout, StringComparison.Ordinal);
        // The node that left has no cluster to serve: its vlink node process ends by itself, cleanly.
        Assert.Equal(0, await leaving.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // 8. A member marked down (as an operator does for a crashed node) is removed, and its process ends too.
        var down = await VLinkProgram.RunAsync(["cluster", "down", crashed.Address, "--url", nodes[1].Url], ClusterFixture.AdminKey);
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains($"{crashed.Address} is marked down (was Up)", down.Stdout, StringComparison.Ordinal);
        await cluster.WaitForMembersAsync(nodes[0], 3, TimeSpan.FromSeconds(40));
        Assert.Equal(0, await crashed.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        foreach (var node in nodes) Assert.False(node.HasExited, $"{node.Url} ended:\n{node.Log()}");
    }

    private async Task<CliRun> Cli(NodeProcess node, params string[] args)
    {
        var run = await VLinkProgram.RunAsync([.. args, "--url", node.Url], ClusterFixture.ReadKey);
        Assert.True(run.ExitCode == 0, $"vlink {string.Join(' ', args)}: {run}\n{cluster.Logs()}");
        return run;
    }

    private static IEnumerable<string> Lines(string text) => text.Split('\n');

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    private static JsonArray Vector(float[] v) => new([.. v.Select(x => (JsonNode)JsonValue.Create(x))]);

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private async Task<JsonObject> Ok(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {text}\n{cluster.Logs()}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
