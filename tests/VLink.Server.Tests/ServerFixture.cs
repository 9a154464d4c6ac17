using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace VLink.Server.Tests;

/// <summary>
/// One server (one cluster node on a free loopback port, SQLite in a temporary folder) shared by every test of
/// the collection, with one API key of each role; <see cref="Client"/> sends the admin key.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ReadKey = "test-read-key-5b1f0c";
    public const string WriteKey = "test-write-key-93d2aa";
    public const string AdminKey = "test-admin-key-e07c41";

    private readonly string _data = Directory.CreateTempSubdirectory("vlink-server-test-").FullName;
    private ServerNode? _node;

    /// <summary>VLink's log entries of the shared server.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>A client sending the admin key.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>A new client sending <paramref name="key"/> in the api-key header (or no key when null).</summary>
    public HttpClient ClientWith(string? key) => _node!.ClientWith(key);

    public async Task InitializeAsync()
    {
        _node = await ServerNode.StartAsync(_data, new Dictionary<string, string?>
        {
            ["VLink:ApiKeys:0:Key"] = ReadKey,
            ["VLink:ApiKeys:0:Role"] = "read",
            ["VLink:ApiKeys:1:Key"] = WriteKey,
            ["VLink:ApiKeys:1:Role"] = "write",
            ["VLink:ApiKeys:2:Key"] = AdminKey,
            ["VLink:ApiKeys:2:Role"] = "admin",
        }, Logs);
        Client = ClientWith(AdminKey);
    }

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
        ServerNode.DeleteFolder(_data);
    }
}

/// <summary>
/// A server started for a test: one cluster node on a free loopback port with its data in a given folder and the
/// given settings; started once /readyz answers 200.
/// </summary>
public sealed class ServerNode : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly List<HttpClient> _clients = [];

    private ServerNode(WebApplicationFactory<Program> factory) => _factory = factory;

    /// <summary>Builds the application (running its entry point) without waiting for readiness.</summary>
    public static WebApplicationFactory<Program> Factory(string dataDirectory, IReadOnlyDictionary<string, string?> settings, ILoggerProvider? logs = null) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            if (logs is not null) b.ConfigureLogging(l => l.AddProvider(logs));
            b.UseSetting("VLink:DataDirectory", dataDirectory)
                .UseSetting("VLink:Host", "127.0.0.1")
                .UseSetting("VLink:AkkaPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture))
                .UseSetting("VLink:ExtraHocon", "akka.loglevel = WARNING\nvlink.gather.timeout = 5s");
            foreach (var (key, value) in settings) b.UseSetting(key, value);
        });

    /// <summary>The application's services (the <see cref="VLink.Cluster.Hosting.VLinkNode"/> among them).</summary>
    public IServiceProvider Services => _factory.Services;

    public static async Task<ServerNode> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string?> settings, ILoggerProvider? logs = null)
    {
        var node = new ServerNode(Factory(dataDirectory, settings, logs));
        var client = node.ClientWith(null);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var response = await client.GetAsync("/readyz");
            if (response.StatusCode == HttpStatusCode.OK) return node;
            if (DateTime.UtcNow > deadline)
            {
                await node.DisposeAsync();
                throw new TimeoutException("The server did not become ready: " + await response.Content.ReadAsStringAsync());
            }
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// A new client sending <paramref name="key"/> in the api-key header (or no key when null). A client that follows
    /// redirects buffers request bodies (to send them again); <paramref name="followRedirects"/> false streams them.
    /// </summary>
    public HttpClient ClientWith(string? key, bool followRedirects = true)
    {
        var client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = followRedirects });
        if (key is not null) client.DefaultRequestHeaders.Add("api-key", key);
        lock (_clients) _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_clients)
        {
            foreach (var client in _clients) client.Dispose();
            _clients.Clear();
        }
        await _factory.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public static void DeleteFolder(string path)
    {
        try { Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
