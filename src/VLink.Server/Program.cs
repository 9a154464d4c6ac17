using VLink.Cluster.Hosting;
using VLink.Server.Api;
using VLink.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.Services.Configure<VLinkServerOptions>(builder.Configuration.GetSection(VLinkServerOptions.Section));
builder.Services.AddSingleton<VLinkNodeHost>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<VLinkNodeHost>());
builder.Services.AddTransient<VLinkNode>(sp => sp.GetRequiredService<VLinkNodeHost>().Node
    ?? throw new ApiException(StatusCodes.Status503ServiceUnavailable, null, "The VLink node is not running."));
builder.Services.AddProblemDetails();

// Qdrant's port unless the operator names URLs or ports the usual ASP.NET Core way.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) &&
    string.IsNullOrEmpty(builder.Configuration["http_ports"]) &&
    string.IsNullOrEmpty(builder.Configuration["https_ports"]))
{
    var options = builder.Configuration.GetSection(VLinkServerOptions.Section).Get<VLinkServerOptions>() ?? new VLinkServerOptions();
    builder.WebHost.UseUrls($"http://{options.Host}:{options.HttpPort}");
}

var app = builder.Build();

app.UseVLinkProblems();
app.UseStatusCodePages();

app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
app.MapGet("/readyz", async (VLinkNodeHost host) =>
{
    var (ready, reason) = await host.ReadinessAsync().ConfigureAwait(false);
    return ready
        ? Results.Ok(new { status = "ready" })
        : Results.Json(new { status = "not ready", reason }, statusCode: StatusCodes.Status503ServiceUnavailable);
});
app.MapCollectionEndpoints();
app.MapPointEndpoints();

app.Run();

/// <summary>The server's entry point (public so that tests can host it with <c>WebApplicationFactory</c>).</summary>
public partial class Program;
