using Npgsql;
using Xunit;

namespace VLink.Testing;

/// <summary>
/// Runs only where a PostgreSQL server is offered in <c>VLINK_TEST_POSTGRES</c> (.ci/run starts one from Debian's
/// package with tests/scripts/postgres.sh); elsewhere the test is reported as skipped, with the reason.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES")))
            Skip = "VLINK_TEST_POSTGRES is not set: start a server with tests/scripts/postgres.sh (as .ci/run does).";
    }
}

/// <summary>A theory that runs only where <c>VLINK_TEST_POSTGRES</c> offers a PostgreSQL server (see <see cref="PostgresFactAttribute"/>).</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES")))
            Skip = "VLINK_TEST_POSTGRES is not set: start a server with tests/scripts/postgres.sh (as .ci/run does).";
    }
}

/// <summary>A fresh database per test on the offered server, dropped afterwards.</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly string _server;

    private PostgresDatabase(string server, string name, string connectionString)
    {
        _server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public static async Task<PostgresDatabase> CreateAsync()
    {
        string server = Environment.GetEnvironmentVariable("VLINK_TEST_POSTGRES")!;
        string name = "vlink_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(server) { Database = name };
        return new PostgresDatabase(server, name, builder.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
