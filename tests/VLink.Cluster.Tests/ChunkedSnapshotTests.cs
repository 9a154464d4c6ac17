using System.Text;
using Akka.Actor;
using Microsoft.Data.Sqlite;
using VLink.Cluster.Hosting;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Snapshots;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Testing;

namespace VLink.Cluster.Tests;

/// <summary>
/// Partition snapshots in chunks: chunk streams and chunk stores give back exactly what was written, a partition's state
/// (a graph whose slots were reused, payloads, documents, versions, tombstones) round-trips through chunks, and a
/// partition snapshotting while writes and reads go on recovers every acknowledged write from its chunked snapshot
/// plus the journal's tail, on SQLite and PostgreSQL.
/// </summary>
public sealed class ChunkedSnapshotTests
{
    private static byte[] RandomBytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Bytes_written_in_odd_pieces_across_chunks_read_back_identically()
    {
        var data = RandomBytes(123_457, 1);
        var writer = new ChunkWriter(chunkBytes: 1000);
        var rng = new Random(2);
        for (int at = 0; at < data.Length;)
        {
            int n = Math.Min(data.Length - at, rng.Next(0, 2500));
            writer.Write(data, at, n);
            at += n;
        }
        Assert.Equal(data.Length, writer.Length);
        Assert.Equal(124, writer.Chunks.Count);
        Assert.All(writer.Chunks.SkipLast(1), c => Assert.Equal(1000, c.Length));

        var chunks = writer.Chunks.Select(c => c.ToArray()).ToArray();
        using var reader = new ChunkReader(i => chunks[i], chunks.Length, data.Length);
        var back = new MemoryStream();
        reader.CopyTo(back, 777);
        Assert.Equal(data, back.ToArray());
    }

    [Fact]
    public void Chunks_that_do_not_add_up_to_the_manifest_are_refused()
    {
        var chunks = new[] { RandomBytes(10, 3), RandomBytes(10, 4) };
        // Fewer bytes than the manifest says (a chunk lost).
        using (var shortReader = new ChunkReader(i => chunks[i], 1, 20))
            Assert.Throws<InvalidDataException>(() => shortReader.CopyTo(Stream.Null));
        // More bytes than the manifest says.
        using (var longReader = new ChunkReader(i => chunks[i], 2, 15))
            Assert.Throws<InvalidDataException>(() => longReader.CopyTo(Stream.Null));
    }

