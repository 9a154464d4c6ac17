using VLink.Cluster.Hosting;

namespace VLink.Server.Hosting;

/// <summary>The node's settings, read from the configuration section <c>VLink</c>.</summary>
public sealed class VLinkServerOptions
{
    /// <summary>The configuration section the options are read from.</summary>
    public const string Section = "VLink";

    /// <summary>Address other nodes reach this one at (also the HTTP listen address by default). Default 127.0.0.1.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Akka.Remote port. Default 4053.</summary>
    public int AkkaPort { get; set; } = 4053;

    /// <summary>HTTP port, used when no URLs are configured otherwise. Default 6333 (Qdrant's).</summary>
    public int HttpPort { get; set; } = 6333;

    /// <summary>Seed nodes as host:port; empty forms a new cluster with this node as its seed.</summary>
    public List<string> Seeds { get; set; } = [];

    /// <summary>Folder of the node's local data (the SQLite journal). Created when missing. Default ./vlink-data.</summary>
    public string DataDirectory { get; set; } = "./vlink-data";

    /// <summary>Journal kind: sqlite (default) or postgres.</summary>
    public PersistenceKind Persistence { get; set; } = PersistenceKind.Sqlite;

    /// <summary>Journal connection string; for SQLite it defaults to a file in <see cref="DataDirectory"/>.</summary>
    public string? Connection { get; set; }

    /// <summary>
    /// Collections with replicas: milliseconds a search waits for the nodes before it asks the partitions still missing
    /// of their other replicas (<c>vlink.gather.hedge-delay</c>, default 100); 0 turns hedging off.
    /// </summary>
    public int? HedgeDelayMs { get; set; }

    /// <summary>
    /// Seconds between two checks of memory the garbage collector keeps committed but unused (<see cref="MemoryTrimmer"/>);
    /// 0 turns trimming off. Default 30.
    /// </summary>
    public int MemoryTrimSeconds { get; set; } = 30;

    /// <summary>Committed but unused memory, in MiB, past which a check trims it. Default 128.</summary>
    public int MemoryTrimSlackMb { get; set; } = 128;

    /// <summary>HOCON layered over VLink's own configuration (operators' and tests' overrides); optional.</summary>
    public string? ExtraHocon { get; set; }

    /// <summary>
    /// Whether requests need an API key. Default true: with no keys configured the first start generates an admin key
    /// into <c>{DataDirectory}/api-keys.json</c> and prints it once.
    /// </summary>
    public bool AuthEnabled { get; set; } = true;

    /// <summary>API keys given in configuration (<c>VLink:ApiKeys:0:Key</c>, <c>VLink:ApiKeys:0:Role</c>, ...).</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>
    /// The largest request body in bytes (default 64 MiB); larger bodies are refused with 413. The streamed point
    /// import has no cap.
    /// </summary>
    public long MaxBodyBytes { get; set; } = Api.BodyLimit.DefaultMaxBodyBytes;

    /// <summary>
    /// TCP port of the market line feed (<c>TcpMarketFeed</c>, at <see cref="Host"/>); 0 (default) = no feed. With API
    /// keys on, a connection's first line is <c>api-key KEY</c> with a write key.
    /// </summary>
    public int MarketFeedPort { get; set; }

    /// <summary>The line format of the market feed: <c>ndjson</c> (default) or <c>csv</c> (a header line first).</summary>
    public string MarketFeedFormat { get; set; } = "ndjson";

    /// <summary>
    /// The offline embedding model (the file <c>vlink embeddings fetch</c> writes); default
    /// <c>{DataDirectory}/embeddings/glove-6b-100d.vlwv</c>.
    /// </summary>
    public string? EmbeddingModel { get; set; }

    /// <summary>A JSON file of API keys, <c>[{"key": "...", "role": "read|write|admin"}]</c>; optional.</summary>
    public string? ApiKeysFile { get; set; }
}

/// <summary>One API key given in configuration.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The secret the client sends in the <c>api-key</c> header or as <c>Authorization: Bearer</c>.</summary>
    public string Key { get; set; } = "";

    /// <summary>What the key may do: read, write or admin.</summary>
    public string Role { get; set; } = "";
}
