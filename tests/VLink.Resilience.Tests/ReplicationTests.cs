using System.Diagnostics;
using System.Text.Json.Nodes;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenarios 8–11: replicated collections on three nodes sharing one PostgreSQL journal. A SIGKILL under mixed load
/// leaves every search complete and every acknowledged write readable, and the lost replicas are rebuilt on the
/// survivors; conflicting upserts through different nodes converge on every replica; a replica that missed deletes
/// does not bring the points back; and searches stay available while nodes are killed and restarted in turn.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class ReplicationTests(ITestOutputHelper output)
{
    private const int Dimension = 8;
    private const int Partitions = 6;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(150);

    [PostgresFact]
    public async Task R2_searches_stay_complete_and_acknowledged_writes_survive_a_SIGKILL_and_the_lost_replicas_are_rebuilt()
    {
        const string collection = "replicated";
        const int writers = 2, range = 600;
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        await Replicas.CreateAsync(cluster.Admin, cluster.Url(0), collection, Dimension, Partitions, 2, 1);
        var ids = Enumerable.Range(0, writers * range).Select(i => (ulong)i).ToList();
        foreach (var chunk in ids.Chunk(400))
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url((int)(chunk[0] / 400 % 3))}/collections/{collection}/points",
                Rest.Json(WriteLoad.Seed(chunk, Dimension))), cluster.Logs);
        var before = await Replicas.WaitPlacedAsync(cluster, collection, Partitions, 2, Long);

        var writes = new WriteLoad(cluster, collection, Dimension, writers, range);
        // Single searches and batches of two alternate: batches are hedged like single searches.
        var searches = new SearchLoad(cluster, collection, Dimension, 2, batches: true);
        await writes.WaitForAcksAsync(20, Long, cluster.Logs);
        await searches.WaitForMoreAsync(40, Long, cluster.Logs);

        // The victim holds the catalog too (the harder case); every node holds replicas with R = 2 on 3 nodes.
        int victim = await Rest.SingletonNodeAsync(cluster);
        string victimAddress = cluster.Address(victim);
        output.WriteLine($"killing node {victim}, which holds {string.Join(", ", before.Where(e => e.Node == victimAddress).Select(e => $"{e.Key}#{e.Replica}"))} and the catalog");
        long killedAt = Stopwatch.GetTimestamp();
        await cluster.KillAsync(victim);

        await Replicas.WaitPlacedAsync(cluster, collection, Partitions, 2, Long);
        double restore = Stopwatch.GetElapsedTime(killedAt).TotalSeconds;
        // The load goes on past the restore, on the rebuilt replicas.
        await writes.WaitForAcksAsync(20, Long, cluster.Logs);
        await searches.WaitForMoreAsync(40, Long, cluster.Logs);
        await searches.StopAsync();
        await writes.StopAsync();

        var ledger = writes.Ledger();
        var read = await Replicas.ReadAsync(cluster.Admin, cluster.Url(cluster.Live[0]), collection, ledger.Keys, "all");
        var wrong = ledger.Select(e => WriteLoad.Judge(e.Key, read.GetValueOrDefault(e.Key), e.Value, Dimension)).OfType<string>().ToList();
        long count = await Rest.CountAsync(cluster.Admin, cluster.Url(cluster.Live[1]), collection);

        var answers = searches.Answers();
        var judged = answers.Where(a => !a.Cut).ToList();
        var failed = judged.Where(a => !a.Complete).ToList();
        var batches = writes.Batches();
        var during = judged.Where(a => a.SentAt > killedAt).Select(a => a.Millis).ToList();
        Figures.Report(output, "replicas R=2 W=1: search answers after the SIGKILL / not complete (of all)",
            $"{judged.Count(a => a.SentAt > killedAt)} / {failed.Count} (of {judged.Count}; {answers.Count(a => a.Cut)} cut by the kill of the node asked)");
        Figures.Report(output, "replicas R=2 W=1: search p50 / p99 ms before the kill / after",
            $"{Rest.F(P(judged.Where(a => a.SentAt < killedAt).Select(a => a.Millis), 50))} / {Rest.F(P(judged.Where(a => a.SentAt < killedAt).Select(a => a.Millis), 99))}"
            + $" / {Rest.F(P(during, 50))} / {Rest.F(P(during, 99))}");
        Figures.Report(output, "replicas R=2 W=1: seconds from SIGKILL to R = 2 restored on the survivors", Rest.F(restore));
        Figures.Report(output, "replicas R=2 W=1: upsert batches acknowledged / refused after the kill",
            $"{batches.Count(b => b.At > killedAt && b.Acked)} / {batches.Count(b => b.At > killedAt && !b.Acked)}");
        Figures.Report(output, "replicas R=2 W=1: acknowledged points lost or wrong", $"{wrong.Count} of {ledger.Count}");

        Assert.True(failed.Count == 0, $"{failed.Count} of {judged.Count} search answers were not complete:\n{string.Join("\n", failed.Take(10).Select(a => a.Error))}\n{cluster.Logs()}");
        Assert.True(wrong.Count == 0, $"{wrong.Count} acknowledged writes are lost or wrong:\n{string.Join("\n", wrong.Take(20))}\n{cluster.Logs()}");
        Assert.Equal(ledger.Count, count);
        // And the replicas agree: the rebuilt ones recovered from their journals and caught up.
        await Replicas.WaitConvergedAsync(cluster, collection, Partitions, 2, Long);
    }

    [PostgresFact]
    public async Task Concurrent_conflicting_upserts_through_different_nodes_converge_on_every_replica()
    {
        const string collection = "conflicts";
        const int idCount = 60, rounds = 25;
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        // R = 3 with W = 1: each write is acknowledged by one replica while the others may still apply it, in any order.
        await Replicas.CreateAsync(cluster.Admin, cluster.Url(0), collection, Dimension, Partitions, 3, 1);
        var ids = Enumerable.Range(0, idCount).Select(i => (ulong)i).ToList();
        await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(0)}/collections/{collection}/points",
            Rest.Json(Conflicting(ids, writer: 9, round: 0))), cluster.Logs);
        await Replicas.WaitPlacedAsync(cluster, collection, Partitions, 3, Long);

        // One writer per node, all writing every id each round, in a different order each time.
        int acked = 0, refused = 0;
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            using var client = LocalCluster.Client(LocalCluster.WriteKey);
            var rng = new Random(40 + w);
            for (int round = 1; round <= rounds; round++)
            {
                var order = ids.OrderBy(_ => rng.Next()).ToList();
                using var response = await client.PutAsync($"{cluster.Url(w)}/collections/{collection}/points", Rest.Json(Conflicting(order, w, round)));
                if (response.IsSuccessStatusCode) Interlocked.Increment(ref acked);
                else Interlocked.Increment(ref refused);
            }
        })).ToList();
        await Task.WhenAll(writers);
        long written = Stopwatch.GetTimestamp();

        var map = await Replicas.WaitConvergedAsync(cluster, collection, Partitions, 3, Long);
        double converged = Stopwatch.GetElapsedTime(written).TotalSeconds;
        var reads = new List<Dictionary<ulong, JsonObject>>();
        foreach (int node in Enumerable.Range(0, 3))
            foreach (string consistency in new[] { "all", "majority", "one" })
                reads.Add(await Replicas.ReadAsync(cluster.Admin, cluster.Url(node), collection, ids, consistency));

        var problems = new List<string>();
        foreach (ulong id in ids)
        {
            var first = reads[0].GetValueOrDefault(id);
            if (first is null)
            {
                problems.Add($"{id}: missing");
                continue;
            }
            int writer = (int)first["payload"]!["writer"]!, round = (int)first["payload"]!["round"]!;
            if (!Rest.Floats(first["vector"]!).SequenceEqual(VectorOf(id, writer, round))) problems.Add($"{id}: the vector is not that of the payload's write");
            for (int r = 1; r < reads.Count; r++)
                if (reads[r].GetValueOrDefault(id) is not { } other || !JsonNode.DeepEquals(other, first))
                    problems.Add($"{id}: read {r} (node {r / 3}, {(r % 3 == 0 ? "all" : r % 3 == 1 ? "majority" : "one")}) = {reads[r].GetValueOrDefault(id)?.ToJsonString()} but {first.ToJsonString()}");
        }
        var winners = reads[0].Values.GroupBy(p => (int)p["payload"]!["writer"]!).ToDictionary(g => g.Key, g => g.Count());
        Figures.Report(output, "replicas R=3 W=1: conflicting upserts (3 nodes x 25 rounds x 60 ids) acknowledged / refused", $"{acked} / {refused}");
        Figures.Report(output, "replicas R=3 W=1: seconds from the last write's answer to equal digests on every replica", Rest.F(converged));
        Figures.Report(output, "replicas R=3 W=1: ids whose replicas or reads disagree", $"{problems.Count} of {idCount} (winning writer per id: {string.Join(", ", winners.OrderBy(w => w.Key).Select(w => $"node {w.Key}: {w.Value}"))})");

        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        Assert.Equal(0, refused);
        Assert.Equal(idCount, map.GroupBy(e => e.Key).Sum(g => g.First().Vectors));

        JsonObject Conflicting(IEnumerable<ulong> order, int writer, int round) => new()
        {
            ["points"] = new JsonArray([.. order.Select(id => (JsonNode)new JsonObject
            {
                ["id"] = id,
                ["vector"] = Rest.Array(VectorOf(id, writer, round)),
                ["payload"] = new JsonObject { ["writer"] = writer, ["round"] = round },
            })]),
        };

        static float[] VectorOf(ulong id, int writer, int round) => Rest.VectorOf((long)id * 1000 + writer * 100 + round, Dimension);
    }

    [PostgresFact]
    public async Task A_replica_that_was_down_while_points_were_deleted_does_not_bring_them_back()
    {
        const string collection = "tombstones";
        const int count = 1200;
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        await Replicas.CreateAsync(cluster.Admin, cluster.Url(0), collection, Dimension, Partitions, 2, 1);
        var ids = Enumerable.Range(0, count).Select(i => (ulong)i).ToList();
        foreach (var chunk in ids.Chunk(400))
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url((int)(chunk[0] / 400 % 3))}/collections/{collection}/points",
                Rest.Json(WriteLoad.Seed(chunk, Dimension))), cluster.Logs);
        var map = await Replicas.WaitConvergedAsync(cluster, collection, Partitions, 2, Long);

        // The victim: the node holding most replicas, not the catalog's (the deletes are the point here, not the catalog).
        int catalog = await Rest.SingletonNodeAsync(cluster);
        int victim = Enumerable.Range(0, 3).Where(i => i != catalog).MaxBy(i => map.Count(e => e.Node == cluster.Address(i)));
        var victimKeys = map.Where(e => e.Node == cluster.Address(victim)).Select(e => e.Key).ToHashSet();
        Assert.NotEmpty(victimKeys);
        // Ids of the partitions with a replica on the victim: their deletes miss that replica while it is down.
        var doomed = ids.Where(id => victimKeys.Contains(HashPartitioner.KeyOf(new PointId(id), Partitions))).Where(id => id % 3 != 0).Take(300).ToList();
        var deleted = new HashSet<ulong>();
        var resurrections = new List<string>();
        var timeline = new Timeline();
        int checkedSearches = 0, checkedScrolls = 0;
        using var stop = new CancellationTokenSource();

        // Readers: searches for deleted points by their own vector (a deleted point still held anywhere would be its own
        // nearest neighbour), and whole scrolls. A hit on an id whose delete was acknowledged before the read was sent
        // is a resurrection.
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            using var client = LocalCluster.Client(LocalCluster.ReadKey);
            client.Timeout = TimeSpan.FromSeconds(30);
            var rng = new Random(60 + r);
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                var live = cluster.Ready;
                int node = live[(r + n) % live.Count];
                HashSet<ulong> gone;
                lock (deleted) gone = [.. deleted];
                try
                {
                    if (r == 1 && n % 10 == 0)
                    {
                        long scrolled = Stopwatch.GetTimestamp();
                        var all = await Rest.ScrollAllAsync(client, cluster.Url(node), collection);
                        var back = all.Select(p => (ulong)p["id"]!).Where(gone.Contains).ToList();
                        lock (resurrections)
                        {
                            checkedScrolls++;
                            if (back.Count > 0) resurrections.Add($"scroll through node {node} sent {timeline.Place(scrolled)} returned {back.Count} deleted ids: {string.Join(", ", back.Take(10))}");
                        }
                        continue;
                    }
                    ulong probe = gone.Count > 0 && rng.Next(4) != 0 ? gone.ElementAt(rng.Next(gone.Count)) : doomed[rng.Next(doomed.Count)];
                    long sent = Stopwatch.GetTimestamp();
                    using var response = await client.PostAsync($"{cluster.Url(node)}/collections/{collection}/points/search", Rest.Json(new JsonObject
                    {
                        ["vector"] = Rest.Array(WriteLoad.VectorOf(probe, 0, Dimension)),
                        ["limit"] = 3,
                        ["params"] = new JsonObject { ["exact"] = true },
                    }));
                    if (!response.IsSuccessStatusCode) continue;
                    var hits = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["result"]!.AsArray().Select(h => (ulong)h!["id"]!).ToList();
                    lock (resurrections)
                    {
                        checkedSearches++;
                        var back = hits.Where(gone.Contains).ToList();
                        if (back.Count > 0) resurrections.Add($"search through node {node} sent {timeline.Place(sent)} returned deleted ids {string.Join(", ", back)} (partition {string.Join(", ", back.Select(id => HashPartitioner.KeyOf(new PointId(id), Partitions)))})");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or Xunit.Sdk.XunitException)
                {
                    // A node killed under the reader, or a partition not answering a scroll: not a resurrection.
                }
            }
        })).ToList();

        await cluster.KillAsync(victim);
        long killedAt = Stopwatch.GetTimestamp();
        timeline.Mark($"the SIGKILL of node {victim}");
        output.WriteLine($"killed node {victim}, which held replicas of {string.Join(", ", victimKeys.Order())}; deleting {doomed.Count} of their ids");
        // The deletes go out at once, while the victim is down but not yet downed: its replicas cannot receive them.
        using (var client = LocalCluster.Client(LocalCluster.WriteKey))
            foreach (var chunk in doomed.Chunk(20))
            {
                var live = cluster.Ready;
                await Rest.AcknowledgedAsync(() => client.PostAsync($"{cluster.Url(live[(int)(chunk[0] % (ulong)live.Count)])}/collections/{collection}/points/delete",
                    Rest.Json(new JsonObject { ["points"] = new JsonArray([.. chunk.Select(id => (JsonNode)id)]) })), cluster.Logs);
                lock (deleted) deleted.UnionWith(chunk);
            }
        double deletesTook = Stopwatch.GetElapsedTime(killedAt).TotalSeconds;
        timeline.Mark("the deletes' acknowledgement");

        // The victim's replicas are rebuilt on the survivors from their journals (which lack the deletes) and must not
        // answer with the deleted points; then the victim comes back and the shards may move home.
        var rebuilt = await Replicas.WaitPlacedAsync(cluster, collection, Partitions, 2, Long);
        timeline.Mark("R = 2 restored on the survivors (" + string.Join(", ", rebuilt.Where(e => victimKeys.Contains(e.Key)).OrderBy(e => e.Key).Select(e => $"{e.Key}#{e.Replica} on {e.Node[^5..]}")) + ")");
        await cluster.RestartAsync(victim);
        await cluster.WaitForMembersAsync(catalog, 3);
        timeline.Mark($"node {victim} back");
        long restartedAt = Stopwatch.GetTimestamp();
        await Replicas.WaitConvergedAsync(cluster, collection, Partitions, 2, Long);
        timeline.Mark("convergence");
        double converged = Stopwatch.GetElapsedTime(restartedAt).TotalSeconds;
        // Reads go on a while after convergence (a replica moving home after a rebalance is read too).
        int target = checkedSearches + 60;
        await Poll.UntilAsync("60 more checked searches", Long, () => Task.FromResult(Volatile.Read(ref checkedSearches) >= target), cluster.Logs);
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var final = await Replicas.WaitConvergedAsync(cluster, collection, Partitions, 2, Long);
        var remaining = new List<ulong>();
        foreach (int node in Enumerable.Range(0, 3))
        {
            var scrolled = await Rest.ScrollAllAsync(cluster.Admin, cluster.Url(node), collection);
            remaining.AddRange(scrolled.Select(p => (ulong)p["id"]!).Where(deleted.Contains));
            Assert.Equal(count - deleted.Count, scrolled.Count);
        }
        // A read of every replica: one that moved home after the rebalance answers once its first catch-up round is
        // done (until then a read needing it is refused, 503), so the read is tried again for a while.
        Dictionary<ulong, System.Text.Json.Nodes.JsonObject>? readBack = null;
        var readUntil = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (readBack is null)
        {
            try
            {
                readBack = await Replicas.ReadAsync(cluster.Admin, cluster.Url(victim), collection, deleted, "all");
            }
            catch (Exception e) when (e.Message.StartsWith("503 ", StringComparison.Ordinal) && DateTime.UtcNow < readUntil)
            {
                await Task.Delay(250);
            }
        }

        Figures.Report(output, "replicas R=2: ids deleted while a replica of their partition was down (s to delete them)", $"{deleted.Count} ({Rest.F(deletesTook)} s)");
        Figures.Report(output, "replicas R=2: seconds from the restart to equal digests", Rest.F(converged));
        Figures.Report(output, "replicas R=2: deleted ids seen again in searches / scrolls checked", $"{resurrections.Count} in {checkedSearches} searches and {checkedScrolls} scrolls");

        output.WriteLine($"timeline: {timeline}");
        foreach (string resurrection in resurrections.Take(20)) output.WriteLine(resurrection);
        Assert.True(resurrections.Count == 0, $"deleted points came back:\n{string.Join("\n", resurrections.Take(20))}\ntimeline: {timeline}\n{cluster.Logs()}");
        Assert.Empty(remaining);
        Assert.Empty(readBack);
        Assert.Equal(count - deleted.Count, final.GroupBy(e => e.Key).Sum(g => g.First().Vectors));
    }

    [PostgresFact]
    public async Task Searches_stay_available_while_nodes_are_killed_and_restarted_in_turn()
    {
        const string collection = "available";
        const int cycles = 3, range = 500;
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        await Replicas.CreateAsync(cluster.Admin, cluster.Url(0), collection, Dimension, Partitions, 2, 1);
        var ids = Enumerable.Range(0, range).Select(i => (ulong)i).ToList();
        await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(0)}/collections/{collection}/points",
            Rest.Json(WriteLoad.Seed(ids, Dimension))), cluster.Logs);
        await Replicas.WaitPlacedAsync(cluster, collection, Partitions, 2, Long);

        var writes = new WriteLoad(cluster, collection, Dimension, 1, range);
        var searches = new SearchLoad(cluster, collection, Dimension, 2);
        await searches.WaitForMoreAsync(40, Long, cluster.Logs);
        var restores = new List<double>();
        var timeline = new Timeline();
        long start = Stopwatch.GetTimestamp();
        for (int cycle = 0; cycle < cycles; cycle++)
        {
            int victim = cycle % 3;
            long killedAt = Stopwatch.GetTimestamp();
            timeline.Mark($"the SIGKILL of node {victim}");
            await cluster.KillAsync(victim);
            await Replicas.WaitPlacedAsync(cluster, collection, Partitions, 2, Long);
            restores.Add(Stopwatch.GetElapsedTime(killedAt).TotalSeconds);
            timeline.Mark($"R restored without node {victim}");
            await cluster.RestartAsync(victim);
            timeline.Mark($"node {victim} ready again");
            await cluster.WaitForMembersAsync((victim + 1) % 3, 3);
            timeline.Mark($"node {victim} Up for node {(victim + 1) % 3}");
            await searches.WaitForMoreAsync(40, Long, cluster.Logs);
            output.WriteLine($"cycle {cycle}: node {victim} killed, R restored after {Rest.F(restores[^1])} s, back after {Rest.F(Stopwatch.GetElapsedTime(killedAt).TotalSeconds)} s");
        }
        await searches.StopAsync();
        await writes.StopAsync();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        var answers = searches.Answers();
        var judged = answers.Where(a => !a.Cut).ToList();
        var failed = judged.Where(a => !a.Complete).ToList();
        double availability = judged.Count(a => a.Complete) / (double)judged.Count;
        var batches = writes.Batches();
        Figures.Report(output, $"replicas R=2 W=1: availability over {cycles} kill/restart cycles ({Rest.F(seconds)} s)",
            $"{availability:P3} ({judged.Count - failed.Count} of {judged.Count} searches complete; {answers.Count(a => a.Cut)} cut by the kill of the node asked)"
            + (failed.Count == 0 ? "" : $"; not complete: {string.Join(", ", failed.GroupBy(a => Kind(a.Error)).Select(g => $"{g.Count()} x {g.Key}"))}"));
        Figures.Report(output, "replicas R=2 W=1: seconds from each SIGKILL to R restored", string.Join(" / ", restores.Select(Rest.F)));
        Figures.Report(output, "replicas R=2 W=1: search p50 / p99 ms over the run", $"{Rest.F(P(judged.Select(a => a.Millis), 50))} / {Rest.F(P(judged.Select(a => a.Millis), 99))}");
        Figures.Report(output, "replicas R=2 W=1: upserts acknowledged / refused over the run", $"{batches.Count(b => b.Acked)} / {batches.Count(b => !b.Acked)}");

        foreach (var answer in failed.Take(20)) output.WriteLine($"{answer.Error}, sent {timeline.Place(answer.SentAt)}, answered in {Rest.F(answer.Millis)} ms");
        output.WriteLine($"timeline: {timeline}");
        Assert.True(availability >= 0.999, $"{failed.Count} of {judged.Count} searches were not complete:\n{string.Join("\n", failed.Take(20).Select(a => $"{a.Error}, sent {timeline.Place(a.SentAt)}, answered in {Rest.F(a.Millis)} ms"))}\ntimeline: {timeline}");
    }

    // Found two placement bugs: replicas asked for at once shared a node with all three nodes up, and with two nodes left
    // an R = 2 partition shared one beside an R = 3 collection's replicas of the same shard family (both fixed in
    // ReplicaAllocationStrategy: pending decisions count, and sharing with sibling j costs 2^-max(i, j)).
    [PostgresFact]
    public async Task Replicas_stay_on_distinct_nodes_beside_a_collection_of_higher_replication_factor()
    {
        // Shard b holds replica 0 of every partition hashed to b in every collection, b#1 replica 1, b#2 replica 2. A
        // collection of R = 3 over many partitions gives most families a b#2; with two nodes left such a family cannot
        // be spread, and the partitions of an R = 2 collection in it must still keep their two replicas apart.
        const string wide = "wide", narrow = "narrow";
        const int widePartitions = 48, narrowPartitions = 12;
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        await Replicas.CreateAsync(cluster.Admin, cluster.Url(0), wide, Dimension, widePartitions, 3, 1);
        await Replicas.CreateAsync(cluster.Admin, cluster.Url(0), narrow, Dimension, narrowPartitions, 2, 1);
        var ids = Enumerable.Range(0, 600).Select(i => (ulong)i).ToList();
        foreach (string collection in new[] { wide, narrow })
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(1)}/collections/{collection}/points",
                Rest.Json(WriteLoad.Seed(ids, Dimension))), cluster.Logs);
        await Replicas.WaitPlacedAsync(cluster, wide, widePartitions, 3, Long);
        await Replicas.WaitPlacedAsync(cluster, narrow, narrowPartitions, 2, Long);

        int catalog = await Rest.SingletonNodeAsync(cluster);
        int victim = (catalog + 1) % 3;
        long killedAt = Stopwatch.GetTimestamp();
        await cluster.KillAsync(victim);
        // Writes through the survivors wake every replica (and the keeper does too once the node is removed).
        using var client = LocalCluster.Client(LocalCluster.WriteKey);
        string? problem = null;
        await Poll.UntilAsync($"{narrow}: every partition with 2 replicas on the two survivors", Long, async () =>
        {
            foreach (string collection in new[] { wide, narrow })
                (await client.PutAsync($"{cluster.Url(catalog)}/collections/{collection}/points", Rest.Json(WriteLoad.Seed(ids.Take(50), Dimension)))).Dispose();
            var map = await Replicas.MapAsync(cluster.Admin, cluster.Url(catalog), narrow);
            problem = Replicas.PlacementProblem(map, narrowPartitions, 2, [.. cluster.Ready.Select(cluster.Address)]);
            return problem is null;
        }, () => $"last problem: {problem}\n{cluster.Logs()}");
        Figures.Report(output, "replicas beside R = 3: seconds from SIGKILL to R = 2 restored on distinct survivors", Rest.F(Stopwatch.GetElapsedTime(killedAt).TotalSeconds));
    }

    /// <summary>The kind of a failed answer, for counting: its first words (the status kept), without node numbers, partitions and ports.</summary>
    private static string Kind(string? error) =>
        error is null ? "?" : System.Text.RegularExpressions.Regex.Replace(error.Length > 80 ? error[..80] : error, "node [0-9]+|@[0-9]+/p[0-9]+|:[0-9]+", "#");

    private static double P(IEnumerable<double> values, double p)
    {
        var latencies = new Latencies();
        foreach (double v in values) latencies.Add(TimeSpan.FromMilliseconds(v));
        return latencies.Percentile(p);
    }
}
