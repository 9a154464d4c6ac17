using System.Net.Sockets;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;
using VLink.Cluster.Journal;

namespace VLink.Cluster.Tests;

/// <summary>How a node names its journal, reads its settings, and tells "unreachable" from "refused".</summary>
public sealed class JournalTargetTests
{
    [Fact]
    public void The_journal_is_named_by_where_it_is_and_never_by_its_password()
    {
        var postgres = JournalTarget.Of(Persistence("PostgreSQL.15", "Host=db.internal;Port=5433;Database=vlink;Username=vlink;Password=s3cret"));
        Assert.Equal(JournalKind.Postgres, postgres.Kind);
        Assert.Equal("the journal (PostgreSQL at db.internal:5433, database vlink)", postgres.Name);
        Assert.DoesNotContain("s3cret", postgres.Name, StringComparison.Ordinal);

        var sqlite = JournalTarget.Of(Persistence("SQLite.MS", "Data Source=/data/vlink.db;Pooling=True"));
        Assert.Equal(JournalKind.Sqlite, sqlite.Kind);
        Assert.Equal("the journal (SQLite file /data/vlink.db)", sqlite.Name);

        // An in-memory test journal has nothing to probe: it counts as up.
        Assert.Equal(JournalKind.Unprobed, JournalTarget.Of(ConfigurationFactory.ParseString("akka.persistence.journal.plugin = \"akka.persistence.journal.inmem\"")).Kind);
    }

    [Fact]
    public void Connection_errors_are_unreachable_and_errors_the_database_answers_are_not()
    {
        Assert.True(JournalTarget.IsUnreachable(new SocketException((int)SocketError.ConnectionRefused)));
        Assert.True(JournalTarget.IsUnreachable(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(JournalTarget.IsUnreachable(new Exception("Failed to write journal row batch", new IOException("Connection reset by peer"))));
        Assert.True(JournalTarget.IsUnreachable(new AggregateException(new TimeoutException())));
        Assert.True(JournalTarget.IsUnreachable(new PostgresException("the database system is shutting down", "FATAL", "FATAL", "57P03")));
        Assert.True(JournalTarget.IsUnreachable(new SqliteException("database is locked", 5)));

        Assert.False(JournalTarget.IsUnreachable(new PostgresException("duplicate key value violates unique constraint", "ERROR", "ERROR", "23505")));
        Assert.False(JournalTarget.IsUnreachable(new SqliteException("UNIQUE constraint failed", 19)));
        Assert.False(JournalTarget.IsUnreachable(new InvalidOperationException("not a connection problem")));

        // A probe that timed out or found SQLite's lock held may only mean a busy database; a refused one may not.
        Assert.True(JournalTarget.IsBusy(new TimeoutException()));
        Assert.True(JournalTarget.IsLocked(new SqliteException("database is locked", 5)));
        Assert.False(JournalTarget.IsLocked(new TimeoutException()));
        Assert.False(JournalTarget.IsBusy(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused))));
    }

    [Fact]
    public void A_reason_reads_the_errors_from_outside_in_once_each()
    {
        var error = new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));
        Assert.Equal("Failed to connect to 127.0.0.1:5432: Connection refused", JournalTarget.Reason(new AggregateException(error)));
    }

    [Fact]
    public void The_settings_default_to_a_probe_every_half_second_and_refuse_durations_that_are_not_positive()
    {
        Assert.Equal(new JournalSettings(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)), JournalSettings.From(Config.Empty));
        var error = Assert.Throws<ConfigurationException>(() => JournalSettings.From(ConfigurationFactory.ParseString("vlink.journal.write-timeout = 0s")));
        Assert.Contains("vlink.journal.write-timeout", error.Message, StringComparison.Ordinal);
    }

    private static Config Persistence(string provider, string connection) => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.sql"
        akka.persistence.journal.sql.provider-name = "{{provider}}"
        akka.persistence.journal.sql.connection-string = "{{connection}}"
        """);
}
