using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using VLink.Server.Api;
using VLink.Server.Hosting;

namespace VLink.Server.Tests;

/// <summary>Request body caps.</summary>
[Collection(ServerCollection.Name)]
public sealed class LimitTests(ServerFixture server)
{
    [Fact]
    public async Task A_body_over_the_default_cap_is_413_before_it_is_read()
    {
        var content = new ByteArrayContent(new byte[BodyLimit.DefaultMaxBodyBytes + 1]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await server.Client.PutAsync("/collections/too-big/points", content);
        var problem = await Api.Problem(response, HttpStatusCode.RequestEntityTooLarge, "body");
        Assert.Contains("67108864", (string?)problem["detail"]);
    }

    [Fact]
    public async Task The_cap_holds_for_bodies_of_unknown_length_and_a_route_may_lift_it()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.Configure<VLinkServerOptions>(o => o.MaxBodyBytes = 1000);
        await using var app = builder.Build();
        app.UseVLinkProblems();
        app.UseVLinkBodyLimit();
        app.MapPost("/capped", Drain);
        app.MapPost("/uncapped", Drain).WithMetadata(new DisableRequestSizeLimitAttribute());
        app.MapPost("/small", Drain).WithMetadata(new RequestSizeLimitAttribute(10));
        await app.StartAsync();
        var client = app.GetTestClient();

        Assert.Equal("1000", await (await client.PostAsync("/capped", Sized(1000))).Content.ReadAsStringAsync());
        Assert.Equal("1000", await (await client.PostAsync("/capped", Streamed(1000))).Content.ReadAsStringAsync());
        await Api.Problem(await client.PostAsync("/capped", Sized(1001)), HttpStatusCode.RequestEntityTooLarge, "body");
        await Api.Problem(await client.PostAsync("/capped", Streamed(5000)), HttpStatusCode.RequestEntityTooLarge, "body");
        Assert.Equal("200000", await (await client.PostAsync("/uncapped", Streamed(200_000))).Content.ReadAsStringAsync());
        Assert.Equal("200000", await (await client.PostAsync("/uncapped", Sized(200_000))).Content.ReadAsStringAsync());
        await Api.Problem(await client.PostAsync("/small", Sized(11)), HttpStatusCode.RequestEntityTooLarge, "body");
    }

    private static async Task<string> Drain(HttpRequest request)
    {
        var buffer = new byte[4096];
        long total = 0;
        int n;
        while ((n = await request.Body.ReadAsync(buffer)) > 0) total += n;
        return total.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ByteArrayContent Sized(int length) => new(new byte[length]);

    /// <summary>A body without Content-Length (sent chunked).</summary>
    private static StreamContent Streamed(int length) => new(new UnseekableStream(new MemoryStream(new byte[length])));

    private sealed class UnseekableStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
