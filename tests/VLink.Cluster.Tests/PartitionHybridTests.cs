using System.Text;
using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Hybrid;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

/// <summary>A partition's text index follows its points (writes, payload changes, deletes) and comes back from a snapshot.</summary>
public sealed class PartitionHybridTests
{
    private static readonly CollectionSpec Spec = new("kb", 2, DistanceMetric.Cosine, PartitionScheme.Hash, 1, HnswOptions.Default,
        Text: new TextSpec(["title", "document"]));

    private static PointWrite Point(ulong id, float x, float y, string title, string? document = null) =>
        new(id, [x, y], Encoding.UTF8.GetBytes($"{{\"title\":\"{title}\",\"n\":{id}}}"), document);

    private static List<ulong> Ids(IReadOnlyList<MethodRanking> rankings, HybridMethods method) =>
        [.. rankings.Single(r => r.Method == method).Points.Select(p => p.Id.Number)];

    [Fact]
    public void Rankings_follow_writes_payload_changes_deletes_and_snapshots()
    {
        using var state = PartitionState.Create(Spec);
        state.Apply(new PointsUpserted([
            Point(1, 1, 0, "Login page", "users log in with a password"),
            Point(2, 0, 1, "Bread"),
            Point(3, 0.7f, 0.7f, "Password rules")]));
        var request = new HybridRequest("password", [1f, 0f], HybridMethods.All, 2, 10);
        var rankings = state.SearchHybrid(request);
        Assert.Equal([1UL, 3UL], Ids(rankings, HybridMethods.Exact).Order());
        Assert.Equal([3UL, 1UL], Ids(rankings, HybridMethods.Keyword)); // the shorter text first
        Assert.Equal([1UL, 3UL, 2UL], Ids(rankings, HybridMethods.Semantic));

        // A payload change re-reads the text; a filter narrows every method.
        state.Apply(new PayloadChanged(PayloadChangeKind.Set, Encoding.UTF8.GetBytes("{\"title\":\"Password bread\"}"), [], [2UL]));
        Assert.Equal([1UL, 2UL, 3UL], Ids(state.SearchHybrid(request with { Methods = HybridMethods.Keyword }), HybridMethods.Keyword).Order());
        var filtered = state.SearchHybrid(request with { Filter = Encoding.UTF8.GetBytes("{\"must\":[{\"key\":\"n\",\"range\":{\"gte\":2}}]}") });
        Assert.Equal([2UL, 3UL], Ids(filtered, HybridMethods.Exact).Order());
        Assert.Equal([3UL, 2UL], Ids(filtered, HybridMethods.Semantic));

        state.Apply(new PointsDeleted([3UL]));
        var snapshot = state.ToSnapshot();
        using var back = PartitionState.FromSnapshot(snapshot);
        var after = back.SearchHybrid(request with { Vector = null });
        Assert.Equal([1UL, 2UL], Ids(after, HybridMethods.Keyword).Order());
        Assert.DoesNotContain(after, r => r.Method == HybridMethods.Semantic);
        Assert.False((request with { Vector = null }).RunsSemantic);
    }

    [Fact]
    public void A_collection_without_text_fields_answers_only_by_vector()
    {
        using var state = PartitionState.Create(Spec with { Text = null });
        state.Apply(new PointsUpserted([Point(1, 1, 0, "password")]));
        var rankings = state.SearchHybrid(new HybridRequest("password", [1f, 0f], HybridMethods.All, 1, 5));
        Assert.Equal(HybridMethods.Semantic, Assert.Single(rankings).Method);
    }

    [Fact]
    public void The_text_index_is_counted_in_the_partition_memory()
    {
        using var withText = PartitionState.Create(Spec);
        using var without = PartitionState.Create(Spec with { Text = null });
        var points = new PointsUpserted([
            Point(1, 1, 0, "Login page", "users log in with a password"),
            Point(2, 0, 1, "Bread"),
            Point(3, 0.7f, 0.7f, "Password rules")]);
        withText.Apply(points);
        without.Apply(points);
        Assert.True(withText.MemoryBytes > without.MemoryBytes, $"{withText.MemoryBytes} vs {without.MemoryBytes}");
    }
}
