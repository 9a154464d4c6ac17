using System.Reflection;
using System.Text.Json.Nodes;

namespace VLink.Server.Api;

/// <summary>The service's own root route, which Qdrant clients call to learn the server's version.</summary>
public static class ServiceEndpoints
{
    /// <summary>The server's version: the assembly's informational version without build metadata.</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>Maps <c>GET /</c>: <c>{"title": "vlink", "version": "..."}</c> (Qdrant's root answer, not wrapped in an envelope).</summary>
    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Text(new JsonObject { ["title"] = "vlink", ["version"] = Version }.ToJsonString(), "application/json"))
            .RequireRole(VLinkRole.Read);
        return app;
    }

    private static string ReadVersion()
    {
        var assembly = typeof(ServiceEndpoints).Assembly;
        string? version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString();
        if (string.IsNullOrEmpty(version)) return "0.0.0";
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 ? version[..plus] : version;
    }
}
