using System.Reflection;
using System.Text.Json.Nodes;

namespace VLink.Server.Api;

/// <summary>The service's own root route, which Qdrant clients call to learn the server's version.</summary>
public static class ServiceEndpoints
{
    /// <summary>The server's version: the assembly's informational version without build metadata.</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>
    /// The version of Qdrant's REST dialect VLink speaks (the official JS client of this version is tested against
    /// it). Qdrant clients compare it with their own and warn when the minor versions are more than one apart.
    /// </summary>
    public const string QdrantDialect = "1.18.0";

    /// <summary>
    /// Maps <c>GET /</c>: <c>{"title": "vlink", "version": QdrantDialect, "vlink_version": "..."}</c> (Qdrant's root
    /// answer, not wrapped in an envelope).
    /// </summary>
    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Text(
                new JsonObject { ["title"] = "vlink", ["version"] = QdrantDialect, ["vlink_version"] = Version }.ToJsonString(),
                "application/json"))
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