    [Fact]
    public void Writing_a_snapshot_image_stops_when_cancelled()
    {
        using var cancel = new CancellationTokenSource();
        var writer = new ChunkWriter(1000, cancel.Token);
        writer.Write(new byte[1500]);
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => writer.Write(new byte[10]));
    }

    [Fact]
    public void A_reused_slot_graph_with_payloads_documents_and_tombstones_round_trips_through_small_chunks()
    {
        const int dim = 16, n = 3000;
        var spec = ClusterData.HashSpec("chunks", dim, 1, flatThreshold: 100);
        using var state = PartitionState.Create(spec);
        var vectors = ClusterData.Clustered(4 * n, dim, 20, seed: 5);
        for (int round = 0; round < 3; round++)
        {
            var batch = Enumerable.Range(0, n).Select(i => new PointWrite(
                i % 9 == 0 ? $"text-{i}" : (ulong)i,
                vectors[round * n + i],
                Encoding.UTF8.GetBytes($$"""{"i":{{i}},"round":{{round}}}"""),
                i % 11 == 0 ? $"document {i} of round {round}" : null,
                new PointVersion(1000 + round, 1))).ToList();
            for (int b = 0; b < n; b += 250) state.Apply(new PointsUpserted(batch.GetRange(b, 250)));
        }
        state.Apply(new PointsDeleted([.. Enumerable.Range(0, 300).Select(i => (PointId)(ulong)(i * 7 + 1))], new PointVersion(2000, 1)));
        var graph = Assert.IsType<HnswIndex>(state.Index);
        Assert.True(graph.Capacity < 2 * n, $"the graph holds {graph.Capacity} slots for {graph.Count} points: deleted slots were not reused");

        var writer = new ChunkWriter(chunkBytes: 16 << 10);
        state.WriteSnapshot(writer);
        Assert.True(writer.Chunks.Count > 20, $"only {writer.Chunks.Count} chunks");
        var chunks = writer.Chunks.Select(c => c.ToArray()).ToArray();
        using var restored = PartitionState.ReadSnapshot(new ChunkReader(i => chunks[i], chunks.Length, writer.Length));

        Assert.Equal(state.Count, restored.Count);
        Assert.Equal(state.Index.Ids().Order(), restored.Index.Ids().Order());
        foreach (var id in state.Index.Ids())
        {
            Assert.Equal(state.Index.GetVector(id), restored.Index.GetVector(id));
            Assert.Equal(state.Payload(id), restored.Payload(id));
            Assert.Equal(state.Document(id), restored.Document(id));
        }
        Assert.Equal(state.Versions.Digest(), restored.Versions.Digest());
        Assert.Equal(state.Versions.Of(8UL), restored.Versions.Of(8UL));
        Assert.False(restored.Versions.AdmitUpsert(8UL, new PointVersion(1999, 1)), "a tombstone was lost: an older write of a deleted id is admitted");
        var rng = new Random(6);
        for (int q = 0; q < 20; q++)
        {
            var request = new SearchRequest(vectors[rng.Next(vectors.Length)], 10, 10, 64, false);
            Assert.Equal(state.Search(request), restored.Search(request));
        }
    }

    [Fact]
    public async Task The_sqlite_chunk_store_gives_back_each_chunk_and_deletes_older_snapshots()
    {
        string dir = Directory.CreateTempSubdirectory("vlink-chunks-").FullName;
        try
        {
            await StoreRoundTrip(TestChunkStores.Sqlite(VLinkConfig.SqliteConnection(dir)));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [PostgresFact]
    public async Task The_postgres_chunk_store_gives_back_each_chunk_and_deletes_older_snapshots()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await StoreRoundTrip(TestChunkStores.Postgres(database.ConnectionString));
    }

    private static async Task StoreRoundTrip(SnapshotChunkStore store)
    {
        var first = Enumerable.Range(0, 3).Select(i => (ReadOnlyMemory<byte>)RandomBytes(1000 + i, 10 + i)).ToList();
        var second = Enumerable.Range(0, 5).Select(i => (ReadOnlyMemory<byte>)RandomBytes(SnapshotChunkStore.ChunkBytes - i, 20 + i)).ToList();
        await store.WriteAsync("p/0", 10, first);
        await store.WriteAsync("p/0", 20, second);
        await store.WriteAsync("p/1", 5, first);
        for (int i = 0; i < second.Count; i++) Assert.Equal(second[i].ToArray(), store.Read("p/0", 20, i));
        for (int i = 0; i < first.Count; i++) Assert.Equal(first[i].ToArray(), store.Read("p/0", 10, i));

        // A second attempt at the same sequence number replaces the first one's chunks.
        await store.WriteAsync("p/0", 20, second.Take(2).ToList());
        Assert.Equal(second[1].ToArray(), store.Read("p/0", 20, 1));
        Assert.Throws<InvalidDataException>(() => store.Read("p/0", 20, 2));

        await store.DeleteBeforeAsync("p/0", 20);
        Assert.Throws<InvalidDataException>(() => store.Read("p/0", 10, 0));
        Assert.Equal(second[0].ToArray(), store.Read("p/0", 20, 0));
        Assert.Equal(first[2].ToArray(), store.Read("p/1", 5, 2));
        await store.DeleteAsync("p/1", 5);
        Assert.Throws<InvalidDataException>(() => store.Read("p/1", 5, 0));
    }

    [Fact]
    public Task A_partition_snapshotting_while_writes_and_reads_go_on_recovers_every_acknowledged_write_on_sqlite() => SnapshotUnderLoad(postgres: false);

    [PostgresFact]
    public Task A_partition_snapshotting_while_writes_and_reads_go_on_recovers_every_acknowledged_write_on_postgres() => SnapshotUnderLoad(postgres: true);

    private static async Task SnapshotUnderLoad(bool postgres)
    {
        await using var database = postgres ? await PostgresDatabase.CreateAsync() : null;
        string data = Directory.CreateTempSubdirectory("vlink-chunked-").FullName;
        // Snapshots every few entries, each image written in many small chunks by a store of 4 MB chunks.
        const string hocon = "vlink.snapshot-every = 7";
        const int dim = 8, batches = 60, perBatch = 40;
        var vectors = ClusterData.Clustered(batches * perBatch, dim, 10, seed: 9);
        try
        {
            List<SearchHit> before;
            await using (var cluster = await TestCluster.StartAsync(1, data, hocon, database?.ConnectionString))
            {
                var node = cluster.Node(0);
                await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("busy", dim, 1, flatThreshold: 200)));
                using var stop = new CancellationTokenSource();
                int reads = 0;
                var reader = Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await node.CountAsync("busy", null);
                        reads++;
                    }
                });
                // Writers in parallel: each batch is acknowledged only once journalled.
                await Parallel.ForEachAsync(Enumerable.Range(0, batches), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (b, _) =>
                {
                    var points = Enumerable.Range(b * perBatch, perBatch)
                        .Select(i => new PointWrite((ulong)i, vectors[i], Encoding.UTF8.GetBytes($$"""{"b":{{b}}}"""))).ToList();
                    await node.UpsertAsync("busy", points);
                });
                await node.DeleteAsync("busy", [.. Enumerable.Range(0, 50).Select(i => (PointId)(ulong)(i * 3))]);
                stop.Cancel();
                await reader;
                Assert.True(reads > 0);
                Assert.Equal(batches * perBatch - 50, await node.CountAsync("busy", null));
                before = [.. (await node.Gather.SearchAsync("busy", vectors[17], 10)).Hits];
                // The partition snapshotted along the way: its chunks reached the store.
                long rows = await Eventually.Async(() => ChunkRows(data, database?.ConnectionString), n => n > 0, TimeSpan.FromSeconds(30));
                Assert.True(rows > 0, "no snapshot chunk was stored");
            }

            await using (var restarted = await TestCluster.StartAsync(1, data, hocon, database?.ConnectionString))
            {
                var node = restarted.Node(0);
                long count = await Eventually.Async(() => node.CountAsync("busy", null), c => c == batches * perBatch - 50, TimeSpan.FromSeconds(30));
                Assert.Equal(batches * perBatch - 50, count);
                Assert.Equal(before, (await node.Gather.SearchAsync("busy", vectors[17], 10)).Hits);
                var page = await node.ScrollAsync("busy", null, null, 10, withVector: true);
                Assert.Equal([1UL, 2UL, 4UL], page.Points.Take(3).Select(p => (ulong)p.Id.Number));
                Assert.Equal(vectors[4], page.Points[2].Vector!);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Single_upserts_into_a_large_partition_take_no_snapshot_until_their_bytes_reach_half_the_last_one()
    {
        string data = Directory.CreateTempSubdirectory("vlink-policy-").FullName;
        const int dim = 64;
        var vectors = ClusterData.Clustered(40_000, dim, 20, seed: 11);
        List<PointWrite> Points(int from, int count) => [.. Enumerable.Range(from, count).Select(i => new PointWrite((ulong)i, vectors[i], null))];
        try
        {
            await using var cluster = await TestCluster.StartAsync(1, data, "vlink.snapshot-idle = 0s");
            var node = cluster.Node(0);
            await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("policy", dim, 1, flatThreshold: 1000)));
            for (int b = 0; b < 20_000; b += 500) await node.UpsertAsync("policy", Points(b, 500));
            // 20,000 × 64-d is about 6 MB of journal: one snapshot once 4 MB came.
            var first = await Eventually.Async(() => LatestSnapshot(data), s => s.At > 0, TimeSpan.FromSeconds(30));

            for (int i = 0; i < 400; i++) await node.UpsertAsync("policy", Points(20_000 + i, 1));
            await Task.Delay(500);
            Assert.Equal(first, await LatestSnapshot(data));

            // A tail of half the snapshot's bytes makes the next one due.
            for (int b = 20_400; b < 40_000; b += 700) await node.UpsertAsync("policy", Points(b, Math.Min(700, 40_000 - b)));
            var second = await Eventually.Async(() => LatestSnapshot(data), s => s.At > first.At, TimeSpan.FromSeconds(30));
            Assert.True(second.Bytes > first.Bytes, $"the later snapshot holds {second.Bytes} bytes, the first {first.Bytes}; {await Dump(data)}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<string> Dump(string data)
    {
        await using var connection = new SqliteConnection(VLinkConfig.SqliteConnection(data).Replace("Pooling=True", "Pooling=False"));
        await connection.OpenAsync();
        var sb = new StringBuilder();
        foreach (var sql in new[] { "SELECT persistence_id, sequence_number, manifest FROM snapshot", "SELECT persistence_id, sequence_nr, chunk, length(data) FROM vlink_snapshot_chunks" })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (int i = 0; i < reader.FieldCount; i++) sb.Append(reader.GetValue(i)).Append(' ');
                sb.Append("| ");
            }
            sb.Append(" || ");
        }
        return sb.ToString();
    }

    // The sequence number the partition's latest confirmed snapshot covers and its chunks' bytes (0, 0: none).
    private static async Task<(long At, long Bytes)> LatestSnapshot(string data)
    {
        await using var connection = new SqliteConnection(VLinkConfig.SqliteConnection(data).Replace("Pooling=True", "Pooling=False"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT s.sequence_number, (SELECT COALESCE(SUM(length(c.data)), 0) FROM vlink_snapshot_chunks c
                                       WHERE c.persistence_id = s.persistence_id AND c.sequence_nr = s.sequence_number)
            FROM snapshot s WHERE s.persistence_id LIKE 'partition-%' ORDER BY s.sequence_number DESC LIMIT 1
            """;
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync() ? (reader.GetInt64(0), reader.GetInt64(1)) : (0, 0);
        }
        catch (SqliteException)
        {
            return (0, 0); // the tables are not there yet
        }
    }

    private static async Task<long> ChunkRows(string data, string? postgres)
    {
        if (postgres is not null)
        {
            await using var pg = new Npgsql.NpgsqlConnection(postgres);
            await pg.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM vlink_snapshot_chunks", pg);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        await using var connection = new SqliteConnection(VLinkConfig.SqliteConnection(data));
        await connection.OpenAsync();
        await using var sqlite = connection.CreateCommand();
        sqlite.CommandText = "SELECT count(*) FROM vlink_snapshot_chunks";
        return (long)(await sqlite.ExecuteScalarAsync())!;
    }

}

/// <summary>Chunk stores as a node's snapshot store settings make them (SQLite file or PostgreSQL database).</summary>
internal static class TestChunkStores
{
    public static SnapshotChunkStore Sqlite(string connection) => Of("SQLite.MS", connection);

    public static SnapshotChunkStore Postgres(string connection) => Of("PostgreSQL.15", connection);

    private static SnapshotChunkStore Of(string provider, string connection) => SnapshotChunkStore.Of(Akka.Configuration.ConfigurationFactory.ParseString($$"""
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
        akka.persistence.snapshot-store.sql.provider-name = "{{provider}}"
        akka.persistence.snapshot-store.sql.connection-string = "{{connection}}"
        """));
}
