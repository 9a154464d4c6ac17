using System.Diagnostics;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 13: membership changes after writes, on real node processes sharing one PostgreSQL journal. One node takes
/// acknowledged writes; two nodes join and sharding moves partitions to them; a node leaves and joins again; between the
/// steps more writes are acknowledged. Every count that says it is complete is exact at every moment, from every node, and
/// every acknowledged id is readable at the end. The time until every node answers completely again is reported per step.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class MembershipTests(ITestOutputHelper output)
{
    private const string Collection = "membership";
    private const int Dimension = 8;
    private const int Partitions = 12;

    private readonly HashSet<long> _acknowledged = [];
    private int _completeCounts;
    private int _partialCounts;

    [PostgresFact]
    public async Task Counts_stay_exact_through_joins_a_rebalance_a_leave_and_a_rejoin()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString, startFirst: 1);

        // 1. One node, 2,000 acknowledged points in 12 partitions.
        await Rest.CreateCollectionAsync(cluster.Admin, cluster.Url(0), Collection, Dimension, Partitions);
        await WriteAsync(cluster, 0, 0, 2000);
        Assert.Equal(_acknowledged.Count, await Rest.CountAsync(cluster.Admin, cluster.Url(0), Collection));

        // 2. Two nodes join; partitions move to them a few at a time. Counts are checked all along.
        var clock = Stopwatch.StartNew();
        await cluster.StartNodeAsync(1);
        await cluster.StartNodeAsync(2);
        await cluster.WaitForMembersAsync(0, 3);
        int moved = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            await CheckCountsAsync(cluster);
            var byNode = await Rest.PartitionsByNodeAsync(cluster.Admin, cluster.Url(0), Collection);
            moved = byNode.Where(n => n.Key != cluster.Address(0)).Sum(n => n.Value.Count);
            if (moved >= 4) break;
            await Task.Delay(500);
        }
        Figures.Report(output, "joins after writes: partitions moved to the new nodes", $"{moved} of {Partitions} in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(moved > 0, $"no partition moved to the joined nodes within 120 s\n{cluster.Logs()}");
        await WholeAgainAsync(cluster, "joins and rebalance");

        // 3. More writes through a joined node, then node 1 leaves: its partitions hand over to the others.
        await WriteAsync(cluster, 1, 2000, 500);
        clock.Restart();
        int exit = await cluster.LeaveAsync(1);
        Assert.Equal(0, exit);
        Figures.Report(output, "a node leaves: its process exited after", $"{clock.Elapsed.TotalSeconds:0.0} s");
        await WholeAgainAsync(cluster, "leave");
        await WriteAsync(cluster, 2, 2500, 500);

        // 4. Node 1 starts again (same folder, ports and journal) and joins; partitions move back to it.
        clock.Restart();
        await cluster.StartNodeAsync(1);
        await cluster.WaitForMembersAsync(0, 3);
        await WholeAgainAsync(cluster, "rejoin");
        for (int i = 0; i < 20; i++)
        {
            await CheckCountsAsync(cluster);
            await Task.Delay(500);
        }

        // 5. Every acknowledged id, read back by id through every node.
        foreach (int node in cluster.Live)
        {
            var found = await Rest.Ok(await cluster.Admin.PostAsync($"{cluster.Url(node)}/collections/{Collection}/points",
                Rest.Json(new JsonObject { ["ids"] = new JsonArray([.. _acknowledged.Select(id => (JsonNode)id)]) })), cluster.Logs);
            var ids = found["result"]!.AsArray().Select(p => (long)p!["id"]!).ToHashSet();
            Assert.True(ids.SetEquals(_acknowledged), $"node {node} returned {ids.Count} of {_acknowledged.Count} acknowledged ids\n{cluster.Logs()}");
        }
        Figures.Report(output, "counts checked during the membership changes", $"{_completeCounts} complete (all exact), {_partialCounts} partial");
    }

    private async Task WriteAsync(LocalCluster cluster, int node, long first, int count)
    {
        for (long b = first; b < first + count; b += 250)
        {
            var ids = Enumerable.Range(0, 250).Select(i => b + i).ToList();
            var points = new JsonArray([.. ids.Select(id => (JsonNode)new JsonObject { ["id"] = id, ["vector"] = Rest.Array(Rest.VectorOf(id, Dimension)) })]);
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(node)}/collections/{Collection}/points?wait=true",
                Rest.Json(new JsonObject { ["points"] = points })), cluster.Logs);
            _acknowledged.UnionWith(ids);
        }
    }

    // Every ready node's count: a complete one must be exact.
    private async Task<int> CheckCountsAsync(LocalCluster cluster)
    {
        int complete = 0;
        foreach (int node in cluster.Ready)
        {
            JsonObject answer;
            try
            {
                using var response = await cluster.Admin.PostAsync($"{cluster.Url(node)}/collections/{Collection}/points/count", Rest.Json("""{"exact":true}"""));
                if (!response.IsSuccessStatusCode) continue;
                answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                continue;
            }
            if ((bool?)answer["complete"] == false)
            {
                _partialCounts++;
                continue;
            }
            _completeCounts++;
            complete++;
            long count = (long)answer["result"]!["count"]!;
            Assert.True(count == _acknowledged.Count, $"node {node} answered a complete count of {count}; {_acknowledged.Count} points were acknowledged\n{cluster.Logs()}");
        }
        return complete;
    }

    // Waits until every ready node answers a complete, exact count; reports how long it took.
    private async Task WholeAgainAsync(LocalCluster cluster, string step)
    {
        var clock = Stopwatch.StartNew();
        await Poll.UntilAsync($"complete counts from every node after the {step}", TimeSpan.FromSeconds(120),
            async () => await CheckCountsAsync(cluster) == cluster.Ready.Count ? "whole" : null, cluster.Logs);
        Figures.Report(output, $"{step}: every node answers complete and exact after", $"{clock.Elapsed.TotalSeconds:0.0} s");
    }
}
