namespace VLink.Server.Api;

/// <summary>What an API key may do. Each role includes the ones before it.</summary>
public enum VLinkRole
{
    /// <summary>Read collections and points, search, scroll, count, export.</summary>
    Read = 0,

    /// <summary>Everything <see cref="Read"/> may, plus create, write and delete collections and points.</summary>
    Write = 1,

    /// <summary>Everything <see cref="Write"/> may, plus cluster operations (leave, down, join).</summary>
    Admin = 2,
}

/// <summary>
/// Endpoint metadata naming the role a route needs. Routes without it need <see cref="VLinkRole.Read"/> for
/// GET and HEAD and <see cref="VLinkRole.Write"/> for every other method.
/// </summary>
/// <param name="Role">The least role that may call the route.</param>
public sealed record RequiredRole(VLinkRole Role);

/// <summary>Endpoint metadata marking a route anyone may call without a key (health, readiness).</summary>
public sealed record Anonymous
{
    /// <summary>The one instance.</summary>
    public static readonly Anonymous Instance = new();
}

/// <summary>Declares the access a route needs.</summary>
public static class AccessExtensions
{
    /// <summary>The route needs at least <paramref name="role"/>.</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, VLinkRole role) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredRole(role));

    /// <summary>The route needs no key.</summary>
    public static TBuilder AllowAnyone<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Anonymous.Instance);
}
