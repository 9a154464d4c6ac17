using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using VLink.Server.Api;
using VLink.Server.Hosting;

namespace VLink.Server.Tests;

/// <summary>Where keys come from: configuration, a key file, or a key generated on the first start.</summary>
public sealed class ApiKeyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vlink-keys-test-").FullName;

    public void Dispose() => ServerNode.DeleteFolder(_folder);

    private static ApiKeyRing Load(VLinkServerOptions options, StringWriter console) =>
        ApiKeyRing.Load(options, console, NullLogger.Instance);

    [Fact]
    public void The_first_start_generates_an_admin_key_file_and_prints_it_once()
    {
        var options = new VLinkServerOptions { DataDirectory = Path.Combine(_folder, "data") };
        var first = new StringWriter();
        var ring = Load(options, first);
        string path = Path.Combine(options.DataDirectory, "api-keys.json");
        var stored = ApiKeyRing.ReadFile(path);
        var key = Assert.Single(stored);
        Assert.Equal(VLinkRole.Admin, key.Role);
        Assert.Equal(32, Convert.FromBase64String(key.Key.Replace('-', '+').Replace('_', '/') + "=").Length);
        Assert.Equal($"Generated admin API key (stored in {Path.GetFullPath(path)}): {key.Key}{Environment.NewLine}", first.ToString());
        Assert.Equal(VLinkRole.Admin, ring.Match(key.Key));
        Assert.Null(ring.Match(key.Key[..^1]));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        // The file is in the documented format.
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        Assert.Equal(key.Key, (string?)json[0]!["key"]);
        Assert.Equal("admin", (string?)json[0]!["role"]);

        var second = new StringWriter();
        var again = Load(options, second);
        Assert.Equal("", second.ToString());
        Assert.Equal(VLinkRole.Admin, again.Match(key.Key));
        Assert.Equal(1, again.Count);
    }

    [Fact]
    public void Configured_keys_and_a_key_file_together_and_no_generated_file()
    {
        string file = Path.Combine(_folder, "keys.json");
        File.WriteAllText(file, """[{"key":"file-reader","role":"read"},{"key":"file-admin","role":"admin"}]""");
        var options = new VLinkServerOptions
        {
            DataDirectory = Path.Combine(_folder, "data"),
            ApiKeys = [new ApiKeyOptions { Key = "config-writer", Role = "write" }],
            ApiKeysFile = file,
        };
        var console = new StringWriter();
        var ring = Load(options, console);
        Assert.Equal(VLinkRole.Read, ring.Match("file-reader"));
        Assert.Equal(VLinkRole.Admin, ring.Match("file-admin"));
        Assert.Equal(VLinkRole.Write, ring.Match("config-writer"));
        Assert.Null(ring.Match("File-reader"));
        Assert.Null(ring.Match(""));
        Assert.Equal("", console.ToString());
        Assert.False(File.Exists(Path.Combine(options.DataDirectory, "api-keys.json")));
    }

    [Fact]
    public void Auth_off_accepts_nothing_and_generates_nothing()
    {
        var options = new VLinkServerOptions { DataDirectory = Path.Combine(_folder, "data"), AuthEnabled = false };
        var ring = Load(options, new StringWriter());
        Assert.False(ring.Enabled);
        Assert.False(File.Exists(Path.Combine(options.DataDirectory, "api-keys.json")));
    }

    [Theory]
    [InlineData("[\n  {\"key\": \"a\", \"role\": \"read\"},\n  {\"key\": \"b\" \"role\": \"read\"}\n]", "line 3")]
    [InlineData("{\"key\": \"a\", \"role\": \"read\"}", "expected a JSON array")]
    [InlineData("[{\"key\": \"a\", \"role\": \"reader\"}]", "[0].role")]
    [InlineData("[{\"key\": \"a\", \"role\": \"read\"}, {\"role\": \"read\"}]", "[1].key")]
    [InlineData("[{\"key\": \"\", \"role\": \"read\"}]", "[0].key")]
    [InlineData("[\"a\"]", "[0]")]
    [InlineData("[]", "holds no keys")]
    [InlineData("", "not valid JSON")]
    public void A_bad_key_file_fails_naming_the_file_and_the_problem(string text, string problem)
    {
        string file = Path.Combine(_folder, "bad.json");
        File.WriteAllText(file, text);
        var options = new VLinkServerOptions { DataDirectory = Path.Combine(_folder, "data"), ApiKeysFile = file };
        var e = Assert.Throws<InvalidOperationException>(() => Load(options, new StringWriter()));
        Assert.Contains(file, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_missing_key_file_and_bad_configured_keys_fail()
    {
        string missing = Path.Combine(_folder, "missing.json");
        var e = Assert.Throws<InvalidOperationException>(() => Load(new VLinkServerOptions { ApiKeysFile = missing }, new StringWriter()));
        Assert.Contains(missing, e.Message);
        e = Assert.Throws<InvalidOperationException>(() => Load(new VLinkServerOptions
        {
            ApiKeys = [new ApiKeyOptions { Key = "k", Role = "read" }, new ApiKeyOptions { Key = "k2", Role = "root" }],
        }, new StringWriter()));
        Assert.Contains("VLink:ApiKeys:1:Role", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => Load(new VLinkServerOptions
        {
            ApiKeys = [new ApiKeyOptions { Key = "k", Role = "read" }, new ApiKeyOptions { Key = "k", Role = "admin" }],
        }, new StringWriter()));
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public async Task A_server_with_a_key_file_accepts_its_keys()
    {
        string file = Path.Combine(_folder, "keys.json");
        File.WriteAllText(file, """[{"key":"file-reader","role":"read"},{"key":"file-writer","role":"write"}]""");
        await using var node = await ServerNode.StartAsync(Path.Combine(_folder, "data"), new Dictionary<string, string?> { ["VLink:ApiKeysFile"] = file });
        await Api.CreateCollection(node.ClientWith("file-writer"), "from-file", 2, "Dot", shards: 1);
        await Api.Ok(await node.ClientWith("file-reader").GetAsync("/collections/from-file"));
        await Api.Problem(await node.ClientWith("file-reader").DeleteAsync("/collections/from-file"), HttpStatusCode.Forbidden, "api-key");
        await Api.Problem(await node.ClientWith(null).GetAsync("/collections"), HttpStatusCode.Unauthorized, "api-key");
    }

    [Fact]
    public async Task A_server_without_keys_generates_one_on_its_first_start_and_reuses_it_on_the_next()
    {
        string data = Path.Combine(_folder, "data");
        string key;
        await using (var first = await ServerNode.StartAsync(data, new Dictionary<string, string?>()))
        {
            key = Assert.Single(ApiKeyRing.ReadFile(Path.Combine(data, "api-keys.json"))).Key;
            await Api.CreateCollection(first.ClientWith(key), "generated", 2, "Dot", shards: 1);
            await Api.Problem(await first.ClientWith(null).GetAsync("/collections"), HttpStatusCode.Unauthorized, "api-key");
        }
        await using (var second = await ServerNode.StartAsync(data, new Dictionary<string, string?>()))
        {
            Assert.Equal(key, Assert.Single(ApiKeyRing.ReadFile(Path.Combine(data, "api-keys.json"))).Key);
            await Api.Ok(await second.ClientWith(key).GetAsync("/collections/generated"));
        }
    }

    [Fact]
    public async Task A_server_with_auth_off_needs_no_key()
    {
        string data = Path.Combine(_folder, "data");
        await using var node = await ServerNode.StartAsync(data, new Dictionary<string, string?> { ["VLink:AuthEnabled"] = "false" });
        var anyone = node.ClientWith(null);
        await Api.CreateCollection(anyone, "open", 2, "Dot", shards: 1);
        await Api.Ok(await anyone.DeleteAsync("/collections/open"));
        await Api.Ok(await node.ClientWith("whatever").GetAsync("/collections"));
        Assert.False(File.Exists(Path.Combine(data, "api-keys.json")));
    }

    [Fact]
    public void A_server_with_a_bad_key_file_does_not_start()
    {
        string file = Path.Combine(_folder, "broken.json");
        File.WriteAllText(file, "[\n{\"key\": \"a\", \"role\": \"superuser\"}\n]");
        using var factory = ServerNode.Factory(Path.Combine(_folder, "data"), new Dictionary<string, string?> { ["VLink:ApiKeysFile"] = file });
        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        var message = string.Join(" | ", Chain(e).Select(x => x.Message));
        Assert.Contains(file, message);
        Assert.Contains("[0].role", message);
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }
}
