using System.Net;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;

namespace VLink.Server.Tests;

/// <summary>
/// What a client and an operator see of a partition that lost history (its rows deleted from the node's SQLite file
/// between two runs): searches and counts name it in <c>missing_partitions</c> (a count with <c>require_complete=true</c> and writes that need it are 503 naming it),
/// <c>/cluster/shards</c> shows <c>history_lost</c>, and the collection's <c>points_count</c> is unknown.
/// </summary>
public sealed class HistoryLossApiTests : IAsyncDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("vlink-history-api-").FullName;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["VLink:AuthEnabled"] = "false",
        ["VLink:ExtraHocon"] = "akka.loglevel = WARNING\nvlink.gather.timeout = 5s\nvlink.watermark.report-interval = 200ms",
    };

    public ValueTask DisposeAsync()
    {
        ServerNode.DeleteFolder(_data);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_partition_that_lost_history_is_named_by_search_count_write_and_cluster_shards()
    {
        string victim;
        await using (var first = await ServerNode.StartAsync(_data, Settings))
        {
            var client = first.ClientWith(null);
            await DataApi.Seed(client, "kept", 40);
            var node = first.Services.GetRequiredService<VLinkNode>();
            var entry = (await node.CatalogAsync()).Find("kept")!;
            var p0 = entry.Partition("p0");
            victim = p0.EntityId;
            var stats = await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(p0), TimeSpan.FromSeconds(5));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while ((await node.Catalog.Ask<PartitionWatermark>(new GetWatermark(p0), TimeSpan.FromSeconds(5))).SequenceNr < stats.SequenceNr)
            {
                Assert.True(DateTime.UtcNow < deadline, "the catalog never confirmed the watermark");
                await Task.Delay(100);
            }
        }

        await using (var db = new SqliteConnection($"Data Source={Path.Combine(_data, "vlink.db")};Pooling=False"))
        {
            await db.OpenAsync();
            // Akka.Persistence.Sql's tables for the node's file: the journal and the snapshots.
            foreach (string table in new[] { "journal", "snapshot" })
            {
                await using var delete = db.CreateCommand();
                delete.CommandText = $"DELETE FROM {table} WHERE persistence_id = $id";
                delete.Parameters.AddWithValue("$id", "partition-" + victim);
                await delete.ExecuteNonQueryAsync();
            }
        }

        await using var second = await ServerNode.StartAsync(_data, Settings);
        var http = second.ClientWith(null);
        // The first searches after a start may also miss partitions still starting; the victim stays missing for good.
        JsonObject search;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do search = await DataApi.Ok(http, "/collections/kept/points/search", """{"vector":[1,0],"limit":5}""");
        while (search["missing_partitions"]!.AsArray().Count != 1 && DateTime.UtcNow < until);
        Assert.False((bool)search["complete"]!);
        Assert.Equal([victim], search["missing_partitions"]!.AsArray().Select(p => (string)p!));
        Assert.NotEmpty(search["result"]!.AsArray());

        // A count counts the partitions that answer and names the victim; one that must be complete is a 503 naming it.
        var partial = await DataApi.Ok(http, "/collections/kept/points/count", """{"exact":true}""");
        Assert.False((bool)partial["complete"]!);
        Assert.Equal([victim], partial["missing_partitions"]!.AsArray().Select(p => (string)p!));
        Assert.InRange((long)partial["result"]!["count"]!, 1, 39);
        var count = await Api.Send(http, HttpMethod.Post, "/collections/kept/points/count?require_complete=true", """{"exact":true}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, count.StatusCode);
        var problem = JsonNode.Parse(await count.Content.ReadAsStringAsync())!;
        Assert.Equal([victim], problem["missing_partitions"]!.AsArray().Select(p => (string)p!));

        // A point of p0 (ids 1..40 spread over 4 partitions: find one the victim held by writing each alone).
        var refused = 0;
        for (int id = 1; id <= 40; id++)
        {
            var write = await Api.Send(http, HttpMethod.Put, "/collections/kept/points", $$"""{"points":[{"id":{{id}},"vector":[{{id}},0]}]}""");
            if (write.StatusCode == HttpStatusCode.OK) continue;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, write.StatusCode);
            Assert.Contains("lost history", await write.Content.ReadAsStringAsync());
            refused++;
        }
        Assert.InRange(refused, 1, 39);

        var shards = await Api.Ok(await Api.Send(http, HttpMethod.Get, "/cluster/shards"));
        var partitions = shards["result"]!["nodes"]!.AsArray().SelectMany(n => n!["partitions"]!.AsArray()).ToList();
        Assert.True((bool)partitions.Single(p => (string)p!["entity_id"]! == victim)!["history_lost"]!);
        Assert.All(partitions.Where(p => (string)p!["entity_id"]! != victim), p => Assert.False((bool)p!["history_lost"]!));
        var info = await Api.Ok(await Api.Send(http, HttpMethod.Get, "/collections/kept"));
        Assert.Null(info["result"]!["points_count"]);
    }
}
