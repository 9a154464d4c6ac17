using System.Data.Common;
using System.Net.Sockets;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace VLink.Cluster.Journal;

/// <summary>Which database a node journals to.</summary>
public enum JournalKind
{
    /// <summary>Not a database VLink knows how to probe (e.g. an in-memory test journal): always counted up.</summary>
    Unprobed,

    /// <summary>A SQLite file.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server.</summary>
    Postgres,
}

/// <summary>
/// The journal's database as the node's configuration names it: how to probe it (with the node's own connection
/// string), how to name it to an operator, and which of its errors mean "unreachable" rather than "refused".
/// </summary>
/// <param name="Kind">The database.</param>
/// <param name="ConnectionString">The journal's connection string.</param>
public sealed record JournalTarget(JournalKind Kind, string ConnectionString)
{
    /// <summary>The journal of an actor system's configuration (the Akka.Persistence.Sql plugin's settings).</summary>
    public static JournalTarget Of(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string plugin = config.GetString("akka.persistence.journal.plugin", "");
        var sql = string.IsNullOrEmpty(plugin) ? null : config.GetConfig(plugin);
        string provider = sql?.GetString("provider-name", "") ?? "";
        string connection = sql?.GetString("connection-string", "") ?? "";
        if (connection.Length == 0) return new JournalTarget(JournalKind.Unprobed, "");
        if (provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase)) return new JournalTarget(JournalKind.Postgres, connection);
        if (provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)) return new JournalTarget(JournalKind.Sqlite, connection);
        return new JournalTarget(JournalKind.Unprobed, connection);
    }

    /// <summary>How an operator reads the journal's name, e.g. "the journal (PostgreSQL at 127.0.0.1:5432)"; no password.</summary>
    public string Name
    {
        get
        {
            if (Kind == JournalKind.Postgres)
            {
                var pg = new NpgsqlConnectionStringBuilder(ConnectionString);
                return $"the journal (PostgreSQL at {pg.Host}:{pg.Port}, database {pg.Database})";
            }
            return Kind == JournalKind.Sqlite
                ? $"the journal (SQLite file {new SqliteConnectionStringBuilder(ConnectionString).DataSource})"
                : "the journal";
        }
    }

    /// <summary>
    /// One probe: PostgreSQL answers <c>SELECT 1</c> on a fresh connection; SQLite grants its write lock
    /// (<c>BEGIN IMMEDIATE</c>, rolled back at once). Throws when the database cannot be reached within
    /// <paramref name="timeout"/>.
    /// </summary>
    public Task ProbeAsync(TimeSpan timeout, CancellationToken cancellation = default) =>
        // The drivers take whole seconds. SQLite waits that long for its lock and then says it is held (SQLITE_BUSY);
        // the probe is abandoned (a straggler ends on its own) only at twice the timeout, so a held lock is told from a
        // slow machine.
        Probe(Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)), cancellation)
            .WaitAsync(Kind == JournalKind.Sqlite ? timeout * 2 : timeout, cancellation);

    private async Task Probe(int seconds, CancellationToken cancellation)
    {
        switch (Kind)
        {
            case JournalKind.Postgres:
            {
                // Not pooled: a pooled connection may be one the server's restart broke.
                var builder = new NpgsqlConnectionStringBuilder(ConnectionString)
                {
                    Pooling = false, Timeout = seconds, CommandTimeout = seconds, ApplicationName = "vlink-journal-probe",
                };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(cancellation).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false);
                break;
            }
            case JournalKind.Sqlite:
            {
                var builder = new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false, DefaultTimeout = seconds };
                // SQLite waits for a lock by sleeping on the calling thread: a thread of its own, since journal writes
                // blocked on the same lock can starve the thread pool.
                await Task.Factory.StartNew(() =>
                {
                    using var connection = new SqliteConnection(builder.ConnectionString);
                    connection.Open();
                    using var command = connection.CreateCommand();
                    command.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
                    command.CommandTimeout = seconds;
                    command.ExecuteNonQuery();
                }, cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                break;
            }
        }
    }

    /// <summary>
    /// Drops the idle pooled connections of the journal's driver: after a database restart they are broken, and each
    /// would fail one journal write before the pool noticed.
    /// </summary>
    public void ClearPools()
    {
        if (Kind == JournalKind.Postgres) NpgsqlConnection.ClearAllPools();
        else if (Kind == JournalKind.Sqlite) SqliteConnection.ClearAllPools();
    }

    /// <summary>
    /// Whether <paramref name="error"/> says the database could not be reached (connection refused or broken, the
    /// server shutting down, a SQLite file locked by another process, a timeout) rather than that it refused the write.
    /// </summary>
    public static bool IsUnreachable(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AggregateException aggregate when aggregate.InnerExceptions.Any(IsUnreachable):
                    return true;
                case PostgresException pg:
                    // 08: connection exceptions; 57P0x: the server shutting down or restarting; 53: out of resources.
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P0", StringComparison.Ordinal)
                        || pg.SqlState.StartsWith("53", StringComparison.Ordinal);
                case NpgsqlException:
                case SocketException:
                case IOException:
                case TimeoutException:
                case OperationCanceledException:
                    return true;
                // 5 busy, 6 locked, 10 I/O error, 14 cannot open the file.
                case SqliteException sqlite when sqlite.SqliteErrorCode is 5 or 6 or 10 or 14:
                    return true;
                case DbException { IsTransient: true }:
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Whether a probe's failure may only mean a busy database (no answer in time, SQLite's lock held by a writer)
    /// rather than one that is gone (connection refused or broken, the server shutting down).
    /// </summary>
    public static bool IsBusy(Exception error) =>
        error is TimeoutException or OperationCanceledException || IsLocked(error);

    /// <summary>Whether a probe found SQLite's lock held (by another process, or by a write of this node's journal).</summary>
    public static bool IsLocked(Exception error) => error is SqliteException { SqliteErrorCode: 5 or 6 };

    /// <summary>A one-line reason of a failure: its messages from outside in, without repeats.</summary>
    public static string Reason(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var parts = new List<string>();
        for (var e = error; e is not null && parts.Count < 3; e = e.InnerException)
        {
            if (e is AggregateException { InnerException: not null }) continue;
            string message = e.Message.Trim();
            if (message.Length > 0 && !parts.Any(p => p.Contains(message, StringComparison.Ordinal))) parts.Add(message);
        }
        return parts.Count == 0 ? error.GetType().Name : string.Join(": ", parts);
    }
}
