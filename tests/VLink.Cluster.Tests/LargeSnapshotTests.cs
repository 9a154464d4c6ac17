using Microsoft.Data.Sqlite;
using VLink.Cluster.Hosting;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Cluster.Snapshots;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;
using VLink.Testing;
using Xunit.Abstractions;

namespace VLink.Cluster.Tests;

/// <summary>
/// A partition above 2 GB (the cap of one .NET array, twice PostgreSQL's cap of one <c>bytea</c> value) snapshots into
/// chunks, stores them in SQLite and in PostgreSQL, and comes back identical from them. Wide vectors (4,096-d, a cheap
/// graph) make 2.2 GB of state quickly. They take both cores and several GB for minutes, so they run alone, after the
/// tests that run side by side (whose timeouts they would otherwise eat into).
/// </summary>
[Collection(Alone)]
public sealed class LargeSnapshotTests(ITestOutputHelper output)
{
    private const int Dim = 4096, Points = 140_000, Batch = 2_000;

    /// <summary>The collection of tests that run with no other test beside them.</summary>
    public const string Alone = "alone";

    [Fact]
    public async Task A_partition_above_2_GB_round_trips_through_sqlite_chunks()
    {
        string dir = Directory.CreateTempSubdirectory("vlink-large-").FullName;
        try
        {
            await RoundTrip(TestChunkStores.Sqlite(VLinkConfig.SqliteConnection(dir)));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [PostgresFact]
    public async Task A_partition_above_2_GB_round_trips_through_postgres_chunks()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await RoundTrip(TestChunkStores.Postgres(database.ConnectionString));
    }

    private static float[] VectorOf(int i)
    {
        var rng = new Random(i);
        var v = new float[Dim];
        for (int d = 0; d < Dim; d++) v[d] = rng.NextSingle();
        return v;
    }

    private async Task RoundTrip(SnapshotChunkStore store)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var spec = new CollectionSpec("large", Dim, DistanceMetric.Euclidean, PartitionScheme.Hash, 1,
            new HnswOptions { M = 4, EfConstruction = 8, EfSearch = 16 }, 1000);
        using var state = PartitionState.Create(spec);
        for (int b = 0; b < Points; b += Batch)
            state.Apply(new PointsUpserted([.. Enumerable.Range(b, Batch).Select(i => new PointWrite((ulong)i, VectorOf(i), i % 1000 == 0 ? "{\"k\":1}"u8.ToArray() : null))]));
        Assert.IsType<HnswIndex>(state.Index);
        var built = clock.Elapsed;

        var writer = new ChunkWriter();
        state.WriteSnapshot(writer);
        Assert.True(writer.Length > (long)int.MaxValue, $"the snapshot holds only {writer.Length} bytes");
        var imaged = clock.Elapsed;
        await store.WriteAsync("partition-large", 42, writer.Chunks);
        long bytes = writer.Length;
        int count = writer.Chunks.Count;
        writer = null;
        var stored = clock.Elapsed;

        using var restored = PartitionState.ReadSnapshot(new ChunkReader(i => store.Read("partition-large", 42, i), count, bytes));
        var loaded = clock.Elapsed;
        output.WriteLine($"{bytes / 1e9:F2} GB in {count} chunks to {store.Name}: built {built.TotalSeconds:F1} s, image {(imaged - built).TotalSeconds:F1} s, " +
            $"stored {(stored - imaged).TotalSeconds:F1} s, loaded {(loaded - stored).TotalSeconds:F1} s");

        Assert.Equal(Points, restored.Count);
        for (int i = 0; i < Points; i += 9_973)
        {
            Assert.Equal(VectorOf(i), restored.Index.GetVector((ulong)i));
            Assert.Equal(state.Payload((ulong)i), restored.Payload((ulong)i));
        }
        for (int q = 0; q < 5; q++)
        {
            var request = new SearchRequest(VectorOf(Points + q), 10, 10, 32, false);
            Assert.Equal(state.Search(request), restored.Search(request));
        }
        await store.DeleteBeforeAsync("partition-large", 43);
    }
}

/// <summary>Tests that run with no other test beside them (<see cref="LargeSnapshotTests.Alone"/>).</summary>
[CollectionDefinition(LargeSnapshotTests.Alone, DisableParallelization = true)]
public sealed class AloneCollection;
