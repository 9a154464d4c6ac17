using Akka.Configuration;

namespace VLink.Cluster.Hosting;

/// <summary>Which journal and snapshot store a node uses.</summary>
public enum PersistenceKind
{
    /// <summary>A SQLite file (the embedded default).</summary>
    Sqlite,

    /// <summary>PostgreSQL (clusters of several processes).</summary>
    Postgres,
}

/// <summary>Where a node listens and what it joins.</summary>
/// <param name="Host">Address other nodes reach this one at.</param>
/// <param name="Port">Akka.Remote port.</param>
/// <param name="Seeds">Seed nodes as host:port; empty = form a new cluster with itself.</param>
/// <param name="Persistence">Journal kind.</param>
/// <param name="ConnectionString">Journal connection string.</param>
/// <param name="SystemName">Actor system name; nodes of one cluster share it.</param>
public sealed record NodeAddress(string Host, int Port, IReadOnlyList<string> Seeds, PersistenceKind Persistence, string ConnectionString, string SystemName = "vlink");

/// <summary>
/// The one place a node's HOCON is assembled: the node's own settings on top of <c>hocon/vlink.conf</c> and
/// the persistence file, then the defaults of the Akka.Persistence.Sql plugin.
/// </summary>
public static class VLinkConfig
{
    /// <summary>The folder holding the HOCON files: <c>hocon/</c> beside the program.</summary>
    public static string HoconDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>Builds the configuration of a node.</summary>
    public static Config Build(NodeAddress node, string? extraHocon = null)
    {
        string persistenceFile = node.Persistence == PersistenceKind.Sqlite ? "persistence-sqlite.conf" : "persistence-postgres.conf";
        var seeds = node.Seeds.Count == 0 ? [$"{node.Host}:{node.Port}"] : node.Seeds;
        string seedList = string.Join(", ", seeds.Select(s => $"\"akka.tcp://{node.SystemName}@{s}\""));
        string connection = Quote(node.ConnectionString);
        // Every member names its store, so nodes can tell a member whose journal is not theirs (JournalGuard).
        string journalRole = Quote(JournalIdentity.Of(node).Role);
        var own = ConfigurationFactory.ParseString($$"""
            akka.remote.dot-netty.tcp.hostname = {{Quote(node.Host)}}
            akka.remote.dot-netty.tcp.port = {{node.Port}}
            akka.cluster.seed-nodes = [{{seedList}}]
            akka.cluster.roles = [{{journalRole}}]
            akka.persistence.journal.sql.connection-string = {{connection}}
            akka.persistence.snapshot-store.sql.connection-string = {{connection}}
            """);
        var config = own;
        if (extraHocon is not null) config = ConfigurationFactory.ParseString(extraHocon).WithFallback(config);
        return config
            .WithFallback(Load(persistenceFile))
            .WithFallback(Load("vlink.conf"))
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration)
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig());
    }

    /// <summary>The SQLite connection string of a data directory.</summary>
    public static string SqliteConnection(string dataDirectory) =>
        $"Data Source={Path.Combine(dataDirectory, "vlink.db")};Pooling=True";

    private static Config Load(string file)
    {
        string path = Path.Combine(HoconDirectory, file);
        if (!File.Exists(path))
            throw new FileNotFoundException($"VLink's HOCON file '{file}' is missing from {HoconDirectory}.", path);
        return ConfigurationFactory.ParseString(File.ReadAllText(path));
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
