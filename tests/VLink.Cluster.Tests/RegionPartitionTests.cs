using Akka.Actor;
using System.Text;
using VLink.Cluster.Catalog;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>
/// Region-partitioned collections: points wait in a staging partition until k-means has enough of them, then live in the
/// region of their nearest centroid, and a search visits only the regions nearest its query.
/// </summary>
public sealed class RegionPartitionTests
{
    private const int Dim = 8;
    private const int Regions = 4;

    private static CollectionSpec Spec(string name, int trainSize = 400, int probes = 2) => new(
        name, Dim, DistanceMetric.Euclidean, PartitionScheme.Region, Regions,
        new HnswOptions { M = 12, EfConstruction = 100, EfSearch = 64 }, FlatThreshold: 100, Regions: new RegionSpec(trainSize, probes));

    private static CatalogState Commit(CatalogState state, ICatalogCommand command) => CatalogStateTests.Commit(state, command);

    [Fact]
    public void The_catalog_fixes_centroids_once_and_then_switches_searches_from_staging_to_regions()
    {
        var state = Commit(CatalogState.Empty, new CreateCollection(Spec("r")));
        var entry = state.Collections["r"];
        Assert.Equal(RegionPhase.Staging, entry.Phase);
        Assert.Equal(["r@1/s"], entry.Partitions().Select(p => p.EntityId));

        float[][] centroids = [.. Enumerable.Range(0, Regions).Select(i => Enumerable.Repeat((float)i, Dim).ToArray())];
        Assert.Contains("not trained", state.Decide(new FinishRegions("r", 1)).Error);
        Assert.Contains("needs 4", state.Decide(new BeginRegions("r", 1, centroids[..3])).Error);
        Assert.Contains("finite", state.Decide(new BeginRegions("r", 1, [.. centroids[..3], [float.NaN, 0, 0, 0, 0, 0, 0, 0]])).Error);
        Assert.Contains("does not exist", state.Decide(new BeginRegions("r", 2, centroids)).Error);

        state = Commit(state, new BeginRegions("r", 1, centroids));
        entry = state.Collections["r"];
        Assert.Equal(RegionPhase.Moving, entry.Phase);
        Assert.Equal(["r@1/s"], entry.Partitions().Select(p => p.EntityId)); // searches stay on staging while it moves
        Assert.Equal((null, null), state.Decide(new BeginRegions("r", 1, centroids))); // a retry is acknowledged
        float[][] other = [.. centroids.Select(c => c.Select(x => x + 1).ToArray())];
        Assert.Contains("already trained", state.Decide(new BeginRegions("r", 1, other)).Error);

        state = Commit(state, new FinishRegions("r", 1));
        entry = state.Collections["r"];
        Assert.Equal(RegionPhase.Active, entry.Phase);
        Assert.Equal(["r@1/r0", "r@1/r1", "r@1/r2", "r@1/r3"], entry.Partitions().Select(p => p.EntityId));
        Assert.Equal((null, null), state.Decide(new FinishRegions("r", 1)));
        Assert.Equal(2, entry.Router().RegionOf(Enumerable.Repeat(2.2f, Dim).ToArray()));

        var hash = Commit(state, new CreateCollection(ClusterData.HashSpec("h", Dim, 2, 10)));
        Assert.Contains("not partitioned by region", hash.Decide(new BeginRegions("h", hash.Collections["h"].Generation, centroids)).Error);
    }

    [Theory]
    [InlineData(3, 5, "training size")]
    [InlineData(400, 5, "probes")]
    [InlineData(400, 0, "probes")]
    public void Region_settings_out_of_range_are_refused(int trainSize, int probes, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => Spec("r", trainSize, probes).Validate());
        Assert.Contains(named, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<ArgumentException>(() => (Spec("r") with { Regions = null }).Validate());
        Assert.Throws<ArgumentException>(() => (ClusterData.HashSpec("h", Dim, 2, 10) with { Regions = new RegionSpec() }).Validate());
    }

