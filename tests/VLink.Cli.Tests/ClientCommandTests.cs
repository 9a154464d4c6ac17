using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Cli.Tests;

/// <summary><c>vlink collection</c> and <c>vlink search</c> as real processes against a running node.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClientCommandTests(ClusterFixture cluster)
{
    private string Url => cluster.Nodes[0].Url;

    private async Task<CliRun> Vlink(params string[] args)
    {
        var run = await VLinkProgram.RunAsync([.. args, "--url", Url], ClusterFixture.AdminKey);
        Assert.True(run.ExitCode == 0, $"vlink {string.Join(' ', args)}: {run}\n{cluster.Logs()}");
        return run;
    }

    private static IEnumerable<string> Rows(string table) =>
        table.Split('\n').Where(l => l.StartsWith('│') || l.StartsWith('|'))
            .Select(l => string.Join(' ', l.Split(['│', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));

    [PostgresFact]
    public async Task Collection_create_list_search_delete()
    {
        var created = await Vlink("collection", "create", "cli-demo", "--size", "3", "--distance", "dot", "--shards", "2", "--m", "8", "--ef-construct", "50");
        Assert.Contains("created collection cli-demo (3-d Dot, 2 shards)", created.Stdout, StringComparison.Ordinal);

        var points = """{"points":[{"id":1,"vector":[1,0,0],"payload":{"city":"Paris"}},{"id":2,"vector":[0,1,0],"payload":{"city":"Rome"}},{"id":3,"vector":[0.5,0.5,0],"payload":{"city":"Paris"}}]}""";
        using (var response = await cluster.Client.PutAsync($"{Url}/collections/cli-demo/points", new StringContent(points, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var list = await Vlink("collection", "list");
        Assert.Contains("cli-demo 3 Dot 2 1 3", Rows(list.Stdout));
        await Vlink("collection", "create", "cli-replicated", "--size", "2", "--distance", "Euclid", "--shards", "3", "--replication-factor", "2", "--write-consistency", "majority");
        Assert.Contains("cli-replicated 2 Euclid 3 2 0", Rows((await Vlink("collection", "list")).Stdout));
        var listJson = JsonNode.Parse((await Vlink("collection", "list", "--json")).Stdout)!.AsArray();
        var info = listJson.Single(c => (string?)c!["name"] == "cli-demo")!["info"]!;
        Assert.Equal(8, (int)info["config"]!["hnsw_config"]!["m"]!);
        Assert.Equal(50, (int)info["config"]!["hnsw_config"]!["ef_construct"]!);

        // Table: rank, id, score, payload, nearest first.
        var search = await Vlink("search", "cli-demo", "--vector", "1,0.1,0", "--limit", "2", "--with-payload");
        Assert.Equal(["rank id score payload", "1 1 1 {\"city\":\"Paris\"}", "2 3 0.55 {\"city\":\"Paris\"}"],
            Rows(search.Stdout).Select(r => System.Text.RegularExpressions.Regex.Replace(r, @"(\d\.\d\d)\d+", "$1")));

        // A vector file and a filter; --json prints the server's answer.
        string vectorFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(vectorFile, "[0, 1, 0]");
            var filtered = await Vlink("search", "cli-demo", "--vector-file", vectorFile, "--filter", """{"must":[{"key":"city","match":{"value":"Paris"}}]}""", "--json");
            var ids = JsonNode.Parse(filtered.Stdout)!["result"]!.AsArray().Select(h => (int)h!["id"]!).ToList();
            Assert.Equal([3, 1], ids);
        }
        finally
        {
            File.Delete(vectorFile);
        }

        // The server's refusal is one line naming the field; exit code 1.
        var wrong = await VLinkProgram.RunAsync(["search", "cli-demo", "--vector", "1,0", "--url", Url], ClusterFixture.AdminKey);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Equal("vlink: the server answered 400 Bad Request: vector: wrong vector dimension: expected 3, got 2", wrong.Stderr.Trim());

        var deleted = await Vlink("collection", "delete", "cli-demo");
        Assert.Contains("deleted collection cli-demo", deleted.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("cli-demo", (await Vlink("collection", "list")).Stdout, StringComparison.Ordinal);
        var again = await Vlink("collection", "delete", "cli-demo");
        Assert.Contains("does not exist", again.Stdout, StringComparison.Ordinal);
        var gone = await VLinkProgram.RunAsync(["search", "cli-demo", "--vector", "1,0,0", "--url", Url], ClusterFixture.AdminKey);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("404", gone.Stderr, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Keys_come_from_the_flag_or_the_environment_and_their_absence_is_explained()
    {
        var anonymous = await VLinkProgram.RunAsync(["collection", "list", "--url", Url]);
        Assert.Equal(1, anonymous.ExitCode);
        Assert.Contains("401", anonymous.Stderr, StringComparison.Ordinal);
        Assert.Contains("VLINK_API_KEY", anonymous.Stderr, StringComparison.Ordinal);

        var byFlag = await VLinkProgram.RunAsync(["collection", "list", "--url", Url, "--api-key", ClusterFixture.ReadKey]);
        Assert.True(byFlag.ExitCode == 0, byFlag.ToString());

        // The read key may list but not create.
        var create = await VLinkProgram.RunAsync(["collection", "create", "cli-refused", "--size", "2", "--distance", "Dot", "--url", Url], ClusterFixture.ReadKey);
        Assert.Equal(1, create.ExitCode);
        Assert.Contains("403", create.Stderr, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task An_unreachable_server_is_named_in_one_line()
    {
        int port = VLinkProgram.FreePort();
        var run = await VLinkProgram.RunAsync(["collection", "list", "--url", $"http://127.0.0.1:{port}"], ClusterFixture.AdminKey);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"vlink: cannot reach the VLink server at http://127.0.0.1:{port}/: connection refused (is a vlink node running there? see --url)", run.Stderr.Trim());
    }

    [PostgresFact]
    public async Task Import_and_export_stream_points_both_ways_and_name_a_bad_line()
    {
        string folder = Directory.CreateTempSubdirectory("vlink-cli-transfer-").FullName;
        try
        {
            await Vlink("collection", "create", "cli-transfer", "--size", "3", "--distance", "Euclid", "--shards", "2");
            var rng = new Random(7);
            var vectors = Enumerable.Range(0, 2500).Select(_ => new[] { (float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble() }).ToArray();
            string good = Path.Combine(folder, "points.ndjson");
            await File.WriteAllLinesAsync(good, vectors.Select((v, i) => new JsonObject
            {
                ["id"] = i,
                ["vector"] = new JsonArray([.. v.Select(x => (JsonNode)JsonValue.Create(x))]),
                ["payload"] = new JsonObject { ["n"] = i },
            }.ToJsonString()));

            var imported = await Vlink("import", good, "--collection", "cli-transfer", "--batch-size", "1000");
            Assert.Contains($"imported 2500 points from 2500 lines of {good} into cli-transfer (3 batches)", imported.Stdout, StringComparison.Ordinal);

            // A bad line stops the import there: FILE:LINE: problem, and how many points were written before it.
            string bad = Path.Combine(folder, "bad.jsonl");
            await File.WriteAllLinesAsync(bad, Enumerable.Range(0, 1500).Select(i => $$"""{"id":{{10_000 + i}},"vector":[1,2,3]}""")
                .Append("""{"id":99999,"vector":[1,2]}"""));
            var refused = await VLinkProgram.RunAsync(["import", bad, "--collection", "cli-transfer", "--batch-size", "1000", "--url", Url], ClusterFixture.AdminKey);
            Assert.Equal(1, refused.ExitCode);
            string error = refused.Stderr.Trim().Split('\n')[^1];
            Assert.StartsWith($"vlink: {bad}:1501: vector: ", error, StringComparison.Ordinal);
            Assert.EndsWith("(1000 points before it were imported)", error, StringComparison.Ordinal);

            string csv = Path.Combine(folder, "more.csv");
            await File.WriteAllTextAsync(csv, "id,x0,x1,x2\n20000,1,2,3\n20001,4,5,6\n");
            Assert.Contains("imported 2 points", (await Vlink("import", csv, "--collection", "cli-transfer")).Stdout, StringComparison.Ordinal);

            // Export to a file (CSV from the extension) and to standard output (NDJSON): every point, unchanged.
            string exported = Path.Combine(folder, "all.csv");
            var export = await Vlink("export", "--collection", "cli-transfer", "--output", exported);
            Assert.Contains($"exported cli-transfer to {exported}", export.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(exported + ".partial"));
            var rows = await File.ReadAllLinesAsync(exported);
            Assert.Equal("id,x0,x1,x2", rows[0]);
            Assert.Equal(2500 + 1000 + 2, rows.Length - 1);

            var ndjson = await Vlink("export", "--collection", "cli-transfer");
            var points = ndjson.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToDictionary(p => (long)p["id"]!);
            Assert.Equal(3502, points.Count);
            for (int i = 0; i < vectors.Length; i++)
            {
                Assert.Equal(vectors[i], points[i]["vector"]!.AsArray().Select(x => (float)x!).ToArray());
                Assert.Equal(i, (int)points[i]["payload"]!["n"]!);
            }

            var missing = await VLinkProgram.RunAsync(["import", Path.Combine(folder, "nothing.ndjson"), "--collection", "cli-transfer", "--url", Url], ClusterFixture.AdminKey);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("no such file", missing.Stderr, StringComparison.Ordinal);
            var unknown = await VLinkProgram.RunAsync(["export", "--collection", "cli-nowhere", "--output", Path.Combine(folder, "x.ndjson"), "--url", Url], ClusterFixture.AdminKey);
            Assert.Equal(1, unknown.ExitCode);
            Assert.Contains("404", unknown.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(folder, "x.ndjson")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
