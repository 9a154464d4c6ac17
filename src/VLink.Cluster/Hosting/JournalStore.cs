using System.Data.Common;
using Akka.Configuration;

namespace VLink.Cluster.Hosting;

/// <summary>Names the store a node's journal lives in, for operators' logs: never the password or other secrets.</summary>
public static class JournalStore
{
    /// <summary>
    /// The journal plugin and where it writes: <c>SQLite file /data/vlink.db (akka.persistence.journal.sql, SQLite.MS)</c>,
    /// <c>PostgreSQL db.example:5432/vlink (akka.persistence.journal.sql, PostgreSQL.15)</c>, or the plugin alone when its
    /// connection string does not say.
    /// </summary>
    public static string Describe(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string plugin = config.GetString("akka.persistence.journal.plugin", "");
        if (string.IsNullOrEmpty(plugin)) return "the default journal";
        string provider = config.GetString($"{plugin}.provider-name", "");
        string connection = config.GetString($"{plugin}.connection-string", "");
        string plugged = string.IsNullOrEmpty(provider) ? plugin : $"{plugin}, {provider}";
        return Where(provider, connection) is { } where ? $"{where} ({plugged})" : plugged;
    }

    /// <summary>The place a connection string points at (file, or host:port/database), without credentials; null when unknown.</summary>
    public static string? Where(string provider, string connectionString)
    {
        var parts = new DbConnectionStringBuilder();
        try
        {
            parts.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return null;
        }
        string? Part(params string[] keys) =>
            keys.Select(k => parts.TryGetValue(k, out var v) ? v?.ToString() : null).FirstOrDefault(v => !string.IsNullOrEmpty(v));
        if (provider.Contains("sqlite", StringComparison.OrdinalIgnoreCase))
            return Part("Data Source", "DataSource", "Filename") is { } file ? $"SQLite file {(file.StartsWith(':') ? file : Path.GetFullPath(file))}" : null;
        string? host = Part("Host", "Server", "Data Source");
        if (host is null) return null;
        string? port = Part("Port");
        string? database = Part("Database", "Initial Catalog");
        string kind = provider.Contains("postgres", StringComparison.OrdinalIgnoreCase) ? "PostgreSQL" : provider;
        return $"{kind} {host}{(port is null ? "" : ":" + port)}/{database ?? "(default database)"}";
    }
}