    [Fact]
    public async Task Points_move_to_their_regions_once_trained_and_probed_searches_visit_only_the_nearest_regions()
    {
        var data = ClusterData.Clustered(1_200, Dim, 12, seed: 31);
        var queries = ClusterData.Clustered(40, Dim, 12, seed: 31 + 1);
        string folder = Directory.CreateTempSubdirectory("vlink-regions-").FullName;
        try
        {
            List<SearchHit>[] before;
            await using (var cluster = await TestCluster.StartAsync(2, folder))
            {
                var node = cluster.Node(0);
                await node.ChangeCatalogAsync(new CreateCollection(Spec("reg")));
                var points = ClusterData.Points(data);

                // Below the training size every point waits in the staging partition, and searches read it alone.
                for (int b = 0; b < 300; b += 100) await cluster.Node(b / 100 % 2).UpsertAsync("reg", points[b..(b + 100)]);
                var entry = (await node.CatalogAsync()).Find("reg")!;
                Assert.Equal(RegionPhase.Staging, entry.Phase);
                Assert.Equal(300, await node.CountAsync("reg", null));
                var staged = await node.Gather.SearchAsync("reg", queries[0], 10, exact: true);
                Assert.True(staged.Complete);
                Assert.Equal(ClusterData.Truth(data[..300]).Search(queries[0], 10), staged.Hits);

                // The write that fills the training size trains the regions and moves the points before it returns.
                await cluster.Node(1).UpsertAsync("reg", points[300..500]);
                entry = (await node.CatalogAsync()).Find("reg")!;
                Assert.Equal(RegionPhase.Active, entry.Phase);
                Assert.Equal(Regions, entry.Centroids.Count);
                var sealedReply = await node.Partitions.Ask<IVLinkMessage>(
                    new UpsertPoints(entry.Partition(CollectionEntry.StagingKey), entry.Spec, points[600..601]), TimeSpan.FromSeconds(10));
                Assert.IsType<WriteSealed>(sealedReply);
                for (int b = 500; b < data.Length; b += 100) await cluster.Node(b / 100 % 2).UpsertAsync("reg", points[b..(b + 100)]);

                // Each point is in exactly one region, the one of its nearest centroid.
                var router = entry.Router();
                for (int r = 0; r < Regions; r++)
                {
                    var held = await node.Partitions.Ask<PointsFound>(new ScrollPartition(entry.Region(r), null, null, 10_000, false, true), TimeSpan.FromSeconds(10));
                    Assert.All(held.Points, p => Assert.Equal(r, router.RegionOf(p.Vector!)));
                }
                Assert.Equal(data.Length, await node.CountAsync("reg", null));
                var scrolled = await node.ScrollAsync("reg", null, null, 5_000, withVector: false);
                Assert.Equal(data.Length, scrolled.Points.Select(p => p.Id).Distinct().Count());

                // Exact with every region: the brute-force answer. Probed: complete, reaching only the probed regions, most of the truth.
                var truth = ClusterData.Truth(data);
                double recall = 0, fullRecall = 0;
                foreach (var q in queries)
                {
                    var exact = await node.Gather.SearchAsync("reg", q, 10, exact: true);
                    Assert.Equal(truth.Search(q, 10), exact.Hits);
                    var probed = await cluster.Node(1).Gather.SearchAsync("reg", q, 10);
                    Assert.True(probed.Complete);
                    var reached = probed.Trace.Nodes.SelectMany(n => n.Partitions).Where(p => p.Candidates > 0).Select(p => p.Partition).ToHashSet();
                    var nearest = router.Nearest(q, 2).Select(i => entry.Region(i).EntityId).ToHashSet();
                    Assert.Subset(nearest, reached);
                    recall += ClusterData.Recall(probed.Hits, truth.Search(q, 10));
                    fullRecall += ClusterData.Recall((await node.Gather.SearchAsync("reg", q, 10, probes: Regions)).Hits, truth.Search(q, 10));
                }
                // 12 overlapping clusters in 4 regions: two probes find most of the truth (0.87 with these seeds), all four nearly all.
                Assert.True(recall / queries.Length >= 0.8, $"recall@10 with 2 of 4 regions: {recall / queries.Length:F3}");
                Assert.True(fullRecall / queries.Length >= 0.95 && fullRecall > recall, $"every region: {fullRecall / queries.Length:F3}, two: {recall / queries.Length:F3}");

                // A point whose new vector falls in another region leaves its old one.
                int moved = Enumerable.Range(0, data.Length).First(i => router.RegionOf(data[i]) != router.RegionOf(data[0]));
                await node.UpsertAsync("reg", [new PointWrite(0UL, data[moved], Encoding.UTF8.GetBytes("""{"moved":true}"""))]);
                Assert.Equal(data.Length, await node.CountAsync("reg", null));
                var found = await node.Gather.SearchAsync("reg", data[moved], 2, exact: true);
                Assert.Equal(new HashSet<PointId> { 0UL, (ulong)moved }, found.Hits.Select(h => h.Id).ToHashSet());

                // Deletes by id reach whichever region holds the point.
                Assert.Equal(2, (await cluster.Node(1).DeleteAsync("reg", [1UL, 2UL, "absent"])).Applied);
                Assert.Equal(data.Length - 2, await node.CountAsync("reg", null));
                Assert.Equal(1, (await node.ChangePayloadAsync("reg", PayloadChangeKind.Set, Encoding.UTF8.GetBytes("""{"x":1}"""), [], [3UL, 1UL], null)).Applied);

                before = [.. await Task.WhenAll(queries.Select(async q => (await node.Gather.SearchAsync("reg", q, 10)).Hits.ToList()))];
            }

            // The regions, the centroids and the sealed staging partition survive a restart of the whole cluster.
            await using (var restarted = await TestCluster.StartAsync(2, folder))
            {
                var node = restarted.Node(1);
                var entry = (await node.CatalogAsync()).Find("reg")!;
                Assert.Equal(RegionPhase.Active, entry.Phase);
                Assert.Equal(data.Length - 2, await Eventually.Async(() => node.CountAsync("reg", null), c => c == data.Length - 2, TimeSpan.FromSeconds(30)));
                for (int i = 0; i < queries.Length; i++)
                    Assert.Equal(before[i], (await node.Gather.SearchAsync("reg", queries[i], 10)).Hits);
                var sealedReply = await node.Partitions.Ask<IVLinkMessage>(new DeletePoints(entry.Partition(CollectionEntry.StagingKey), [5UL]), TimeSpan.FromSeconds(10));
                Assert.IsType<WriteSealed>(sealedReply);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // SQLite may hold the file a moment longer; the folder is in the system's temp area.
            }
        }
    }

