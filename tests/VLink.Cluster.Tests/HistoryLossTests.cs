using System.Collections.Concurrent;
using System.Data.Common;
using Akka.Actor;
using Akka.Event;
using Microsoft.Data.Sqlite;
using Npgsql;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Cluster.Tests;

/// <summary>
/// A partition whose store lost its history (its journal rows deleted behind its back, as when it moves to a node whose
/// own SQLite file never held it) recovers below the watermark the catalog confirmed: it answers nothing, searches name
/// it missing, counts, scrolls, reads and writes that need it fail naming it, and the error names the store. A normal
/// restart recovers at the watermark and answers complete.
/// </summary>
public sealed class HistoryLossTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Dimension = 8;
    private const int Partitions = 4;
    private const string Collection = "kept";

    // Reports every 200 ms, so the watermark is confirmed quickly.
    private const string Hocon = "vlink.watermark.report-interval = 200ms";

    // ... and the catalog snapshots itself every 2 entries, so after a restart its watermarks come from its snapshot.
    private const string SnapshottingHocon = Hocon + "\nvlink.watermark.catalog-snapshot-every = 2";

    [Fact]
    public async Task A_partition_recovered_from_a_SQLite_file_without_its_rows_is_named_missing_and_refuses_writes()
    {
        using var data = new SqliteData();
        await LoseHistoryAndRestartAsync(
            start: () => TestCluster.StartAsync(1, data.Directory, SnapshottingHocon),
            deleteRows: persistenceId => DeleteRowsAsync(data.Connect(), persistenceId, "main"),
            store: $"SQLite file {data.File}");
    }

    [PostgresFact]
    public async Task A_partition_recovered_from_PostgreSQL_without_its_rows_is_named_missing_and_refuses_writes()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var server = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await LoseHistoryAndRestartAsync(
            start: () => TestCluster.StartAsync(1, extraHocon: Hocon, postgres: database.ConnectionString),
            deleteRows: persistenceId => DeleteRowsAsync(new NpgsqlConnection(database.ConnectionString), persistenceId, "public"),
            store: $"PostgreSQL {server.Host}:{server.Port}/{database.Name}");
    }

    [Fact]
    public async Task A_normal_restart_recovers_at_the_watermark_and_answers_complete()
    {
        using var data = new SqliteData();
        var vectors = ClusterData.Clustered(200, Dimension, 4, seed: 7);
        Dictionary<PartitionRef, long> confirmed;
        await using (var cluster = await TestCluster.StartAsync(1, data.Directory, SnapshottingHocon))
            confirmed = await WriteAndConfirmAsync(cluster.Node(0), vectors);

        await using var restarted = await TestCluster.StartAsync(1, data.Directory, SnapshottingHocon);
        var node = restarted.Node(0);
        // The catalog came back from its snapshot with every watermark.
        await using (var db = data.Connect())
        {
            await db.OpenAsync();
            await using var snapshots = db.CreateCommand();
            snapshots.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'vlink-catalog'";
            Assert.Equal(1L, (long)(await snapshots.ExecuteScalarAsync())!);
        }
        foreach (var (partition, watermark) in confirmed)
            Assert.Equal(watermark, await WatermarkAsync(node, partition));
        var errors = CollectErrors(node.System);
        var truth = ClusterData.Truth(vectors);
        var result = await Eventually.Async(() => node.Gather.SearchAsync(Collection, vectors[3], 10, exact: true), r => r.Complete, TimeSpan.FromSeconds(30));
        Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
        Assert.Equal(truth.Search(vectors[3], 10).Select(h => h.Id), result.Hits.Select(h => h.Id));
        Assert.Equal(vectors.Length, await node.CountAsync(Collection, null));
        var entry = (await node.CatalogAsync()).Find(Collection)!;
        Assert.All(await node.PartitionStatsAsync(entry), s => Assert.False(s.HistoryLost));
        // Writes go on and raise the watermark.
        var p0 = entry.Partition("p0");
        await node.UpsertAsync(Collection, [new PointWrite(IdIn("p0"), vectors[0], null)]);
        await Eventually.Async(() => WatermarkAsync(node, p0), w => w > confirmed[p0], TimeSpan.FromSeconds(10))
            .ContinueWith(t => Assert.Equal(confirmed[p0] + 1, t.Result));
        Assert.Empty(errors);
    }

    private async Task LoseHistoryAndRestartAsync(Func<Task<TestCluster>> start, Func<string, Task<int>> deleteRows, string store)
    {
        var vectors = ClusterData.Clustered(200, Dimension, 4, seed: 5);
        PartitionRef victim;
        long watermark;
        await using (var cluster = await start())
        {
            var confirmed = await WriteAndConfirmAsync(cluster.Node(0), vectors);
            victim = confirmed.Keys.Single(p => p.Key == "p0");
            watermark = confirmed[victim];
        }

        // Behind the partition's back: its journal, snapshot and metadata rows go.
        int deleted = await deleteRows(victim.PersistenceId);
        Assert.True(deleted > 0, "no rows of the partition were found to delete");

        await using var restarted = await start();
        var node = restarted.Node(0);
        var errors = CollectErrors(node.System);

        // Searches: the other partitions answer; the victim is named missing, never silently short.
        var result = await Eventually.Async(() => node.Gather.SearchAsync(Collection, vectors[0], 10, exact: true),
            r => r.MissingPartitions.SequenceEqual([victim.EntityId]), TimeSpan.FromSeconds(30));
        Assert.False(result.Complete);
        Assert.Equal([victim.EntityId], result.MissingPartitions);
        var expected = ClusterData.Points(vectors).Where(p => HashPartitioner.KeyOf(p.Id, Partitions) != "p0").Select(p => p.Id).ToHashSet();
        Assert.NotEmpty(result.Hits);
        Assert.All(result.Hits, h => Assert.Contains(h.Id, expected));
        var batch = await node.Gather.SearchBatchAsync(Collection, [vectors[1], vectors[2]], 5, exact: true);
        Assert.All(batch, r => Assert.Equal([victim.EntityId], r.MissingPartitions));

        // Count, scroll and reads by id need every partition they touch: they fail naming the victim.
        var count = await Assert.ThrowsAsync<PartitionUnavailableException>(() => node.CountAsync(Collection, null));
        Assert.Equal(victim, count.Partition);
        Assert.Contains("lost history", count.Message);
        var scroll = await Assert.ThrowsAsync<PartitionUnavailableException>(() => node.ScrollAsync(Collection, null, null, 10, withVector: false));
        Assert.Equal(victim, scroll.Partition);
        var entry = (await node.CatalogAsync()).Find(Collection)!;
        PointId inVictim = IdIn("p0");
        PointId elsewhere = IdIn("p1");
        await Assert.ThrowsAsync<PartitionUnavailableException>(() => node.GetPointsAsync(entry, [inVictim], withVector: false));
        Assert.Single(await node.GetPointsAsync(entry, [elsewhere], withVector: false));

        // Writes to it are refused with the reason; writes elsewhere go on.
        var write = await Assert.ThrowsAsync<PartitionUnavailableException>(() =>
            node.UpsertAsync(Collection, [new PointWrite(inVictim, vectors[0], null)]));
        Assert.Contains("lost history", write.Message);
        Assert.Equal(1, (await node.UpsertAsync(Collection, [new PointWrite(elsewhere, vectors[0], null)])).Applied);

        // Operators see it; the catalog's watermark did not go down.
        var stats = await node.PartitionStatsAsync(entry);
        Assert.True(stats.Single(s => s.Partition == victim).HistoryLost);
        Assert.All(stats.Where(s => s.Partition != victim), s => Assert.False(s.HistoryLost));
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        Assert.Equal(watermark, await WatermarkAsync(node, victim));

        // One error names the partition, the store and both sequence numbers.
        var error = await OneAboutAsync(errors, victim);
        output.WriteLine(error);
        Assert.Contains("lost history", error);
        Assert.Contains(store, error);
        Assert.Contains($"journal sequence 0, below its watermark {watermark} ", error);
        Assert.DoesNotContain("Password", error, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Creates the collection, writes the points, and waits until the catalog confirmed every partition replica's journal.
    /// </summary>
    private static async Task<Dictionary<PartitionRef, long>> WriteAndConfirmAsync(VLinkNode node, float[][] vectors, int replicas = 1)
    {
        await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec(Collection, Dimension, Partitions, flatThreshold: 100) with
        {
            ReplicationFactor = replicas,
            WriteConsistency = 1,
        }));
        await node.UpsertAsync(Collection, ClusterData.Points(vectors));
        var entry = (await node.CatalogAsync()).Find(Collection)!;
        var stats = await Task.WhenAll(entry.Partitions().SelectMany(p => Enumerable.Range(0, replicas).Select(r =>
            Eventually.Async(() => node.Partitions.Ask<PartitionStats>(new GetPartitionStats(p.WithReplica(r)), TimeSpan.FromSeconds(5)),
                s => s.Points > 0, TimeSpan.FromSeconds(20)))));
        Assert.All(stats, s => Assert.True(s.SequenceNr > 0));
        var confirmed = new Dictionary<PartitionRef, long>();
        await Eventually.Async(async () =>
        {
            foreach (var s in stats)
                confirmed[s.Partition] = (await node.Catalog.Ask<PartitionWatermark>(new GetWatermark(s.Partition), TimeSpan.FromSeconds(5))).SequenceNr;
            return confirmed;
        }, c => stats.All(s => c[s.Partition] == s.SequenceNr), TimeSpan.FromSeconds(20));
        Assert.All(stats, s => Assert.Equal(s.SequenceNr, confirmed[s.Partition]));
        return confirmed;
    }

    [Fact]
    public async Task A_replica_that_lost_history_is_fenced_and_its_sibling_answers_complete()
    {
        using var data = new SqliteData();
        var vectors = ClusterData.Clustered(200, Dimension, 4, seed: 9);
        PartitionRef victim;
        long watermark;
        await using (var cluster = await TestCluster.StartAsync(1, data.Directory, Hocon))
        {
            var confirmed = await WriteAndConfirmAsync(cluster.Node(0), vectors, replicas: 2);
            victim = confirmed.Keys.Single(p => p.Key == "p0" && p.Replica == 0);
            watermark = confirmed[victim];
        }
        Assert.True(await DeleteRowsAsync(data.Connect(), victim.PersistenceId, "main") > 0);

        await using var restarted = await TestCluster.StartAsync(1, data.Directory, Hocon);
        var node = restarted.Node(0);
        var errors = CollectErrors(node.System);
        var truth = ClusterData.Truth(vectors);
        // Replica 1 of p0 answers for it: searches (whichever replica each picks first), counts and scrolls are whole.
        await Eventually.Async(() => node.Gather.SearchAsync(Collection, vectors[0], 10, exact: true), r => r.Complete, TimeSpan.FromSeconds(30));
        for (int i = 0; i < 6; i++)
        {
            var result = await node.Gather.SearchAsync(Collection, vectors[i * 20], 10, exact: true);
            Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
            Assert.Equal(truth.Search(vectors[i * 20], 10).Select(h => h.Id), result.Hits.Select(h => h.Id));
            Assert.Equal(vectors.Length, await node.CountAsync(Collection, null));
        }
        Assert.Equal(vectors.Length, (await node.ScrollAsync(Collection, null, null, 1000, withVector: false)).Points.Count);

        // The lost replica itself is fenced: it says so, refuses reads, takes nothing from its sibling, keeps its watermark.
        var stats = await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(victim), TimeSpan.FromSeconds(5));
        Assert.True(stats.HistoryLost);
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            node.Partitions.Ask<PointCount>(new CountPartition(victim, null), TimeSpan.FromSeconds(5)));
        Assert.Equal(0, stats.Points);
        Assert.False((await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(victim.WithReplica(1)), TimeSpan.FromSeconds(5))).HistoryLost);
        // A write needing one replica is acknowledged by the sibling.
        Assert.Equal(1, (await node.UpsertAsync(Collection, [new PointWrite(IdIn("p0"), vectors[0], null)])).Applied);
        Assert.Equal(watermark, await WatermarkAsync(node, victim));
        await OneAboutAsync(errors, victim);
    }

    [Fact]
    public async Task While_the_catalog_is_unreachable_a_partition_serves_unchecked_and_is_fenced_once_the_catalog_answers()
    {
        // Three nodes sharing one SQLite file; the catalog singleton lives on node 0, the oldest.
        await using var cluster = await TestCluster.StartAsync(3,
            extraHocon: Hocon + "\nvlink.watermark.check-timeout = 1s\nakka.cluster.sharding.passivate-idle-entity-after = 2s");
        var node = cluster.Node(1);
        var vectors = ClusterData.Clustered(200, Dimension, 4, seed: 13);
        var confirmed = await WriteAndConfirmAsync(cluster.Node(0), vectors);

        // A partition living on node 1; then every partition passivates, so the next request recovers it there.
        var onNode1 = await Eventually.Async(() => node.Agent.Ask<VLink.Cluster.Partitions.NodeAgent.LocalPartitions>(
            VLink.Cluster.Partitions.NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3)), l => l.Partitions.Count > 0, TimeSpan.FromSeconds(10));
        var victim = onNode1.Partitions[0];
        await Task.WhenAll(cluster.Running.Select(n => Eventually.Async(() => n.Agent.Ask<VLink.Cluster.Partitions.NodeAgent.LocalPartitions>(
            VLink.Cluster.Partitions.NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3)), l => l.Partitions.Count == 0, TimeSpan.FromSeconds(30))));
        using (var db = new SqliteConnection(VLinkConfig.SqliteConnection(cluster.DataDirectory).Replace("Pooling=True", "Pooling=False")))
            Assert.True(await DeleteRowsAsync(db, victim.PersistenceId, "main") > 0);

        // The catalog's node dies: the recovered partition cannot learn its watermark and serves unchecked (the window
        // the design accepts, to stay available while the singleton moves).
        var warnings = CollectLogs(node.System, typeof(Warning));
        var errors = CollectErrors(node.System);
        await cluster.CrashAsync(0);
        var served = await node.Partitions.Ask<PointCount>(new CountPartition(victim, null), TimeSpan.FromSeconds(10));
        Assert.Equal(0, served.Count);
        await Eventually.Async(() => Assert.Contains(warnings, w => w.Contains(victim.EntityId, StringComparison.Ordinal) && w.Contains("serving unchecked", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5));

        // The split-brain resolver downs node 0, the singleton moves to node 1 and answers: the partition fences itself.
        await Eventually.Async(() => node.Partitions.Ask<PartitionStats>(new GetPartitionStats(victim), TimeSpan.FromSeconds(3)),
            s => s.HistoryLost, TimeSpan.FromSeconds(60)).ContinueWith(t => Assert.True(t.Result.HistoryLost));
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.Partitions.Ask<PointCount>(new CountPartition(victim, null), TimeSpan.FromSeconds(5)));
        Assert.Contains("served unchecked", await OneAboutAsync(errors, victim));
        Assert.Equal(confirmed[victim], await WatermarkAsync(node, victim));
    }

    [Fact]
    public async Task The_check_costs_one_catalog_ask_per_recovery_even_when_many_partitions_wake_at_once()
    {
        const int many = 64;
        await using var cluster = await TestCluster.StartAsync(1, extraHocon: Hocon + "\nakka.cluster.sharding.passivate-idle-entity-after = 2s");
        var node = cluster.Node(0);
        await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("many", Dimension, many, flatThreshold: 100)));
        var vectors = ClusterData.Clustered(many * 8, Dimension, 8, seed: 3);
        var first = System.Diagnostics.Stopwatch.StartNew();
        await node.UpsertAsync("many", ClusterData.Points(vectors), timeout: TimeSpan.FromSeconds(60));
        first.Stop();
        var entry = (await node.CatalogAsync()).Find("many")!;

        // Every partition passivates (its last report goes out as it stops) and the catalog confirms every watermark.
        await Eventually.Async(() => node.Agent.Ask<VLink.Cluster.Partitions.NodeAgent.LocalPartitions>(VLink.Cluster.Partitions.NodeAgent.ListPartitions.Instance, TimeSpan.FromSeconds(3)),
            l => l.Partitions.Count == 0, TimeSpan.FromSeconds(30));
        var asks = System.Diagnostics.Stopwatch.StartNew();
        var watermarks = await Task.WhenAll(entry.Partitions().Select(p => node.Catalog.Ask<PartitionWatermark>(new GetWatermark(p), TimeSpan.FromSeconds(5))));
        asks.Stop();
        Assert.All(watermarks, w => Assert.True(w.SequenceNr >= 2, $"{w.Partition} has watermark {w.SequenceNr}"));

        // One search wakes all of them: each recovers, asks the catalog once, and answers.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await node.Gather.SearchAsync("many", vectors[0], 10, exact: true);
        clock.Stop();
        Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
        Assert.Equal(many, result.Trace.Woken.Count);
        output.WriteLine($"first write to {many} new partitions: {first.Elapsed.TotalMilliseconds:F0} ms");
        output.WriteLine($"{many} concurrent watermark asks: {asks.Elapsed.TotalMilliseconds:F0} ms; waking {many} partitions for one search: {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    private static async Task<long> WatermarkAsync(VLinkNode node, PartitionRef partition) =>
        (await node.Catalog.Ask<PartitionWatermark>(new GetWatermark(partition), TimeSpan.FromSeconds(10))).SequenceNr;

    /// <summary>A node's data directory with its SQLite file, deleted afterwards.</summary>
    private sealed class SqliteData : IDisposable
    {
        private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("vlink-history-");

        public string Directory => _directory.FullName;

        public string File => Path.Combine(Directory, "vlink.db");

        public SqliteConnection Connect() => new($"Data Source={File};Pooling=False");

        public void Dispose()
        {
            SqliteConnection.ClearAllPools();
            try
            {
                _directory.Delete(recursive: true);
            }
            catch (IOException)
            {
                // SQLite may hold the file a moment longer; the temp folder is cleaned by the OS later.
            }
        }
    }

    private static PointId IdIn(string key) =>
        Enumerable.Range(0, 200).Select(i => (PointId)(ulong)i).First(id => HashPartitioner.KeyOf(id, Partitions) == key);

    /// <summary>Deletes the persistence id's rows from every table of the store that has a persistence_id column.</summary>
    private static async Task<int> DeleteRowsAsync(DbConnection connection, string persistenceId, string schema)
    {
        await using var _ = connection;
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = connection is SqliteConnection
                ? "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'persistence_id'"
                : $"SELECT table_name FROM information_schema.columns WHERE table_schema = '{schema}' AND column_name = 'persistence_id'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        // Akka.Persistence.Sql's tables: the journal, the snapshots, and the highest sequence number kept per id.
        Assert.Contains("journal", tables);
        Assert.Contains("snapshot", tables);
        int deleted = 0;
        foreach (var table in tables)
        {
            await using var delete = connection.CreateCommand();
            delete.CommandText = $"DELETE FROM {table} WHERE persistence_id = @id";
            var id = delete.CreateParameter();
            id.ParameterName = "@id";
            id.Value = persistenceId;
            delete.Parameters.Add(id);
            deleted += await delete.ExecuteNonQueryAsync();
        }
        return deleted;
    }

    /// <summary>The one logged message naming the partition (log events reach the collector a moment after they happen).</summary>
    private static async Task<string> OneAboutAsync(ConcurrentQueue<string> log, PartitionRef partition)
    {
        bool About(string message) => message.Contains(partition.EntityId, StringComparison.Ordinal);
        await Eventually.Async(() => Assert.Contains(log, About), TimeSpan.FromSeconds(5));
        return Assert.Single(log, About);
    }

    /// <summary>Every error the actor system logs from now on.</summary>
    private static ConcurrentQueue<string> CollectErrors(ActorSystem system) => CollectLogs(system, typeof(Error));

    /// <summary>Every log event of the given level (<see cref="Error"/>, <see cref="Warning"/>) from now on.</summary>
    private static ConcurrentQueue<string> CollectLogs(ActorSystem system, Type level)
    {
        var events = new ConcurrentQueue<string>();
        var collector = system.ActorOf(Props.Create(() => new LogCollector(events)));
        system.EventStream.Subscribe(collector, level);
        return events;
    }

    private sealed class LogCollector : ReceiveActor
    {
        public LogCollector(ConcurrentQueue<string> events) => Receive<LogEvent>(e => events.Enqueue(e.Message?.ToString() ?? ""));
    }
}
