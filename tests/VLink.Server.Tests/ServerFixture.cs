using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace VLink.Server.Tests;

/// <summary>
/// One server (one cluster node on a free loopback port, SQLite in a temporary folder) shared by every test of
/// the collection; waits until /readyz answers 200.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("vlink-server-test-").FullName;
    private WebApplicationFactory<Program>? _factory;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        int akkaPort = FreePort();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b => b
            .UseSetting("VLink:DataDirectory", _data)
            .UseSetting("VLink:Host", "127.0.0.1")
            .UseSetting("VLink:AkkaPort", akkaPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("VLink:ExtraHocon", "akka.loglevel = WARNING\nvlink.gather.timeout = 5s"));
        Client = _factory.CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var response = await Client.GetAsync("/readyz");
            if (response.StatusCode == HttpStatusCode.OK) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The server did not become ready: " + await response.Content.ReadAsStringAsync());
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_factory is not null) await _factory.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
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
