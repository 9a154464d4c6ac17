using System.Text;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>The data operations of a partition's state beyond upsert and search: documents, scroll, count, payload changes.</summary>
public sealed class PartitionDataTests
{
    private static CollectionSpec Spec(int flatThreshold = CollectionSpec.DefaultFlatThreshold) =>
        new("data", 2, DistanceMetric.Euclidean, PartitionScheme.Hash, 4, HnswOptions.Default with { M = 8, EfConstruction = 32 }, flatThreshold);

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Documents_are_stored_replaced_with_the_point_deleted_with_it_and_kept_by_snapshots()
    {
        using var state = PartitionState.Create(Spec());
        state.Apply(new PointsUpserted([new(1UL, [1f, 0f], null, "first text"), new("b", [0f, 1f], Json("{\"a\":1}"), "Grüße"), new(3UL, [1f, 1f], null)]));

        Assert.Equal("first text", state.Document(1UL));
        Assert.Equal("Grüße", state.Document("b"));
        Assert.Null(state.Document(3UL));

        // An upsert replaces the whole point: without a document the old one is gone.
        state.Apply(new PointsUpserted([new(1UL, [2f, 0f], null)]));
        Assert.Null(state.Document(1UL));
        state.Apply(new PointsUpserted([new(3UL, [2f, 2f], null, "")]));
        Assert.Equal("", state.Document(3UL));

        using var restored = PartitionState.FromSnapshot(state.ToSnapshot());
        Assert.Equal("Grüße", restored.Document("b"));
        Assert.Equal("", restored.Document(3UL));
        Assert.Null(restored.Document(1UL));

        state.Apply(new PointsDeleted(["b"]));
        Assert.Null(state.Document("b"));
    }
}
