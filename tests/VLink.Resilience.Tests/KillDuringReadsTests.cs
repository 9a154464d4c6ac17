using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 2: exact searches run steadily against two nodes of three on PostgreSQL while the third is killed with
/// SIGKILL. Every answer is either complete and equal to brute force over all points, or says <c>complete: false</c>,
/// names only partitions the dead node held, and equals brute force over the partitions that answered. Answers are
/// complete again once the partitions re-home; the time that takes is measured, and latencies before and during.
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class KillDuringReadsTests(ITestOutputHelper output)
{
    private const string Collection = "reads";
    private const int Dimension = 8;
    private const int Partitions = 6;
    private const int Count = 3000;
    private const int K = 10;

    private sealed record Answer(long SentAt, long ReceivedAt, bool Complete, IReadOnlyList<string> Missing, string? Wrong);

    [PostgresFact]
    public async Task Answers_are_complete_and_exact_or_name_the_dead_nodes_partitions_until_they_re_home()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        string first = cluster.Url(0);
        await Rest.CreateCollectionAsync(cluster.Admin, first, Collection, Dimension, Partitions);
        var vectors = Enumerable.Range(0, Count).Select(i => Rest.VectorOf(i, Dimension)).ToArray();
        var partitionOf = Enumerable.Range(0, Count).Select(i => HashPartitioner.KeyOf(new PointId((ulong)i), Partitions)).ToArray();
        for (int b = 0; b < Count; b += 500)
        {
            var points = new JsonArray([.. Enumerable.Range(b, 500).Select(i => (JsonNode)new JsonObject { ["id"] = i, ["vector"] = Rest.Array(vectors[i]) })]);
            await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(b / 500 % 3)}/collections/{Collection}/points", Rest.Json(new JsonObject { ["points"] = points.DeepClone() })), cluster.Logs);
        }

        // The victim holds the catalog singleton too when it holds partitions (the harder case: until the catalog moves,
        // nodes search with the catalog they last saw); else the node with most partitions.
        var byNode = await Rest.PartitionsByNodeAsync(cluster.Admin, first, Collection);
        int catalogNode = await Rest.SingletonNodeAsync(cluster);
        int victim = byNode.GetValueOrDefault(cluster.Address(catalogNode))?.Count > 0
            ? catalogNode
            : Enumerable.Range(0, cluster.Count).MaxBy(i => byNode.GetValueOrDefault(cluster.Address(i))?.Count ?? 0);
        var victimPartitions = byNode[cluster.Address(victim)].ToHashSet();
        Assert.NotEmpty(victimPartitions);
        var readers = Enumerable.Range(0, cluster.Count).Where(i => i != victim).ToList();

        var answers = new List<Answer>();
        var normal = new Latencies();
        var failover = new Latencies();
        long killedAt = long.MaxValue;
        using var stop = new CancellationTokenSource();
        var loops = readers.Select((node, r) => Task.Run(async () =>
        {
            using var client = LocalCluster.Client(LocalCluster.ReadKey);
            var rng = new Random(100 + r);
            while (!stop.IsCancellationRequested)
            {
                float[] query = [.. Enumerable.Range(0, Dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
                long sent = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync($"{cluster.Url(node)}/collections/{Collection}/points/search",
                    Rest.Json(new JsonObject { ["vector"] = Rest.Array(query), ["limit"] = K, ["params"] = new JsonObject { ["exact"] = true } }));
                long received = Stopwatch.GetTimestamp();
                (sent < Volatile.Read(ref killedAt) ? normal : failover).Add(Stopwatch.GetElapsedTime(sent, received));
                var answer = await JudgeAsync(response, query, sent, received);
                lock (answers) answers.Add(answer);
            }
        })).ToList();

        // Steady load first, then the kill.
        await Poll.UntilAsync("40 answers before the kill", TimeSpan.FromSeconds(60), () => Task.FromResult(Snapshot(answers).Count >= 40), cluster.Logs);
        Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
        await cluster.KillAsync(victim);
        output.WriteLine($"killed node {victim}, which held {string.Join(", ", victimPartitions.Order())}{(victim == catalogNode ? " and the catalog" : "")}");

        // Until 30 answers in a row, all sent after the kill, are complete.
        await Poll.UntilAsync("30 complete answers in a row after the kill", TimeSpan.FromSeconds(150), () =>
        {
            var after = Snapshot(answers).Where(a => a.SentAt > killedAt).OrderBy(a => a.SentAt).ToList();
            return Task.FromResult(after.Count >= 30 && after.TakeLast(30).All(a => a.Complete));
        }, cluster.Logs);
        stop.Cancel();
        await Task.WhenAll(loops);

        var all = Snapshot(answers).OrderBy(a => a.SentAt).ToList();
        var afterKill = all.Where(a => a.SentAt > killedAt).ToList();
        // Recovery: from the kill to the first answer sent after which every answer is complete.
        int lastIncomplete = afterKill.FindLastIndex(a => !a.Complete);
        long recoveredAt = lastIncomplete + 1 < afterKill.Count ? afterKill[lastIncomplete + 1].SentAt : long.MaxValue;
        double recovery = Stopwatch.GetElapsedTime(killedAt, recoveredAt).TotalSeconds;
        var incomplete = all.Where(a => !a.Complete).ToList();

        Figures.Report(output, "kill during reads: seconds from SIGKILL to complete answers again", Rest.F(recovery));
        Figures.Report(output, "kill during reads: answers", $"{all.Count} ({incomplete.Count} said complete: false, {all.Count(a => a.Wrong is not null)} wrong)");
        Figures.Report(output, "kill during reads: p99 ms before the kill / from the kill to recovery",
            $"{Rest.F(normal.Percentile(99))} / {Rest.F(failover.Percentile(99))} (p50 {Rest.F(normal.Percentile(50))} / {Rest.F(failover.Percentile(50))})");

        var wrong = all.Where(a => a.Wrong is not null).Select(a => a.Wrong).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} answers were wrong:\n{string.Join("\n", wrong.Take(10))}\n{cluster.Logs()}");
        var foreign = incomplete.SelectMany(a => a.Missing).Where(p => !victimPartitions.Contains(p)).Distinct().ToList();
        Assert.True(foreign.Count == 0, $"answers named partitions the dead node did not hold: {string.Join(", ", foreign)}");
        Assert.All(all.Where(a => a.SentAt < killedAt), a => Assert.True(a.Complete, "an answer before the kill was incomplete"));
        // The kill was seen: some answers in the outage said so rather than shrinking silently.
        Assert.NotEmpty(incomplete);

        async Task<Answer> JudgeAsync(HttpResponseMessage response, float[] query, long sent, long received)
        {
            string text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK) return new Answer(sent, received, false, [], $"{(int)response.StatusCode}: {text}");
            var body = JsonNode.Parse(text)!;
            bool complete = (bool)body["complete"]!;
            var missing = body["missing_partitions"]!.AsArray().Select(p => (string)p!).ToList();
            if (complete != (missing.Count == 0)) return new Answer(sent, received, complete, missing, $"complete = {complete} with missing [{string.Join(",", missing)}]");
            // Brute force over the points of the partitions that answered.
            var missingKeys = missing.Select(p => p[(p.LastIndexOf('/') + 1)..]).ToHashSet();
            var truth = Enumerable.Range(0, Count).Where(i => !missingKeys.Contains(partitionOf[i]))
                .Select(i => (Id: i, Distance: Euclid(query, vectors[i]))).OrderBy(h => h.Distance).Take(K).ToList();
            var hits = body["result"]!.AsArray().Select(h => (int)h!["id"]!).ToList();
            if (hits.Count != truth.Count) return new Answer(sent, received, complete, missing, $"{hits.Count} hits, brute force has {truth.Count}");
            for (int rank = 0; rank < hits.Count; rank++)
            {
                // The same point, or within float rounding one exactly as near, at every rank.
                if (Math.Abs(Euclid(query, vectors[hits[rank]]) - truth[rank].Distance) > 1e-4)
                    return new Answer(sent, received, complete, missing, $"rank {rank}: {hits[rank]} where brute force has {truth[rank].Id} (missing [{string.Join(",", missing)}])");
            }
            return new Answer(sent, received, complete, missing, null);
        }
    }

    private static List<Answer> Snapshot(List<Answer> answers)
    {
        lock (answers) return [.. answers];
    }

    private static double Euclid(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (a[i] - (double)b[i]) * (a[i] - b[i]);
        return Math.Sqrt(sum);
    }
}
