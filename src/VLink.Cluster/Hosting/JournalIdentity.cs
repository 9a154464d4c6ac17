using System.Data.Common;
using System.Security.Cryptography;
using System.Text;

namespace VLink.Cluster.Hosting;

/// <summary>
/// Which store a node's journal and snapshots live in, told apart from other stores without revealing it: the
/// cluster role <c>journal-{kind}-{fingerprint}</c> every node carries, and a description without passwords for
/// errors. Partitions move between nodes and recover from the journal, so every node of a cluster must use the same
/// store; a SQLite file is one machine's, so a cluster of several machines cannot share it.
/// </summary>
public sealed record JournalIdentity(PersistenceKind Kind, string Description, string Fingerprint)
{
    /// <summary>The prefix of the cluster roles that name a node's journal.</summary>
    public const string RolePrefix = "journal-";

    /// <summary>The cluster role naming this store: equal on two nodes exactly when they share it.</summary>
    public string Role => $"{RolePrefix}{(Kind == PersistenceKind.Sqlite ? "sqlite" : "postgres")}-{Fingerprint}";

    /// <summary>The identity of a node's store, from its persistence kind and connection string.</summary>
    public static JournalIdentity Of(NodeAddress node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Of(node.Persistence, node.ConnectionString);
    }

    /// <summary>The identity of the journal an actor system's configuration names (<c>akka.persistence.journal.sql</c>).</summary>
    public static JournalIdentity Of(Akka.Configuration.Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string provider = config.GetString("akka.persistence.journal.sql.provider-name", "");
        var kind = provider.Contains("sqlite", StringComparison.OrdinalIgnoreCase) ? PersistenceKind.Sqlite : PersistenceKind.Postgres;
        return Of(kind, config.GetString("akka.persistence.journal.sql.connection-string", ""));
    }

    private static JournalIdentity Of(PersistenceKind kind, string connectionString)
    {
        var settings = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string? Value(params string[] keys) =>
            keys.Select(k => settings.TryGetValue(k, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null)
                .FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();

        if (kind == PersistenceKind.Sqlite)
        {
            string source = Value("Data Source", "DataSource", "Filename") ?? "";
            bool memory = source.Length == 0 || source.Equals(":memory:", StringComparison.OrdinalIgnoreCase)
                || source.Contains("mode=memory", StringComparison.OrdinalIgnoreCase);
            // A file is the same store only on the same machine; an in-memory database is this process's alone.
            string file = memory ? ":memory:" : Path.GetFullPath(source);
            string key = memory ? $"sqlite|memory|{Environment.MachineName}|{Environment.ProcessId}" : $"sqlite|{Environment.MachineName}|{file}";
            return new JournalIdentity(PersistenceKind.Sqlite, $"the SQLite file {file}", Hash(key));
        }
        string host = Normalise(Value("Host", "Server") ?? "localhost");
        string port = Value("Port") ?? "5432";
        string database = Value("Database", "DB") ?? Value("Username", "User Id", "User ID", "UserId", "User") ?? "postgres";
        return new JournalIdentity(PersistenceKind.Postgres, $"the PostgreSQL database {database} at {host}:{port}", Hash($"postgres|{host}|{port}|{database}"));
    }

    /// <summary>
    /// Why <paramref name="node"/> must not start, or null: a node on a per-node store (SQLite) that would join other
    /// nodes. Seeds that all name the node itself are fine (a cluster of one).
    /// </summary>
    public static string? RefusalOf(NodeAddress node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.Persistence != PersistenceKind.Sqlite) return null;
        var others = node.Seeds.Where(s => !SameEndpoint(s, node.Host, node.Port)).ToList();
        if (others.Count == 0) return null;
        return $"this node's journal is {Of(node).Description}, which only this node can read, and it was asked to join {string.Join(", ", others)}. " +
               "Partitions move between the nodes of a cluster and recover from the journal, so a node joining others on a store of its own " +
               "would serve partitions without their history. Start every node of a cluster on one shared PostgreSQL database: " +
               "--persistence postgres --connection \"Host=...;Port=5432;Username=...;Database=...\" (docs/operations.md), or run one node without --seed.";
    }

    /// <summary>
    /// The error a node logs when it finds itself in a cluster whose older members use another store than its own.
    /// </summary>
    public static string IntruderMessage(JournalIdentity own, string otherAddress, string otherRole) =>
        $"This node's journal is {own.Description}, but the cluster member {otherAddress} uses another store ({otherRole}); " +
        "a partition moving between them would start without its history, so this node leaves the cluster. " +
        "Start every node of a cluster on the same PostgreSQL database: --persistence postgres --connection \"...\" with one connection string.";

    private static bool SameEndpoint(string seed, string host, int port)
    {
        int colon = seed.Trim().LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), out int seedPort) || seedPort != port) return false;
        return Normalise(seed.Trim()[..colon]) == Normalise(host);
    }

    // Loopback names are one host; anything else compares case-insensitively.
    private static string Normalise(string host)
    {
        string h = host.Trim().Trim('[', ']').ToLowerInvariant();
        return h is "localhost" or "::1" or "127.0.0.1" ? "127.0.0.1" : h;
    }

    private static string Hash(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
}
