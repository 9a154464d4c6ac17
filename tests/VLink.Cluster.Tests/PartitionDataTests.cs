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

    private static string PayloadText(PartitionState state, PointId id) =>
        state.Payload(id) is { } bytes ? Encoding.UTF8.GetString(bytes) : "null";

    private static PartitionState Filled(int count, int flatThreshold = CollectionSpec.DefaultFlatThreshold)
    {
        var state = PartitionState.Create(Spec(flatThreshold));
        // Numbers and strings mixed and written out of order: scrolls must still come back in id order.
        var points = Enumerable.Range(0, count).Reverse().Select(i => new PointWrite(
            i % 4 == 3 ? $"s{i:D3}" : (ulong)i, [i, 1f], Json($$"""{"n":{{i}},"odd":{{(i % 2 == 1 ? "true" : "false")}}}""")));
        state.Apply(new PointsUpserted([.. points]));
        return state;
    }

    [Theory]
    [InlineData(CollectionSpec.DefaultFlatThreshold)]
    [InlineData(10)]
    public void Scroll_walks_the_ids_in_ascending_order_numbers_first_from_an_offset_with_a_filter(int flatThreshold)
    {
        using var state = Filled(40, flatThreshold);
        var all = state.Scroll(null, null, 1000, withPayload: false, withVector: false).Select(p => p.Id).ToList();
        Assert.Equal(40, all.Count);
        Assert.Equal(all.Order(), all);
        Assert.True(all[0].IsNumber);
        Assert.False(all[^1].IsNumber);

        // Pages of 7 from each page's last id + 1 cover every point once.
        var paged = new List<PointId>();
        PointId? from = null;
        while (true)
        {
            var page = state.Scroll(null, from, 8, false, false);
            paged.AddRange(page.Take(7).Select(p => p.Id));
            if (page.Count <= 7) break;
            from = page[7].Id;
        }
        Assert.Equal(all, paged);

        // An offset that is no stored id starts at the next one; a filter skips what does not match.
        var fromFive = state.Scroll(Json("""{"must":[{"key":"odd","match":{"value":true}}]}"""), new PointId(4UL), 3, true, true);
        Assert.Equal([(PointId)5UL, 9UL, 13UL], fromFive.Select(p => p.Id)); // 7 and 11 are "s007" and "s011"
        Assert.Equal("{\"n\":5,\"odd\":true}", Encoding.UTF8.GetString(fromFive[0].Payload!));
        Assert.Equal([5f, 1f], fromFive[0].Vector!);
        var bare = state.Scroll(null, "s", 2, false, false);
        Assert.Equal([(PointId)"s003", "s007"], bare.Select(p => p.Id));
        Assert.All(bare, p => Assert.Null(p.Payload));
        Assert.All(bare, p => Assert.Null(p.Vector));

        // New and deleted points show in the next scroll.
        state.Apply(new PointsUpserted([new(1000UL, [0f, 0f], null)]));
        state.Apply(new PointsDeleted([0UL, "s039"]));
        var after = state.Scroll(null, null, 1000, false, false).Select(p => p.Id).ToList();
        Assert.Equal(39, after.Count);
        Assert.Equal((PointId)1000UL, after.Last(id => id.IsNumber));
        Assert.DoesNotContain((PointId)0UL, after);
        Assert.DoesNotContain((PointId)"s039", after);
    }

    [Fact]
    public void Count_counts_all_or_the_matching_points()
    {
        using var state = Filled(40);
        Assert.Equal(40, state.CountMatching(null));
        Assert.Equal(20, state.CountMatching(Json("""{"must":[{"key":"odd","match":{"value":true}}]}""")));
        Assert.Equal(10, state.CountMatching(Json("""{"must":[{"key":"n","range":{"gte":10,"lt":20}}]}""")));
        Assert.Equal(0, state.CountMatching(Json("""{"must":[{"key":"missing","match":{"value":1}}]}""")));
        Assert.ThrowsAny<ArgumentException>(() => state.CountMatching(Json("""{"must":[{"key":"n","range":{"gte":"x"}}]}""")));
    }

    [Fact]
    public void Payload_changes_set_overwrite_delete_keys_and_clear_and_the_filter_cache_follows()
    {
        using var state = Filled(10);
        var odd = Json("""{"must":[{"key":"odd","match":{"value":true}}]}""");
        var tagged = Json("""{"must":[{"key":"tag","match":{"value":"x"}}]}""");
        Assert.Equal(0, state.CountMatching(tagged)); // fills the parsed-payload cache

        // Set by filter merges top-level keys.
        var set = state.Resolve(new ChangePayload(default, PayloadChangeKind.Set, Json("""{"tag":"x","n":-1}"""), [], null, odd))!;
        Assert.Equal([(PointId)1UL, 5UL, 9UL, "s003", "s007"], set.Ids);
        Assert.Equal(5, state.Apply(set));
        Assert.Equal("{\"n\":-1,\"odd\":true,\"tag\":\"x\"}", PayloadText(state, 1UL));
        Assert.Equal(5, state.CountMatching(tagged));

        // Delete keys by ids, a nested key by its dotted path; unknown ids are not selected.
        state.Apply(state.Resolve(new ChangePayload(default, PayloadChangeKind.Set, Json("""{"deep":{"a":1,"b":2}}"""), [], [2UL], null))!);
        var deleted = state.Resolve(new ChangePayload(default, PayloadChangeKind.DeleteKeys, null, ["n", "deep.a", "nothing"], [1UL, 2UL, 999UL], null))!;
        Assert.Equal([(PointId)1UL, 2UL], deleted.Ids);
        state.Apply(deleted);
        Assert.Equal("{\"odd\":true,\"tag\":\"x\"}", PayloadText(state, 1UL));
        Assert.Equal("{\"odd\":false,\"deep\":{\"b\":2}}", PayloadText(state, 2UL));

        // Overwrite replaces; clear removes; an overwrite with {} is no payload.
        state.Apply(state.Resolve(new ChangePayload(default, PayloadChangeKind.Overwrite, Json("""{"only":1}"""), [], [4UL, 5UL], null))!);
        Assert.Equal("{\"only\":1}", PayloadText(state, 4UL));
        Assert.Equal(4, state.CountMatching(tagged));
        state.Apply(state.Resolve(new ChangePayload(default, PayloadChangeKind.Clear, null, [], null, tagged))!);
        Assert.Equal(0, state.CountMatching(tagged));
        Assert.Null(state.Payload(1UL));
        state.Apply(state.Resolve(new ChangePayload(default, PayloadChangeKind.Overwrite, Json("{}"), [], [4UL], null))!);
        Assert.Null(state.Payload(4UL));

        // Nothing selected: no event. A point deleted before the event is replayed is skipped.
        Assert.Null(state.Resolve(new ChangePayload(default, PayloadChangeKind.Clear, null, [], [12345UL], null)));
        Assert.Equal(1, state.Apply(new PayloadChanged(PayloadChangeKind.Clear, null, [], [6UL, 12345UL])));

        // Documents are not payload: a clear keeps them.
        state.Apply(new PointsUpserted([new(77UL, [1f, 1f], Json("""{"a":1}"""), "text")]));
        state.Apply(new PayloadChanged(PayloadChangeKind.Clear, null, [], [77UL]));
        Assert.Equal("text", state.Document(77UL));
        Assert.Null(state.Payload(77UL));

        using var restored = PartitionState.FromSnapshot(state.ToSnapshot());
        foreach (var id in state.Scroll(null, null, 100, false, false).Select(p => p.Id))
            Assert.Equal(PayloadText(state, id), PayloadText(restored, id));
    }

    [Fact]
    public void Matching_lists_the_ids_a_filter_deletes()
    {
        using var state = Filled(12);
        var ids = state.Matching(Json("""{"must":[{"key":"n","range":{"lt":4}}]}"""), int.MaxValue);
        Assert.Equal([(PointId)0UL, 1UL, 2UL, "s003"], ids);
        Assert.Equal(4, state.Apply(new PointsDeleted(ids)));
        Assert.Equal(8, state.Count);
    }
}
