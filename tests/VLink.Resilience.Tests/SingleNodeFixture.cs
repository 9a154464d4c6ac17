// Every scenario runs real processes and some measure time: one at a time, never beside another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace VLink.Resilience.Tests;

/// <summary>
/// One real <c>vlink node</c> on SQLite with a 1 MiB body cap (so oversized bodies are cheap to send), and a
/// collection <c>target</c> of 4-d points with payloads that bad requests must leave exactly as it is.
/// </summary>
public sealed class SingleNodeFixture : IAsyncLifetime
{
    public const string Target = "target";
    public const int Dimension = 4;
    public const int Points = 60;
    public const long MaxBodyBytes = 1 << 20;

    public LocalCluster Cluster { get; private set; } = null!;

    public string Url => Cluster.Url(0);

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.StartAsync(1, environment: new Dictionary<string, string?> { ["VLink__MaxBodyBytes"] = $"{MaxBodyBytes}" });
        await Rest.CreateCollectionAsync(Cluster.Admin, Url, Target, Dimension, partitions: 3);
        var points = new System.Text.Json.Nodes.JsonArray();
        for (int id = 1; id <= Points; id++)
            points.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["id"] = id,
                ["vector"] = Rest.Array(Rest.VectorOf(id, Dimension)),
                ["payload"] = new System.Text.Json.Nodes.JsonObject { ["n"] = id, ["city"] = id % 2 == 0 ? "Berlin" : "Lisbon" },
            });
        await Rest.AcknowledgedAsync(() => Cluster.Admin.PutAsync($"{Url}/collections/{Target}/points", Rest.Json(new System.Text.Json.Nodes.JsonObject { ["points"] = points })), Cluster.Logs);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SingleNodeCollection : ICollectionFixture<SingleNodeFixture>
{
    public const string Name = "one vlink node on SQLite";
}
