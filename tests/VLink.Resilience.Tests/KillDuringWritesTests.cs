using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>
/// Scenario 1: point upserts and a tick feed run against three nodes on PostgreSQL; one node is killed with SIGKILL in
/// mid-stream and later started again. Afterwards every acknowledged point is there once, with its vector and payload;
/// a point whose write was not acknowledged is either missing or exactly as sent; and the market holds every
/// acknowledged tick exactly once (the feed resends unacknowledged batches under the same source and sequence).
/// </summary>
[Collection(ClusterScenarios.Name)]
public sealed class KillDuringWritesTests(ITestOutputHelper output)
{
    private const string Collection = "durable";
    private const string Market = "RES";
    private const int Dimension = 8;
    private const int Partitions = 6;
    private const int BatchSize = 10;
    private const int TicksPerBatch = 20;

    [PostgresFact]
    public async Task Acknowledged_points_and_ticks_survive_a_SIGKILL_mid_stream_and_the_restart()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, database.ConnectionString);
        await Rest.CreateCollectionAsync(cluster.Admin, cluster.Url(0), Collection, Dimension, Partitions);
        await Rest.AcknowledgedAsync(() => cluster.Admin.PutAsync($"{cluster.Url(0)}/regimes/collections/regimes", Rest.Json("""{"bar_interval":"1m"}""")), cluster.Logs);

        var ledger = new Ledger();
        var feed = new TickFeed();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => WritePointsAsync(cluster, w, ledger, stop.Token))).ToList();
        var ticking = Task.Run(() => feed.RunAsync(cluster, stop.Token));

        await ledger.WaitForAcksAsync(30, TimeSpan.FromSeconds(60), cluster.Logs);
        // The victim is the node holding most of the collection's partitions (but any node would do).
        var byNode = await Rest.PartitionsByNodeAsync(cluster.Admin, cluster.Url(0), Collection);
        int victim = Enumerable.Range(0, cluster.Count).MaxBy(i => byNode.GetValueOrDefault(cluster.Address(i))?.Count ?? 0);
        Assert.True(byNode[cluster.Address(victim)].Count > 0, "no node holds a partition yet; the kill would prove nothing");
        int acksAtKill = ledger.AckedBatches;
        long killedAt = Stopwatch.GetTimestamp();
        await cluster.KillAsync(victim);
        output.WriteLine($"killed node {victim} (partitions {string.Join(", ", byNode[cluster.Address(victim)])}) after {acksAtKill} acknowledged batches");

        // Writes go on: refused while the dead node's partitions are unreachable, acknowledged again once they re-home.
        await ledger.WaitForAcksAsync(acksAtKill + 20, TimeSpan.FromSeconds(120), cluster.Logs);
        await cluster.RestartAsync(victim);
        await cluster.WaitForMembersAsync(0, 3);
        int acksAtRestart = ledger.AckedBatches;
        await ledger.WaitForAcksAsync(acksAtRestart + 20, TimeSpan.FromSeconds(120), cluster.Logs);
        stop.Cancel();
        await Task.WhenAll(writers);
        double writeOutage = ledger.LongestGapAfter(killedAt);
        await ticking;

        // Every point as the cluster holds it, once every partition answers.
        var points = await Poll.UntilAsync("every partition answers a scroll", TimeSpan.FromSeconds(120),
            async () => await Rest.ScrollAllAsync(cluster.Admin, cluster.Url(0), Collection), cluster.Logs);
        var found = new Dictionary<ulong, JsonObject>();
        int duplicates = 0;
        foreach (var point in points)
            if (!found.TryAdd((ulong)point["id"]!, point)) duplicates++;
        var lost = ledger.Acked.Where(id => !found.ContainsKey(id)).ToList();
        var corrupt = new List<string>();
        foreach (var (id, point) in found)
        {
            if (!ledger.Sent.TryGetValue(id, out var sent)) corrupt.Add($"{id} was never written");
            else if (!JsonNode.DeepEquals(sent.Payload, point["payload"])) corrupt.Add($"{id} payload {point["payload"]?.ToJsonString()} != {sent.Payload.ToJsonString()}");
            else if (!Rest.Floats(point["vector"]!).SequenceEqual(sent.Vector)) corrupt.Add($"{id} vector differs");
        }
        long count = await Rest.CountAsync(cluster.Admin, cluster.Url(1), Collection);
        int unackedPresent = found.Keys.Count(id => !ledger.Acked.Contains(id));

        // Every acknowledged tick, once; the last sequence applied is the feed's last.
        var market = (await Rest.Ok(await cluster.Admin.GetAsync($"{cluster.Url(1)}/markets/{Market}")))["result"]!;
        long ticks = (long)market["ticks"]!;
        long lastSequence = (long)market["sources"]![TickFeed.Source]!;

        Figures.Report(output, "kill during writes: acknowledged points lost", $"{lost.Count} of {ledger.Acked.Count} (duplicates {duplicates}, corrupt {corrupt.Count}; unacknowledged points present {unackedPresent} of {ledger.Sent.Count - ledger.Acked.Count})");
        Figures.Report(output, "kill during writes: acknowledged ticks lost", $"{feed.AckedTicks - ticks} of {feed.AckedTicks} (batches resent {feed.Resent}, rows counted as duplicates {feed.Duplicates})");
        Figures.Report(output, "kill during writes: longest time without an acknowledged upsert after the SIGKILL (s)", Rest.F(writeOutage));
        Figures.Report(output, "kill during writes: upsert batches refused or timed out", $"{ledger.FailedBatches} of {ledger.FailedBatches + ledger.AckedBatches}");

        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged points are missing, e.g. {string.Join(", ", lost.Take(20))}\n{cluster.Logs()}");
        Assert.Equal(0, duplicates);
        Assert.True(corrupt.Count == 0, string.Join("\n", corrupt.Take(20)));
        Assert.Equal(found.Count, count);
        Assert.Equal(feed.AckedTicks, ticks);
        Assert.Equal(feed.LastSequence, lastSequence);
    }

    private static async Task WritePointsAsync(LocalCluster cluster, int writer, Ledger ledger, CancellationToken stop)
    {
        using var client = LocalCluster.Client(LocalCluster.WriteKey);
        for (int batch = 0; !stop.IsCancellationRequested; batch++)
        {
            var live = cluster.Live;
            string url = cluster.Url(live[batch % live.Count]);
            var points = new JsonArray();
            var ids = new List<ulong>();
            for (int j = 0; j < BatchSize; j++)
            {
                ulong id = (ulong)(writer * 1_000_000 + batch * BatchSize + j);
                var vector = Rest.VectorOf((long)id, Dimension);
                var payload = new JsonObject { ["writer"] = writer, ["batch"] = batch, ["tag"] = $"point-{id}" };
                ledger.Sending(id, vector, payload);
                ids.Add(id);
                points.Add(new JsonObject { ["id"] = id, ["vector"] = Rest.Array(vector), ["payload"] = payload.DeepClone() });
            }
            bool acked;
            try
            {
                using var response = await client.PutAsync($"{url}/collections/{Collection}/points", Rest.Json(new JsonObject { ["points"] = points }));
                acked = response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                acked = false;
            }
            if (acked) ledger.Acknowledged(ids);
            else
            {
                ledger.Failed();
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    /// <summary>What the writers sent and what the cluster acknowledged.</summary>
    private sealed class Ledger
    {
        private readonly ConcurrentBag<(long Stamp, int Count)> _acks = [];
        private int _ackedBatches;
        private int _failedBatches;

        public ConcurrentDictionary<ulong, (float[] Vector, JsonObject Payload)> Sent { get; } = new();

        public HashSet<ulong> Acked { get; } = [];

        public int AckedBatches => Volatile.Read(ref _ackedBatches);

        public int FailedBatches => Volatile.Read(ref _failedBatches);

        public void Sending(ulong id, float[] vector, JsonObject payload) => Sent[id] = (vector, payload);

        public void Acknowledged(IEnumerable<ulong> ids)
        {
            lock (Acked)
                foreach (ulong id in ids) Acked.Add(id);
            _acks.Add((Stopwatch.GetTimestamp(), Interlocked.Increment(ref _ackedBatches)));
        }

        public void Failed() => Interlocked.Increment(ref _failedBatches);

        /// <summary>The longest time in seconds, from the timestamp <paramref name="start"/> on, between acknowledgements.</summary>
        public double LongestGapAfter(long start)
        {
            var stamps = _acks.Select(a => a.Stamp).Where(t => t > start).Order().Prepend(start).ToList();
            return stamps.Zip(stamps.Skip(1)).Select(p => (p.Item2 - p.Item1) / (double)Stopwatch.Frequency).DefaultIfEmpty(double.NaN).Max();
        }

        public Task WaitForAcksAsync(int batches, TimeSpan timeout, Func<string> context) =>
            Poll.UntilAsync($"{batches} acknowledged upsert batches (have {AckedBatches})", timeout, () => Task.FromResult(AckedBatches >= batches), context);
    }

    /// <summary>
    /// One producer of ticks for one market, numbering its rows: a batch that is not acknowledged is sent again, the
    /// same rows under the same sequence, until it is (the exactly-once contract of the market routes).
    /// </summary>
    private sealed class TickFeed
    {
        public const string Source = "feed-1";
        private static readonly DateTime Start = new(2024, 1, 2, 9, 30, 0, DateTimeKind.Utc);

        public long AckedTicks { get; private set; }

        public long LastSequence { get; private set; }

        public int Resent { get; private set; }

        public long Duplicates { get; private set; }

        public async Task RunAsync(LocalCluster cluster, CancellationToken stop)
        {
            using var client = LocalCluster.Client(LocalCluster.WriteKey);
            var rng = new Random(7);
            double price = 100;
            long sequence = 1;
            for (int batch = 0; !stop.IsCancellationRequested; batch++)
            {
                var body = new StringBuilder();
                for (int i = 0; i < TicksPerBatch; i++)
                {
                    price *= 1 + (rng.NextDouble() - 0.5) * 0.002;
                    var time = Start.AddSeconds(batch * TicksPerBatch + i);
                    body.Append(CultureInfo.InvariantCulture, $"{{\"time\":\"{time:yyyy-MM-ddTHH:mm:ssZ}\",\"price\":{price:R}}}\n");
                }
                // Sent until acknowledged, even after the stop: a batch left half-known would make the count unknowable.
                for (int attempt = 0; ; attempt++)
                {
                    if (attempt > 0) Resent++;
                    var live = cluster.Live;
                    string url = cluster.Url(live[(batch + attempt) % live.Count]);
                    try
                    {
                        using var response = await client.PostAsync($"{url}/markets/{Market}/ticks?source={Source}&sequence={sequence}",
                            new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson"));
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            var summary = (await Rest.Ok(response))["result"]!;
                            Assert.Equal(TicksPerBatch, (long)summary["accepted"]! + (long)summary["duplicates"]!);
                            Duplicates += (long)summary["duplicates"]!;
                            break;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                    }
                    if (attempt > 600) throw new TimeoutException($"tick batch {batch} was never acknowledged\n{cluster.Logs()}");
                    await Task.Delay(200, CancellationToken.None);
                }
                sequence += TicksPerBatch;
                AckedTicks += TicksPerBatch;
                LastSequence = sequence - 1;
            }
        }
    }
}

/// <summary>Scenarios that start their own clusters of real nodes: one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterScenarios
{
    public const string Name = "clusters of real vlink nodes";
}
