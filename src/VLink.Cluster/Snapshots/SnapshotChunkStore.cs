using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace VLink.Cluster.Snapshots;

/// <summary>
/// Where the bytes of partition snapshots live: numbered chunks of one snapshot (a partition's persistence id and the
/// sequence number the snapshot covers), kept in a table of the snapshot store's own database
/// (<c>vlink_snapshot_chunks</c>), so a partition that moves to another node finds them, and no single value comes
/// near a database's or .NET's limit (PostgreSQL <c>bytea</c> 1 GB, arrays 2 GB). The snapshot store itself keeps only
/// a small manifest naming the chunks (<see cref="Protocol.ChunkedSnapshot"/>).
/// </summary>
public abstract class SnapshotChunkStore
{
    /// <summary>The size of a chunk: large enough that a snapshot is a few hundred rows, small enough to write in one statement.</summary>
    public const int ChunkBytes = 4 << 20;

    /// <summary>A name for logs and errors ("SQLite file x", "PostgreSQL at host:port").</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Stores the chunks of one snapshot, replacing any left by an earlier attempt at the same sequence number. Each
    /// chunk is its own statement, so journal writes of the same database interleave with a large snapshot.
    /// </summary>
    public abstract Task WriteAsync(string persistenceId, long sequenceNr, IReadOnlyList<ReadOnlyMemory<byte>> chunks, CancellationToken cancellation = default);

    /// <summary>One chunk of a stored snapshot.</summary>
    /// <exception cref="InvalidDataException">The chunk is not there.</exception>
    public abstract byte[] Read(string persistenceId, long sequenceNr, int chunk);

    /// <summary>Drops the chunks of a partition's snapshots older than <paramref name="sequenceNr"/>.</summary>
    public abstract Task DeleteBeforeAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default);

    /// <summary>Drops the chunks of one snapshot (one that was never confirmed).</summary>
    public abstract Task DeleteAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default);

    /// <summary>
    /// The store of an actor system's snapshot store: its SQLite file or PostgreSQL database as the Akka.Persistence.Sql
    /// plugin's settings name them, else (an in-memory snapshot store, in tests) memory that lives as long as the system.
    /// </summary>
    public static SnapshotChunkStore Of(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string plugin = config.GetString("akka.persistence.snapshot-store.plugin", "");
        var sql = string.IsNullOrEmpty(plugin) ? null : config.GetConfig(plugin);
        string provider = sql?.GetString("provider-name", "") ?? "";
        string connection = sql?.GetString("connection-string", "") ?? "";
        if (connection.Length > 0 && provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase)) return new PostgresChunkStore(connection);
        if (connection.Length > 0 && provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)) return new SqliteChunkStore(connection);
        return new MemoryChunkStore();
    }
}

/// <summary>The chunk store of an actor system (one per system, made from its configuration on first use).</summary>
public sealed class SnapshotChunks : ExtensionIdProvider<SnapshotChunks.Holder>
{
    /// <summary>The extension's id.</summary>
    public static readonly SnapshotChunks Id = new();

    /// <summary>The store of <paramref name="system"/>.</summary>
    public static SnapshotChunkStore Of(ActorSystem system) => Id.Apply(system).Store;

    /// <inheritdoc />
    public override Holder CreateExtension(ExtendedActorSystem system) => new(SnapshotChunkStore.Of(system.Settings.Config));

    /// <summary>Holds the store.</summary>
    public sealed class Holder(SnapshotChunkStore store) : IExtension
    {
        /// <summary>The store.</summary>
        public SnapshotChunkStore Store { get; } = store;
    }
}

/// <summary>Chunks in a SQLite file (the snapshot store's).</summary>
internal sealed class SqliteChunkStore(string connectionString) : SnapshotChunkStore
{
    private const string Table = """
        CREATE TABLE IF NOT EXISTS vlink_snapshot_chunks (
            persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY (persistence_id, sequence_nr, chunk))
        """;

    private readonly string _connection = new SqliteConnectionStringBuilder(connectionString) { DefaultTimeout = 30 }.ConnectionString;
    private int _created;

