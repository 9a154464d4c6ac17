using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using VLink.Cluster.Telemetry;
using VLink.Server.Api;

namespace VLink.Server.Hosting;

/// <summary>
/// Metrics through OpenTelemetry: ASP.NET Core's request metrics (<c>http.server.request.duration</c> per route),
/// .NET's runtime metrics, and VLink's own meter (<see cref="VLinkMetrics"/>), scraped by Prometheus at
/// <see cref="MetricsPath"/> with a read key.
/// </summary>
public static class VLinkTelemetry
{
    /// <summary>Where Prometheus scrapes.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Registers the meter provider and the Prometheus exporter.</summary>
    public static void AddVLinkTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("vlink"))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddMeter("System.Runtime")
                .AddMeter(VLinkMetrics.MeterName)
                // Every scrape sees the latest values (no cached answer).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
    }

    /// <summary>Maps the scrape route; it needs a read key like every other read.</summary>
    public static IEndpointConventionBuilder MapVLinkMetrics(this IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint(MetricsPath).RequireRole(VLinkRole.Read);
}
