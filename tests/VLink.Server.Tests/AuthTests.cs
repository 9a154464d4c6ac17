using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using VLink.Server.Api;

namespace VLink.Server.Tests;

/// <summary>API keys on the shared server: one key of each role.</summary>
[Collection(ServerCollection.Name)]
public sealed class AuthTests(ServerFixture server)
{
    private const string CreateBody = """{"vectors":{"size":2,"distance":"Dot"}}""";

    [Theory]
    [InlineData("GET", "/collections", null)]
    [InlineData("PUT", "/collections/auth-none", CreateBody)]
    [InlineData("POST", "/collections/auth-none/points/search", """{"vector":[1,0]}""")]
    [InlineData("GET", "/no/such/route", null)]
    public async Task No_key_is_401(string method, string path, string? body)
    {
        var response = await Api.Send(server.ClientWith(null), new HttpMethod(method), path, body);
        await Api.Problem(response, HttpStatusCode.Unauthorized, "api-key");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("wrong")]
    [InlineData(ServerFixture.AdminKey + "x")]
    [InlineData("test-admin-key-e07c4")]
    public async Task A_wrong_key_is_401(string key)
    {
        await Api.Problem(await server.ClientWith(key).GetAsync("/collections"), HttpStatusCode.Unauthorized, "api-key");
        await Api.Problem(await Api.Send(server.ClientWith(key), HttpMethod.Put, "/collections/auth-wrong", CreateBody),
            HttpStatusCode.Unauthorized, "api-key");
    }

    [Fact]
    public async Task A_read_key_reads_and_searches_but_may_not_write()
    {
        await Api.CreateCollection(server.Client, "auth-read", 2, "Dot", shards: 1);
        var reader = server.ClientWith(ServerFixture.ReadKey);
        await Api.Ok(await reader.GetAsync("/collections/auth-read"));
        await Api.Ok(await Api.Send(reader, HttpMethod.Post, "/collections/auth-read/points/search", """{"vector":[1,0]}"""));
        await Api.Ok(await Api.Send(reader, HttpMethod.Post, "/collections/auth-read/points", """{"ids":[1]}"""));

        var refused = await Api.Problem(await Api.Send(reader, HttpMethod.Put, "/collections/auth-read/points", """{"points":[{"id":1,"vector":[1,0]}]}"""),
            HttpStatusCode.Forbidden, "api-key");
        Assert.Contains("needs write", (string?)refused["detail"]);
        await Api.Problem(await reader.DeleteAsync("/collections/auth-read"), HttpStatusCode.Forbidden, "api-key");
        await Api.Problem(await Api.Send(reader, HttpMethod.Put, "/collections/auth-read-2", CreateBody), HttpStatusCode.Forbidden, "api-key");
        // Nothing was written or dropped.
        var info = await Api.Ok(await reader.GetAsync("/collections/auth-read"));
        Assert.Equal(0, (long)info["result"]!["points_count"]!);
        await Api.Problem(await reader.GetAsync("/collections/auth-read-2"), HttpStatusCode.NotFound, "collection_name");
    }

    [Fact]
    public async Task A_write_key_writes()
    {
        var writer = server.ClientWith(ServerFixture.WriteKey);
        await Api.CreateCollection(writer, "auth-write", 2, "Dot", shards: 1);
        await Api.Ok(await Api.Send(writer, HttpMethod.Put, "/collections/auth-write/points", """{"points":[{"id":1,"vector":[1,0]}]}"""));
        await Api.Ok(await writer.DeleteAsync("/collections/auth-write"));
    }

    [Theory]
    [InlineData("/cluster/leave")]
    [InlineData("/cluster/down")]
    public async Task Cluster_operations_need_an_admin_key(string path)
    {
        const string body = """{"address":"127.0.0.1:1"}""";
        var refused = await Api.Problem(await Api.Send(server.ClientWith(ServerFixture.WriteKey), HttpMethod.Post, path, body),
            HttpStatusCode.Forbidden, "api-key");
        Assert.Contains("needs admin", (string?)refused["detail"]);
        await Api.Problem(await Api.Send(server.ClientWith(ServerFixture.ReadKey), HttpMethod.Post, path, body), HttpStatusCode.Forbidden, "api-key");
        // The admin key passes the check and reaches the route, which finds no such member.
        await Api.Problem(await Api.Send(server.Client, HttpMethod.Post, path, body), HttpStatusCode.NotFound, "address");
        // Reading the cluster needs only a read key.
        await Api.Ok(await server.ClientWith(ServerFixture.ReadKey).GetAsync("/cluster"));
    }

    [Fact]
    public async Task The_key_may_come_as_a_bearer_token()
    {
        var client = server.ClientWith(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.WriteKey);
        await Api.CreateCollection(client, "auth-bearer", 2, "Cosine", shards: 1);

        var reader = server.ClientWith(null);
        reader.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ReadKey);
        await Api.Ok(await reader.GetAsync("/collections/auth-bearer"));
        await Api.Problem(await reader.DeleteAsync("/collections/auth-bearer"), HttpStatusCode.Forbidden, "api-key");

        var wrong = server.ClientWith(null);
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "nope");
        await Api.Problem(await wrong.GetAsync("/collections/auth-bearer"), HttpStatusCode.Unauthorized, "api-key");

        // Another scheme is no key at all.
        var basic = server.ClientWith(null);
        basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", ServerFixture.AdminKey);
        await Api.Problem(await basic.GetAsync("/collections/auth-bearer"), HttpStatusCode.Unauthorized, "api-key");
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Health_and_readiness_need_no_key(string path)
    {
        Assert.Equal(HttpStatusCode.OK, (await server.ClientWith(null).GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientWith("wrong").GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task Roles_rank_read_write_admin_on_routes_that_name_them()
    {
        // A small application with the same key check and one route per role (every combination of role and route declaration).
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(ApiKeyRing.Of([
            new ApiKeyEntry("r", VLinkRole.Read), new ApiKeyEntry("w", VLinkRole.Write), new ApiKeyEntry("a", VLinkRole.Admin)]));
        await using var app = builder.Build();
        app.UseVLinkProblems();
        app.UseVLinkApiKeys();
        app.MapGet("/read", () => "ok");
        app.MapPost("/write", () => "ok");
        app.MapPost("/read-by-post", () => "ok").RequireRole(VLinkRole.Read);
        app.MapGet("/admin", () => "ok").RequireRole(VLinkRole.Admin);
        app.MapPost("/open", () => "ok").AllowAnyone();
        await app.StartAsync();
        var client = app.GetTestClient();

        var expected = new (string Method, string Path, HttpStatusCode Read, HttpStatusCode Write, HttpStatusCode Admin)[]
        {
            ("GET", "/read", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK),
            ("POST", "/write", HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.OK),
            ("POST", "/read-by-post", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK),
            ("GET", "/admin", HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK),
            ("POST", "/open", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK),
        };
        foreach (var (method, path, read, write, admin) in expected)
        {
            foreach (var (key, status) in new[] { ("r", read), ("w", write), ("a", admin) })
            {
                var request = new HttpRequestMessage(new HttpMethod(method), path);
                request.Headers.Add("api-key", key);
                var response = await client.SendAsync(request);
                Assert.True(status == response.StatusCode, $"{method} {path} with {key}: expected {status}, got {response.StatusCode}");
                if (status == HttpStatusCode.Forbidden)
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/open", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/read")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/nowhere")).StatusCode);
        var known = new HttpRequestMessage(HttpMethod.Get, "/nowhere");
        known.Headers.Add("api-key", "r");
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(known)).StatusCode);
    }
}
