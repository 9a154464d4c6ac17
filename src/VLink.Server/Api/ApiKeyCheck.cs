using Microsoft.Net.Http.Headers;

namespace VLink.Server.Api;

/// <summary>
/// Checks every request's API key against the route's role: no key or an unknown key is 401, a key whose role is
/// too low is 403, both as problem details naming <c>api-key</c>. Keys come in Qdrant's <c>api-key</c> header or as
/// <c>Authorization: Bearer KEY</c>.
/// </summary>
public static class ApiKeyCheck
{
    /// <summary>Qdrant's header for the API key.</summary>
    public const string Header = "api-key";

    /// <summary>Where the checked role of the request is kept in <see cref="HttpContext.Items"/>.</summary>
    public const string RoleItem = "vlink.role";

    /// <summary>
    /// Adds the check (after routing, so the route's <see cref="RequiredRole"/> and <see cref="Anonymous"/> metadata are
    /// known). Resolving the <see cref="ApiKeyRing"/> here makes a bad key configuration fail the start.
    /// </summary>
    public static IApplicationBuilder UseVLinkApiKeys(this IApplicationBuilder app)
    {
        var ring = app.ApplicationServices.GetRequiredService<ApiKeyRing>();
        if (!ring.Enabled) return app;
        return app.Use(async (context, next) =>
        {
            var endpoint = context.GetEndpoint();
            if (endpoint?.Metadata.GetMetadata<Anonymous>() is not null)
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            var needed = Needed(endpoint, context.Request.Method);
            string? key = PresentedKey(context.Request);
            if (key is null)
            {
                await Refuse(context, StatusCodes.Status401Unauthorized,
                    "api-key: this route needs an API key, in the api-key header or as Authorization: Bearer KEY").ConfigureAwait(false);
                return;
            }
            if (ring.Match(key) is not { } role)
            {
                await Refuse(context, StatusCodes.Status401Unauthorized, "api-key: the API key is not valid").ConfigureAwait(false);
                return;
            }
            if (role < needed)
            {
                await Refuse(context, StatusCodes.Status403Forbidden,
                    $"api-key: the key's role is {ApiKeyRing.RoleName(role)}; this route needs {ApiKeyRing.RoleName(needed)}").ConfigureAwait(false);
                return;
            }
            context.Items[RoleItem] = role;
            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// The role a request needs: the route's <see cref="RequiredRole"/>, else read for GET and HEAD and write for other
    /// methods; a request no route matches needs a valid key of any role (so it learns nothing about routes without one).
    /// </summary>
    public static VLinkRole Needed(Endpoint? endpoint, string method)
    {
        if (endpoint is null) return VLinkRole.Read;
        if (endpoint.Metadata.GetMetadata<RequiredRole>() is { } required) return required.Role;
        return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? VLinkRole.Read : VLinkRole.Write;
    }

    /// <summary>The key a request presents, or null.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        string? key = request.Headers[Header];
        if (!string.IsNullOrWhiteSpace(key)) return key.Trim();
        string? authorization = request.Headers.Authorization;
        const string bearer = "Bearer ";
        if (authorization is not null && authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            string token = authorization[bearer.Length..].Trim();
            if (token.Length > 0) return token;
        }
        return null;
    }

    private static Task Refuse(HttpContext context, int status, string detail)
    {
        if (status == StatusCodes.Status401Unauthorized) context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return Problems.Write(context, status, Header, detail);
    }
}
