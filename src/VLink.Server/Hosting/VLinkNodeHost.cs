using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Options;
using VLink.Cluster.Hosting;
using VLink.Cluster.Ingest;
using VLink.Server.Api;

namespace VLink.Server.Hosting;

/// <summary>
/// Runs this process's cluster node: creates the actor system on start, starts the <see cref="VLinkNode"/> in it,
/// and leaves the cluster and terminates the system on shutdown. When the system ends on its own (the node was
/// asked to leave, or was downed), the whole application stops: a process without its node serves nothing.
/// With <see cref="VLinkServerOptions.MarketFeedPort"/> set it also listens for the market line feed.
/// </summary>
public sealed class VLinkNodeHost(IOptions<VLinkServerOptions> options, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime, ApiKeyRing keys) : IHostedService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<VLinkNodeHost>();
    private volatile VLinkNode? _node;
    private TcpMarketFeed? _feed;

    /// <summary>The market line feed, when configured and started.</summary>
    public TcpMarketFeed? MarketFeed => _feed;

    /// <summary>The running node, or null before start and after stop.</summary>
    public VLinkNode? Node => _node;

    /// <summary>The running node; throws <see cref="InvalidOperationException"/> when it is not running.</summary>
    public VLinkNode RequireNode() => _node ?? throw new InvalidOperationException("The VLink node is not running.");

    /// <summary>Builds the node's address from the options (creating the data directory for SQLite).</summary>
    public static NodeAddress AddressOf(VLinkServerOptions o)
    {
        string connection;
        if (o.Persistence == PersistenceKind.Sqlite)
        {
            string data = Path.GetFullPath(o.DataDirectory);
            Directory.CreateDirectory(data);
            connection = string.IsNullOrWhiteSpace(o.Connection) ? VLinkConfig.SqliteConnection(data) : o.Connection;
        }
        else
        {
            connection = string.IsNullOrWhiteSpace(o.Connection)
                ? throw new InvalidOperationException("VLink:Connection must name the PostgreSQL database when VLink:Persistence is postgres.")
                : o.Connection;
        }
        var address = new NodeAddress(o.Host, o.AkkaPort, o.Seeds, o.Persistence, connection);
        // A node on a store of its own never joins others: the partitions it would be given start without their history.
        if (JournalIdentity.RefusalOf(address) is { } refusal) throw new InvalidOperationException(refusal);
        return address;
    }

    /// <summary>
    /// Why the node left the cluster it joined because that cluster keeps its journal elsewhere (the process should exit
    /// with an error), or null.
    /// </summary>
    public string? JournalRefusal { get; private set; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var address = AddressOf(o);
        // Akka's own log goes through the host's loggers, so it shares their format (plain or JSON) and filters.
        var config = ConfigurationFactory.ParseString("akka.loggers = [\"Akka.Hosting.Logging.LoggerFactoryLogger, Akka.Hosting\"]");
        if (o.HedgeDelayMs is { } hedge)
        {
            if (hedge < 0) throw new InvalidOperationException($"VLink:HedgeDelayMs must not be negative, got {hedge}.");
            config = config.WithFallback(ConfigurationFactory.ParseString(string.Create(CultureInfo.InvariantCulture, $"vlink.gather.hedge-delay = {hedge}ms")));
        }
        config = config.WithFallback(VLinkConfig.Build(address, o.ExtraHocon));
        var setup = BootstrapSetup.Create().WithConfig(config).And(new LoggerFactorySetup(loggerFactory));
        var system = ActorSystem.Create(address.SystemName, setup);
        var node = VLinkNode.Start(system);
        _node = node;
        _ = system.WhenTerminated.ContinueWith(_ =>
        {
            if (!ReferenceEquals(_node, node)) return; // stopped by the host itself
            _logger.LogWarning("The VLink node's actor system terminated (the node left the cluster or was downed); stopping the server");
            lifetime.StopApplication();
        }, TaskScheduler.Default);
        _ = node.JournalRefusal.ContinueWith(refusal =>
        {
            JournalRefusal = refusal.Result;
            _logger.LogCritical("Stopping: {Reason}", refusal.Result);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        _logger.LogInformation("VLink node started at {Host}:{Port} ({Persistence}: {Journal})", o.Host, o.AkkaPort, o.Persistence,
            JournalIdentity.Of(address).Description);
        if (o.MarketFeedPort > 0)
        {
            var format = o.MarketFeedFormat.Trim().ToLowerInvariant() switch
            {
                "ndjson" => Core.Ingest.MarketFileFormat.Ndjson,
                "csv" => Core.Ingest.MarketFileFormat.Csv,
                var other => throw new InvalidOperationException($"VLink:MarketFeedFormat must be ndjson or csv, got '{other}'."),
            };
            Func<string, bool>? authorize = keys.Enabled ? key => keys.Match(key) is { } role && role >= VLinkRole.Write : null;
            _feed = await TcpMarketFeed.BindAsync(new MarketIngest(node), o.Host, o.MarketFeedPort, new IngestOptions { Format = format }, authorize).ConfigureAwait(false);
            _logger.LogInformation("Market feed listening at {Address} ({Format})", _feed.LocalAddress, format);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var node = _node;
        if (node is null) return;
        if (_feed is not null) await _feed.DisposeAsync().ConfigureAwait(false);
        _feed = null;
        _node = null;
        // Leave the cluster gracefully (hands partitions and the catalog over), then terminate the system.
        await CoordinatedShutdown.Get(node.System).Run(CoordinatedShutdown.ClrExitReason.Instance).ConfigureAwait(false);
        await node.System.WhenTerminated.ConfigureAwait(false);
        _logger.LogInformation("VLink node stopped");
    }

    /// <summary>True once the node is Up in the cluster, reaches its journal and the catalog answers.</summary>
    public async Task<(bool Ready, string Reason)> ReadinessAsync()
    {
        var node = _node;
        if (node is null) return (false, "the node is not running");
        var status = Akka.Cluster.Cluster.Get(node.System).SelfMember.Status;
        if (status != MemberStatus.Up) return (false, $"the node is {status} in the cluster, not Up");
        // Writes are refused while the journal is down (reads go on from memory): a load balancer should send writes elsewhere.
        if (!node.Journal.IsUp) return (false, node.Journal.Describe());
        try
        {
            // The singleton itself must answer (the catalog a node last saw would do for reads, not for readiness).
            await node.CatalogStatusAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            return (true, "ready");
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or TimeoutException)
        {
            return (false, "the catalog does not answer");
        }
    }
}
