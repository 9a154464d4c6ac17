using Akka.Actor;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Tests;

/// <summary>Dropping a collection and creating it again under the same name must not bring its old points back.</summary>
public sealed class CollectionGenerationTests
{
    private const int Dimension = 8;
    private const int Partitions = 4;

    [Fact]
    public async Task Recreated_collection_answers_only_its_new_points()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var node = cluster.Node(0);
        var spec = ClusterData.HashSpec("gen", Dimension, Partitions, flatThreshold: 1000);
        var old = ClusterData.Clustered(200, Dimension, 4, seed: 21);
        var fresh = ClusterData.Clustered(50, Dimension, 4, seed: 22);
        var query = old[0];

        await node.ChangeCatalogAsync(new CreateCollection(spec));
        await node.UpsertAsync("gen", ClusterData.Points(old));
        // The old partitions are awake and registered with their node agents when the collection is dropped.
        var before = await node.Gather.SearchAsync("gen", query, 5, exact: true);
        Assert.Equal(0UL, before.Hits[0].Id.Number);
        var firstGeneration = (await node.CatalogAsync()).Find("gen")!.Generation;

        await node.ChangeCatalogAsync(new DropCollection("gen"));
        await node.ChangeCatalogAsync(new CreateCollection(spec));
        await cluster.Node(1).UpsertAsync("gen", ClusterData.Points(fresh, firstId: 1000));

        var entry = (await node.CatalogAsync()).Find("gen")!;
        Assert.True(entry.Generation > firstGeneration, $"generation {entry.Generation} after {firstGeneration}");
        var truth = ClusterData.Truth(fresh, firstId: 1000).Search(query, 10);
        foreach (var asker in cluster.Running)
        {
            var result = await asker.Gather.SearchAsync("gen", query, 10, exact: true);
            Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
            Assert.Equal(truth.Select(h => h.Id), result.Hits.Select(h => h.Id));

            var batch = await asker.Gather.SearchBatchAsync("gen", [query, fresh[3]], 10, exact: true);
            Assert.All(batch, r => Assert.True(r.Complete));
            Assert.Equal(truth.Select(h => h.Id), batch[0].Hits.Select(h => h.Id));
            Assert.All(batch.SelectMany(r => r.Hits), h => Assert.InRange(h.Id.Number, 1000UL, 1049UL));
        }
    }

    [Fact]
    public async Task Recreated_collection_with_another_dimension_starts_empty_and_does_not_read_old_partitions()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var node = cluster.Node(1);
        var old = ClusterData.Clustered(100, Dimension, 2, seed: 31);
        await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("gen", Dimension, Partitions, flatThreshold: 1000)));
        await node.UpsertAsync("gen", ClusterData.Points(old));
        Assert.NotEmpty((await node.Gather.SearchAsync("gen", old[0], 5, exact: true)).Hits);

        await node.ChangeCatalogAsync(new DropCollection("gen"));
        await node.ChangeCatalogAsync(new CreateCollection(ClusterData.HashSpec("gen", 5, Partitions, flatThreshold: 1000)));
        var entry = (await node.CatalogAsync()).Find("gen")!;

        // No new points: a complete, empty answer, from both nodes and in a batch.
        float[] query = [1f, 0f, 0f, 0f, 0f];
        foreach (var asker in cluster.Running)
        {
            var result = await asker.Gather.SearchAsync("gen", query, 5, exact: true);
            Assert.True(result.Complete, $"missing {string.Join(",", result.MissingPartitions)}");
            Assert.Empty(result.Hits);
            var batch = await asker.Gather.SearchBatchAsync("gen", [query], 5, exact: true);
            Assert.True(batch[0].Complete);
            Assert.Empty(batch[0].Hits);
        }

        // The new partitions have journals of their own: nothing of the old 8-d data was replayed into them.
        foreach (var partition in entry.Partitions())
        {
            var stats = await node.Partitions.Ask<PartitionStats>(new GetPartitionStats(partition), TimeSpan.FromSeconds(5));
            Assert.Equal(0, stats.Points);
            Assert.Equal(0, stats.SequenceNr);
        }

        // And they take 5-d points (an old 8-d partition would refuse them).
        var fresh = ClusterData.Clustered(20, 5, 2, seed: 32);
        Assert.Equal(20, (await node.UpsertAsync("gen", ClusterData.Points(fresh, firstId: 500))).Applied);
        var after = await cluster.Node(0).Gather.SearchAsync("gen", fresh[0], 20, exact: true);
        Assert.True(after.Complete);
        Assert.Equal(Enumerable.Range(500, 20).Select(i => (ulong)i).Order(), after.Hits.Select(h => h.Id.Number).Order());
    }
}
