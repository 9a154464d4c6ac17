using System.Text;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Tests;

/// <summary>
/// Scroll, count, delete by filter and payload changes through a real cluster; what they wrote survives a restart
/// of the whole cluster, recovered from the journal alone or from snapshots plus the journal's tail.
/// </summary>
public sealed class DataOperationTests
{
    private const int Count = 120;

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [InlineData(100_000, "journal")]
    [InlineData(2, "snapshots")]
    public async Task Data_operations_across_partitions_survive_a_restart(int snapshotEvery, string recoveredFrom)
    {
        Assert.NotEmpty(recoveredFrom);
        string data = Directory.CreateTempSubdirectory("vlink-data-ops-").FullName;
        string hocon = $"vlink.snapshot-every = {snapshotEvery}";
        try
        {
            List<(PointId Id, string? Payload, string? Document)> expected;
            await using (var cluster = await TestCluster.StartAsync(2, data, hocon))
            {
                var node = cluster.Node(0);
                await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("ops", 3, 5, flatThreshold: 50)));
                var points = Enumerable.Range(0, Count).Select(i => new PointWrite(
                    i % 5 == 4 ? $"id-{i:D3}" : (ulong)i,
                    [i, 1f, -1f],
                    Json($$"""{"n":{{i}},"group":"g{{i % 3}}"}"""),
                    i % 7 == 0 ? $"doc {i}" : null)).ToList();
                for (int b = 0; b < Count; b += 10)
                    await cluster.Node(b / 10 % 2).UpsertAsync("ops", points.Skip(b).Take(10).ToList());

                Assert.Equal(Count, await node.CountAsync("ops", null));
                Assert.Equal(40, await node.CountAsync("ops", Json("""{"must":[{"key":"group","match":{"value":"g1"}}]}""")));

                // Delete by filter: n < 10 (ten points, spread over partitions).
                Assert.Equal(10, (await node.DeleteByFilterAsync("ops", Json("""{"must":[{"key":"n","range":{"lt":10}}]}"""))).Applied);
                Assert.Equal(Count - 10, await cluster.Node(1).CountAsync("ops", null));

                // Payload changes by filter and by ids.
                Assert.Equal(37, (await node.ChangePayloadAsync("ops", PayloadChangeKind.Set, Json("""{"flag":true}"""), [],
                    null, Json("""{"must":[{"key":"group","match":{"value":"g2"}}]}"""))).Applied);
                Assert.Equal(2, (await node.ChangePayloadAsync("ops", PayloadChangeKind.DeleteKeys, null, ["group"], [20UL, "id-024", 3UL], null)).Applied);
                Assert.Equal(1, (await node.ChangePayloadAsync("ops", PayloadChangeKind.Overwrite, Json("""{"only":"this"}"""), [], [21UL], null)).Applied);
                Assert.Equal(2, (await node.ChangePayloadAsync("ops", PayloadChangeKind.Clear, null, [], [22UL, "id-029"], null)).Applied);
                // id-029 was in g2 and lost its flag with its payload.
                Assert.Equal(36, await node.CountAsync("ops", Json("""{"must":[{"key":"flag","match":{"value":true}}]}""")));

                expected = await ScrollAll(node, pageSize: 7);
                Assert.Equal(Count - 10, expected.Count);
                Assert.Equal(expected.Select(p => p.Id).Order(), expected.Select(p => p.Id));
                Assert.DoesNotContain(expected, p => p.Id == (PointId)3UL);
                Assert.Contains(expected, p => p.Id == (PointId)20UL && p.Payload == "{\"n\":20,\"flag\":true}");
                Assert.Contains(expected, p => p.Id == (PointId)21UL && p.Payload == "{\"only\":\"this\"}");
                Assert.Contains(expected, p => p.Id == (PointId)"id-029" && p.Payload is null);
                Assert.Contains(expected, p => p.Id == (PointId)35UL && p.Document == "doc 35");
                Assert.Contains(expected, p => p.Id == (PointId)17UL && p.Payload == "{\"n\":17,\"group\":\"g2\",\"flag\":true}");

                // A filtered scroll from an offset, with vectors.
                var page = await node.ScrollAsync("ops", Json("""{"must":[{"key":"group","match":{"value":"g0"}}]}"""), 50UL, 3, withVector: true);
                Assert.Equal([(PointId)51UL, 57UL, 60UL], page.Points.Select(p => p.Id));
                Assert.Equal((PointId)63UL, page.NextOffset);
                Assert.Equal([51f, 1f, -1f], page.Points[0].Vector!);
            }

            // The whole cluster restarts on the same journal: every change is still there, in the same order.
            await using (var restarted = await TestCluster.StartAsync(2, data, hocon))
            {
                var node = restarted.Node(1);
                var after = await Eventually.Async(() => ScrollAll(node, pageSize: 50), r => r.Count == expected.Count, TimeSpan.FromSeconds(30));
                Assert.Equal(expected, after);
                Assert.Equal(36, await node.CountAsync("ops", Json("""{"must":[{"key":"flag","match":{"value":true}}]}""")));
                if (snapshotEvery < 10)
                {
                    var entry = (await node.CatalogAsync()).Find("ops")!;
                    foreach (var partition in entry.Partitions())
                    {
                        var stats = await Akka.Actor.Futures.Ask<PartitionStats>(node.Partitions, new GetPartitionStats(partition), TimeSpan.FromSeconds(5));
                        Assert.True(stats.SequenceNr >= 2, $"{partition} holds only {stats.SequenceNr} entries: no snapshot was taken");
                    }
                }
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_scroll_of_an_unknown_collection_or_with_a_bad_limit_is_refused()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        await Assert.ThrowsAsync<Gather.UnknownCollectionException>(() => node.ScrollAsync("none", null, null, 10, false));
        await Assert.ThrowsAsync<Gather.UnknownCollectionException>(() => node.CountAsync("none", null));
        await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("empty", 2, 3, flatThreshold: 10)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => node.ScrollAsync("empty", null, null, 0, false));
        var page = await node.ScrollAsync("empty", null, null, 10, false);
        Assert.Empty(page.Points);
        Assert.Null(page.NextOffset);
        Assert.Equal(0, await node.CountAsync("empty", null));
        Assert.Equal(0, (await node.DeleteByFilterAsync("empty", Json("""{"must":[{"key":"a","match":{"value":1}}]}"""))).Applied);
    }

    private static async Task<List<(PointId Id, string? Payload, string? Document)>> ScrollAll(Hosting.VLinkNode node, int pageSize)
    {
        var all = new List<(PointId, string?, string?)>();
        PointId? from = null;
        do
        {
            var page = await node.ScrollAsync("ops", null, from, pageSize, withVector: false);
            Assert.InRange(page.Points.Count, 0, pageSize);
            all.AddRange(page.Points.Select(p => (p.Id, p.Payload is null ? null : Encoding.UTF8.GetString(p.Payload), p.Document)));
            from = page.NextOffset;
        }
        while (from is not null);
        return all;
    }
}