    public override string Name => $"SQLite file {new SqliteConnectionStringBuilder(_connection).DataSource}";

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connection);
        connection.Open();
        if (Volatile.Read(ref _created) == 0)
        {
            Execute(connection, Table);
            Volatile.Write(ref _created, 1);
        }
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    // SQLite waits for its lock by sleeping on the calling thread: a thread of its own, not one of the pool's.
    private static Task OnOwnThread(Action work, CancellationToken cancellation) =>
        Task.Factory.StartNew(work, cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public override Task WriteAsync(string persistenceId, long sequenceNr, IReadOnlyList<ReadOnlyMemory<byte>> chunks, CancellationToken cancellation = default) =>
        OnOwnThread(() =>
        {
            DeleteRows(persistenceId, "sequence_nr = $s", sequenceNr);
            using var connection = Open();
            for (int i = 0; i < chunks.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                using var command = connection.CreateCommand();
                command.CommandText = "INSERT INTO vlink_snapshot_chunks (persistence_id, sequence_nr, chunk, data) VALUES ($p, $s, $c, $d)";
                command.Parameters.AddWithValue("$p", persistenceId);
                command.Parameters.AddWithValue("$s", sequenceNr);
                command.Parameters.AddWithValue("$c", i);
                command.Parameters.Add("$d", SqliteType.Blob, chunks[i].Length).Value = AsArray(chunks[i]);
                command.ExecuteNonQuery();
            }
        }, cancellation);

    public override byte[] Read(string persistenceId, long sequenceNr, int chunk)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT data FROM vlink_snapshot_chunks WHERE persistence_id = $p AND sequence_nr = $s AND chunk = $c";
        command.Parameters.AddWithValue("$p", persistenceId);
        command.Parameters.AddWithValue("$s", sequenceNr);
        command.Parameters.AddWithValue("$c", chunk);
        return command.ExecuteScalar() as byte[]
            ?? throw new InvalidDataException($"Chunk {chunk} of the snapshot of {persistenceId} at {sequenceNr} is missing from {Name}.");
    }

    public override Task DeleteBeforeAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default) =>
        OnOwnThread(() => DeleteRows(persistenceId, "sequence_nr < $s", sequenceNr), cancellation);

    public override Task DeleteAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default) =>
        OnOwnThread(() => DeleteRows(persistenceId, "sequence_nr = $s", sequenceNr), cancellation);

    // One chunk per statement: freeing a whole snapshot's pages in one statement held SQLite's write lock so long (a
    // 500 MB snapshot under a bulk load) that a journal write gave up waiting for it; a chunk at a time, journal writes
    // interleave.
    private void DeleteRows(string persistenceId, string where, long sequenceNr)
    {
        using var connection = Open();
        var rows = new List<(long Sequence, long Chunk)>();
        using (var select = connection.CreateCommand())
        {
            select.CommandText = $"SELECT sequence_nr, chunk FROM vlink_snapshot_chunks WHERE persistence_id = $p AND {where}";
            select.Parameters.AddWithValue("$p", persistenceId);
            select.Parameters.AddWithValue("$s", sequenceNr);
            using var reader = select.ExecuteReader();
            while (reader.Read()) rows.Add((reader.GetInt64(0), reader.GetInt64(1)));
        }
        foreach (var (sequence, chunk) in rows)
            Execute(connection, "DELETE FROM vlink_snapshot_chunks WHERE persistence_id = $p AND sequence_nr = $s AND chunk = $c",
                ("$p", persistenceId), ("$s", sequence), ("$c", chunk));
    }

    internal static byte[] AsArray(ReadOnlyMemory<byte> chunk) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(chunk, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : chunk.ToArray();
}

/// <summary>Chunks in a PostgreSQL database (the snapshot store's).</summary>
internal sealed class PostgresChunkStore(string connectionString) : SnapshotChunkStore
{
    private const string Table = """
        CREATE TABLE IF NOT EXISTS vlink_snapshot_chunks (
            persistence_id TEXT NOT NULL, sequence_nr BIGINT NOT NULL, chunk INTEGER NOT NULL, data BYTEA NOT NULL,
            PRIMARY KEY (persistence_id, sequence_nr, chunk));
        ALTER TABLE vlink_snapshot_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        """;
    // STORAGE EXTERNAL: chunks are stored out of line without trying to compress them (vectors hardly compress).

