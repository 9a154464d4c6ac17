using Microsoft.OpenApi;
using Scalar.AspNetCore;
using VLink.Server.Api;

namespace VLink.Server.Hosting;

/// <summary>
/// The API's description: an OpenAPI document at <see cref="DocumentPath"/> and Scalar's browsable reference at
/// <see cref="ReferencePath"/>, both readable without a key. The document declares both ways to send a key.
/// </summary>
public static class VLinkApiDocs
{
    /// <summary>The OpenAPI document.</summary>
    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>Scalar's reference UI.</summary>
    public const string ReferencePath = "/scalar";

    /// <summary>Registers the document generator.</summary>
    public static void AddVLinkApiDocs(this WebApplicationBuilder builder) =>
        builder.Services.AddOpenApi("v1", options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "VLink",
                Version = "v1",
                Description = "Distributed vector search with Qdrant's REST dialect. Send an API key in the api-key header "
                    + "or as Authorization: Bearer KEY; read keys read and search, write keys also write, admin keys also run cluster operations.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyCheck.Header] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyCheck.Header,
                Description = "Qdrant's api-key header.",
            };
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The same key as Authorization: Bearer KEY.",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyCheck.Header, document)] = [] });
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
            return Task.CompletedTask;
        }));

    /// <summary>Maps the document and the reference UI, open to anyone.</summary>
    public static void MapVLinkApiDocs(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnyone();
        app.MapScalarApiReference(ReferencePath, options => options
            .WithTitle("VLink API")
            .AddPreferredSecuritySchemes(ApiKeyCheck.Header)).AllowAnyone();
    }
}
