using Microsoft.Data.Sqlite;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Tests;

/// <summary>
/// Large batches are acknowledged once journalled and held, and linked behind the writes with a bounded backlog; a
/// partition whose journal tail is long (no snapshot covers it) answers exact searches as soon as it has replayed:
/// the replayed points are held unlinked and scanned beside the graph; it links them in the background, keeps
/// answering meanwhile, and takes writes.
/// </summary>
public sealed class DeferredLinkingRecoveryTests
{
    [Fact]
    public async Task A_partition_restarted_on_a_long_tail_answers_exactly_at_once_and_links_it_while_serving()
    {
        string data = Directory.CreateTempSubdirectory("vlink-deferred-").FullName;
        // No snapshot (12,000 × 16-d is less than the 4 MB below which none is due): the whole partition is the tail.
        // Linking starts a while after the replay, so the first answers come from held points alone.
        const string hocon = "vlink.snapshot-every = 1000000\nvlink.snapshot-idle = 0s\nvlink.link-delay = 15s\nvlink.link-chunk = 500";
        const int dim = 16, n = 12_000;
        // Points, then 100 written after the restart, then 100 queries.
        var all = ClusterData.Clustered(n + 200, dim, 20, seed: 31);
        var vectors = all[..(n + 100)];
        queries = all[(n + 100)..];
        var truth = ClusterData.Truth(vectors[..n]);
        double built;
        try
        {
            await using (var cluster = await TestCluster.StartAsync(1, data, hocon))
            {
                var node = cluster.Node(0);
                await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("tail", dim, 1, flatThreshold: 1000)));
                for (int b = 0; b < n; b += 1000)
                    await node.UpsertAsync("tail", ClusterData.Points(vectors[b..(b + 1000)], b));
                // Large batches are linked behind the writes: once linking caught up, this is the graph the writes built.
                var written = (await node.CatalogAsync()).Collections.Single(c => c.Spec.Name == "tail");
                await Eventually.Async(async () => (await node.PartitionStatsAsync(written)).Sum(s => s.Unlinked), u => u == 0, TimeSpan.FromSeconds(60));
                built = await Recall(node, truth);
            }

            await using (var restarted = await TestCluster.StartAsync(1, data, hocon))
            {
                var node = restarted.Node(0);
                // The first answers come while the replayed points are unlinked: exact, since they are scanned.
                var entry = (await node.CatalogAsync()).Collections.Single(c => c.Spec.Name == "tail");
                await node.Gather.SearchAsync("tail", vectors[0], 1);
                Assert.Equal(n, (await node.PartitionStatsAsync(entry)).Sum(s => s.Unlinked));
                for (int q = 0; q < 10; q++)
                {
                    var query = queries[q];
                    var answer = await node.Gather.SearchAsync("tail", query, 10, ef: 10);
                    Assert.True(answer.Complete);
                    Assert.Equal(truth.Search(query, 10).Select(h => h.Id), answer.Hits.Select(h => h.Id));
                }
                // Writes go on beside the linking, and are found.
                await node.UpsertAsync("tail", ClusterData.Points(vectors[n..(n + 100)], n));
                Assert.Equal(n + 100, await node.CountAsync("tail", null));
                var extended = ClusterData.Truth(vectors);
                // Linking begins after the delay and ends; then the graph answers as one built by writes would.
                long unlinked = await Eventually.Async(async () => (await node.PartitionStatsAsync(entry)).Sum(s => (long)s.Unlinked),
                    u => u == 0, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500));
                Assert.Equal(0, unlinked);
                double recall = await Recall(node, extended);
                Assert.True(recall >= built - 0.03, $"recall@10 {recall:F3} once linked; {built:F3} as the writes built it");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Large_batches_are_found_once_acknowledged_while_linking_follows_within_the_backlog()
    {
        string data = Directory.CreateTempSubdirectory("vlink-behind-").FullName;
        const string hocon = "vlink.link-backlog = 2000\nvlink.link-chunk = 250";
        const int dim = 32, batches = 24, perBatch = 500, writers = 3;
        var vectors = ClusterData.Clustered(batches * perBatch, dim, 20, seed: 41);
        try
        {
            await using var cluster = await TestCluster.StartAsync(1, data, hocon);
            var node = cluster.Node(0);
            await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("behind", dim, 1, flatThreshold: 500)));
            await node.UpsertAsync("behind", ClusterData.Points(vectors[..perBatch]));
            var entry = (await node.CatalogAsync()).Collections.Single(c => c.Spec.Name == "behind");

            // Writers in parallel; a watcher samples the backlog meanwhile.
            using var stop = new CancellationTokenSource();
            int most = 0;
            var watcher = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    most = Math.Max(most, (await node.PartitionStatsAsync(entry)).Sum(s => s.Unlinked));
                    await Task.Delay(20);
                }
            });
            int next = 1;
            await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
            {
                int b;
                while ((b = Interlocked.Increment(ref next) - 1) < batches)
                {
                    await node.UpsertAsync("behind", ClusterData.Points(vectors[(b * perBatch)..((b + 1) * perBatch)], b * perBatch));
                    // Acknowledged: every point of the batch is found at once, linked or not.
                    var hits = (await node.Gather.SearchAsync("behind", vectors[b * perBatch + 7], 1)).Hits;
                    Assert.Equal(new PointId((ulong)(b * perBatch + 7)), hits[0].Id);
                }
            })));
            stop.Cancel();
            await watcher;
            Assert.Equal(batches * perBatch, await node.CountAsync("behind", null));
            // The backlog stays within its bound, plus the batches that passed the check before earlier ones were applied.
            Assert.True(most <= 2000 + writers * perBatch, $"at most {most} points waited to be linked");
            Assert.True(most > 0, "no batch was held for linking");
            long left = await Eventually.Async(async () => (await node.PartitionStatsAsync(entry)).Sum(s => (long)s.Unlinked), u => u == 0, TimeSpan.FromSeconds(60));
            Assert.Equal(0, left);
            var truth = ClusterData.Truth(vectors);
            double recall = 0;
            for (int q = 0; q < 50; q++)
                recall += ClusterData.Recall((await node.Gather.SearchAsync("behind", vectors[q * 97], 10, ef: 64)).Hits, truth.Search(vectors[q * 97], 10)) / 50;
            Assert.True(recall >= 0.9, $"recall@10 {recall:F3} once linked");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private float[][] queries = [];

    // Mean recall@10 at ef 40 of 100 fresh queries of the same mixture.
    private async Task<double> Recall(Hosting.VLinkNode node, FlatIndex truth)
    {
        double sum = 0;
        foreach (var query in queries)
            sum += ClusterData.Recall((await node.Gather.SearchAsync("tail", query, 10, ef: 40)).Hits, truth.Search(query, 10));
        return sum / queries.Length;
    }
}