    private int _created;

    public override string Name
    {
        get
        {
            var pg = new NpgsqlConnectionStringBuilder(connectionString);
            return $"PostgreSQL at {pg.Host}:{pg.Port}, database {pg.Database}";
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellation)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation).ConfigureAwait(false);
        if (Volatile.Read(ref _created) == 0)
        {
            await using var create = new NpgsqlCommand(Table, connection);
            await create.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }
        return connection;
    }

    public override async Task WriteAsync(string persistenceId, long sequenceNr, IReadOnlyList<ReadOnlyMemory<byte>> chunks, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation).ConfigureAwait(false);
        await using (var clear = new NpgsqlCommand("DELETE FROM vlink_snapshot_chunks WHERE persistence_id = $1 AND sequence_nr = $2", connection))
        {
            clear.Parameters.AddWithValue(persistenceId);
            clear.Parameters.AddWithValue(sequenceNr);
            await clear.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        }
        for (int i = 0; i < chunks.Count; i++)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO vlink_snapshot_chunks (persistence_id, sequence_nr, chunk, data) VALUES ($1, $2, $3, $4)", connection);
            insert.Parameters.AddWithValue(persistenceId);
            insert.Parameters.AddWithValue(sequenceNr);
            insert.Parameters.AddWithValue(i);
            insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = chunks[i], NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
            await insert.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        }
    }

    public override byte[] Read(string persistenceId, long sequenceNr, int chunk)
    {
        using var connection = OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var command = new NpgsqlCommand("SELECT data FROM vlink_snapshot_chunks WHERE persistence_id = $1 AND sequence_nr = $2 AND chunk = $3", connection);
        command.Parameters.AddWithValue(persistenceId);
        command.Parameters.AddWithValue(sequenceNr);
        command.Parameters.AddWithValue(chunk);
        return command.ExecuteScalar() as byte[]
            ?? throw new InvalidDataException($"Chunk {chunk} of the snapshot of {persistenceId} at {sequenceNr} is missing from {Name}.");
    }

    public override async Task DeleteBeforeAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("DELETE FROM vlink_snapshot_chunks WHERE persistence_id = $1 AND sequence_nr < $2", connection);
        command.Parameters.AddWithValue(persistenceId);
        command.Parameters.AddWithValue(sequenceNr);
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    public override async Task DeleteAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("DELETE FROM vlink_snapshot_chunks WHERE persistence_id = $1 AND sequence_nr = $2", connection);
        command.Parameters.AddWithValue(persistenceId);
        command.Parameters.AddWithValue(sequenceNr);
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }
}

/// <summary>Chunks in memory, for actor systems whose snapshot store is in memory (tests).</summary>
internal sealed class MemoryChunkStore : SnapshotChunkStore
{
    private readonly ConcurrentDictionary<(string Id, long Sequence), byte[][]> _snapshots = new();

    public override string Name => "memory";

    public override Task WriteAsync(string persistenceId, long sequenceNr, IReadOnlyList<ReadOnlyMemory<byte>> chunks, CancellationToken cancellation = default)
    {
        _snapshots[(persistenceId, sequenceNr)] = [.. chunks.Select(c => c.ToArray())];
        return Task.CompletedTask;
    }

    public override byte[] Read(string persistenceId, long sequenceNr, int chunk) =>
        _snapshots.TryGetValue((persistenceId, sequenceNr), out var chunks) && chunk < chunks.Length
            ? chunks[chunk]
            : throw new InvalidDataException($"Chunk {chunk} of the snapshot of {persistenceId} at {sequenceNr} is missing from memory.");

    public override Task DeleteBeforeAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default)
    {
        foreach (var key in _snapshots.Keys.Where(k => k.Id == persistenceId && k.Sequence < sequenceNr).ToList()) _snapshots.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    public override Task DeleteAsync(string persistenceId, long sequenceNr, CancellationToken cancellation = default)
    {
        _snapshots.TryRemove((persistenceId, sequenceNr), out _);
        return Task.CompletedTask;
    }
}
