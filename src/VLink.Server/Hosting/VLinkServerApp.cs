using Microsoft.Extensions.Options;
using VLink.Cluster.Hosting;
using VLink.Server.Api;

namespace VLink.Server.Hosting;

/// <summary>
/// Builds the server: one web application that runs this process's cluster node and serves the REST API.
/// <c>Program</c> (the server's own entry point) and <c>vlink node</c> both start it through here.
/// </summary>
public static class VLinkServerApp
{
    /// <summary>Builds the application from command-line style arguments (<c>--VLink:HttpPort=6333</c> and so on).</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        AddServices(builder);
        var app = builder.Build();
        MapEverything(app);
        return app;
    }

    /// <summary>Registers the node host, the API's services, and the listen URL.</summary>
    public static void AddServices(WebApplicationBuilder builder)
    {
        builder.Services.Configure<VLinkServerOptions>(builder.Configuration.GetSection(VLinkServerOptions.Section));
        builder.Services.AddSingleton<VLinkNodeHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<VLinkNodeHost>());
        builder.Services.AddHostedService<MemoryTrimmer>();
        builder.Services.AddTransient<VLinkNode>(sp => sp.GetRequiredService<VLinkNodeHost>().Node
            ?? throw new ApiException(StatusCodes.Status503ServiceUnavailable, null, "The VLink node is not running."));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<VLinkServerOptions>>().Value;
            string data = Path.GetFullPath(o.DataDirectory);
            return new Embeddings.EmbeddingProviders(data, o.EmbeddingModel is { Length: > 0 } model ? Path.GetFullPath(model) : null);
        });
        builder.Services.AddProblemDetails();
        builder.AddVLinkTelemetry();
        builder.AddVLinkApiDocs();
        builder.Services.AddSingleton(sp => ApiKeyRing.Load(
            sp.GetRequiredService<IOptions<VLinkServerOptions>>().Value,
            Console.Out,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<ApiKeyRing>()));

        // Qdrant's port unless the operator names URLs or ports the usual ASP.NET Core way.
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) &&
            string.IsNullOrEmpty(builder.Configuration["http_ports"]) &&
            string.IsNullOrEmpty(builder.Configuration["https_ports"]))
        {
            var options = builder.Configuration.GetSection(VLinkServerOptions.Section).Get<VLinkServerOptions>() ?? new VLinkServerOptions();
            builder.WebHost.UseUrls($"http://{options.Host}:{options.HttpPort}");
        }
    }

    /// <summary>Adds the middleware and maps every route.</summary>
    public static void MapEverything(WebApplication app)
    {
        app.UseVLinkOperationLog();
        app.UseVLinkProblems();
        app.UseStatusCodePages();
        app.UseVLinkApiKeys();
        app.UseVLinkBodyLimit();

        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" })).AllowAnyone();
        app.MapGet("/readyz", async (VLinkNodeHost host) =>
        {
            var (ready, reason) = await host.ReadinessAsync().ConfigureAwait(false);
            return ready
                ? Results.Ok(new { status = "ready" })
                : Results.Json(new { status = "not ready", reason }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).AllowAnyone();
        app.MapVLinkMetrics();
        app.MapVLinkApiDocs();
        app.MapCollectionEndpoints();
        app.MapPointEndpoints();
        app.MapTextSearchEndpoints();
        app.MapPointDataEndpoints();
        app.MapTransferEndpoints();
        app.MapServiceEndpoints();
        app.MapClusterEndpoints();
        app.MapMarketEndpoints();
    }
}
