using Akka.Configuration;

namespace VLink.Cluster.Catalog;

/// <summary>How partitions and the catalog keep the partitions' watermarks (<c>vlink.watermark</c>).</summary>
/// <param name="ReportInterval">
/// A written partition reports its journal's sequence number at most once per interval (and when it stops); the catalog
/// journals the reports of one interval as one event. 1 s by default.
/// </param>
/// <param name="CheckTimeout">
/// How long a recovered partition holds its requests while it waits for the catalog's watermark; when the catalog does
/// not answer in time the partition serves unchecked and asks again every interval of this length. 3 s by default.
/// </param>
/// <param name="CatalogSnapshotEvery">
/// The catalog snapshots itself every this many of its journal entries (watermark events being most of them), so its
/// recovery replays at most that many. 1,000 by default.
/// </param>
public sealed record WatermarkSettings(TimeSpan ReportInterval, TimeSpan CheckTimeout, int CatalogSnapshotEvery = 1000)
{
    /// <summary>1 s between reports, 3 s to wait for the catalog, a catalog snapshot every 1,000 entries.</summary>
    public static WatermarkSettings Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));

    /// <summary>Reads <c>vlink.watermark</c> of an actor system's configuration.</summary>
    /// <exception cref="ConfigurationException">An interval is not positive.</exception>
    public static WatermarkSettings From(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var report = config.GetTimeSpan("vlink.watermark.report-interval", Default.ReportInterval);
        var check = config.GetTimeSpan("vlink.watermark.check-timeout", Default.CheckTimeout);
        if (report <= TimeSpan.Zero)
            throw new ConfigurationException($"vlink.watermark.report-interval must be positive, got {report}.");
        if (check <= TimeSpan.Zero)
            throw new ConfigurationException($"vlink.watermark.check-timeout must be positive, got {check}.");
        int snapshotEvery = config.GetInt("vlink.watermark.catalog-snapshot-every", Default.CatalogSnapshotEvery);
        if (snapshotEvery < 1)
            throw new ConfigurationException($"vlink.watermark.catalog-snapshot-every must be at least 1, got {snapshotEvery}.");
        return new WatermarkSettings(report, check, snapshotEvery);
    }
}