    [Fact]
    public async Task A_write_that_meets_a_sealed_staging_partition_finishes_the_move_and_lands_in_its_region()
    {
        var data = ClusterData.Clustered(300, Dim, 6, seed: 5);
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Node(0);
        await node.ChangeCatalogAsync(new CreateCollection(Spec("half", trainSize: 200)));
        await node.UpsertAsync("half", ClusterData.Points(data[..150]));
        var entry = (await node.CatalogAsync()).Find("half")!;

        // A move begun elsewhere and interrupted: centroids fixed and staging sealed, no point copied yet.
        var router = RegionRouter.Train(data[..150], Regions, DistanceMetric.Euclidean);
        await node.ChangeCatalogAsync(new BeginRegions("half", entry.Generation, router.Centroids));
        await node.Partitions.Ask<WriteAck>(new SealPartition(entry.Partition(CollectionEntry.StagingKey)), TimeSpan.FromSeconds(10));

        Assert.Equal(150, (await node.UpsertAsync("half", ClusterData.Points(data[150..], firstId: 150))).Applied);
        entry = (await node.CatalogAsync()).Find("half")!;
        Assert.Equal(RegionPhase.Active, entry.Phase);
        Assert.Equal(300, await node.CountAsync("half", null));
        var truth = ClusterData.Truth(data);
        Assert.Equal(truth.Search(data[7], 5), (await node.Gather.SearchAsync("half", data[7], 5, exact: true)).Hits);
    }
}
