using VLink.Cluster.Catalog;
using VLink.Cluster.Protocol;
using VLink.Core.Hnsw;
using VLink.Core.Vectors;

namespace VLink.Cluster.Tests;

public sealed class CatalogStateTests
{
    private static CollectionSpec HashSpec(string name = "docs", int partitions = 4) =>
        new(name, 8, DistanceMetric.Cosine, PartitionScheme.Hash, partitions, HnswOptions.Default);

    private static CollectionSpec KeySpec(string name = "markets") =>
        new(name, 16, DistanceMetric.Euclidean, PartitionScheme.Key, 0, HnswOptions.Default);

    /// <summary>Decides a command and, when it is a change, applies it as the next entry of the current term.</summary>
    internal static CatalogState Commit(CatalogState state, ICatalogCommand command)
    {
        var (change, error) = state.Decide(command);
        Assert.Null(error);
        Assert.NotNull(change);
        return state.Apply(new CatalogEntryAppended(state.Term, state.Index + 1, change));
    }

    [Fact]
    public void The_empty_state_has_no_collections_at_term_and_index_zero()
    {
        var empty = CatalogState.Empty;

        Assert.Equal(0, empty.Term);
        Assert.Equal(0, empty.Index);
        Assert.Empty(empty.Collections);
        Assert.Empty(empty.ToSnapshot().Collections);
    }

    [Fact]
    public void Creating_a_valid_collection_is_a_change_that_adds_an_entry_without_keys()
    {
        var create = new CreateCollection(HashSpec());

        var (change, error) = CatalogState.Empty.Decide(create);
        Assert.Null(error);
        Assert.Same(create, change);

        var state = CatalogState.Empty.Apply(new CatalogEntryAppended(1, 1, change!));

        var entry = Assert.Single(state.Collections).Value;
        Assert.Equal(HashSpec(), entry.Spec);
        Assert.Empty(entry.Keys);
        Assert.Equal((1L, 1L), (state.Term, state.Index));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("ünicode")]
    public void Creating_a_collection_with_an_invalid_name_is_refused(string name)
    {
        var (change, error) = CatalogState.Empty.Decide(new CreateCollection(HashSpec() with { Name = name }));

        Assert.Null(change);
        Assert.NotNull(error);
        Assert.Contains("name", error);
    }

    [Fact]
    public void Creating_a_collection_with_invalid_fields_is_refused_naming_them()
    {
        var tooLong = CatalogState.Empty.Decide(new CreateCollection(HashSpec(new string('a', 129))));
        var dimension = CatalogState.Empty.Decide(new CreateCollection(HashSpec() with { Dimension = 0 }));
        var metric = CatalogState.Empty.Decide(new CreateCollection(HashSpec() with { Metric = DistanceMetric.Custom }));
        var partitions = CatalogState.Empty.Decide(new CreateCollection(HashSpec(partitions: 0)));
        var hnsw = CatalogState.Empty.Decide(new CreateCollection(HashSpec() with { Hnsw = HnswOptions.Default with { M = 1 } }));

        Assert.Contains("name", tooLong.Error);
        Assert.Contains("Dimension", dimension.Error);
        Assert.Contains("Metric", metric.Error);
        Assert.Contains("Partition count", partitions.Error);
        Assert.Contains("M must be", hnsw.Error);
        Assert.All(new[] { tooLong, dimension, metric, partitions, hnsw }, d => Assert.Null(d.Change));
        // Key partitioning ignores the partition count.
        Assert.Null(CatalogState.Empty.Decide(new CreateCollection(KeySpec())).Error);
    }

    [Fact]
    public void Creating_an_existing_collection_again_is_a_no_op_when_equal_and_refused_when_different()
    {
        var state = Commit(CatalogState.Empty, new CreateCollection(HashSpec()));

        var same = state.Decide(new CreateCollection(HashSpec()));
        var different = state.Decide(new CreateCollection(HashSpec(partitions: 8)));
        var differentGraph = state.Decide(new CreateCollection(HashSpec() with { Hnsw = HnswOptions.Default with { EfSearch = 65 } }));

        Assert.Null(same.Change);
        Assert.Null(same.Error);
        Assert.Null(different.Change);
        Assert.Contains("already exists", different.Error);
        Assert.Null(differentGraph.Change);
        Assert.Contains("already exists", differentGraph.Error);
    }

    [Fact]
    public void Dropping_removes_an_existing_collection_and_refuses_an_unknown_one()
    {
        var state = Commit(Commit(CatalogState.Empty, new CreateCollection(HashSpec("a"))), new CreateCollection(HashSpec("b")));

        var unknown = state.Decide(new DropCollection("c"));
        Assert.Null(unknown.Change);
        Assert.Contains("does not exist", unknown.Error);

        state = Commit(state, new DropCollection("a"));

        Assert.Equal(["b"], state.Collections.Keys);
        Assert.Contains("does not exist", state.Decide(new DropCollection("a")).Error);
        // A dropped name can be created again, with another spec.
        state = Commit(state, new CreateCollection(KeySpec("a")));
        Assert.Equal(PartitionScheme.Key, state.Collections["a"].Spec.Scheme);
    }

    [Fact]
    public void A_collection_created_again_is_a_new_generation_with_other_partitions()
    {
        var state = Commit(CatalogState.Empty, new CreateCollection(HashSpec("a", 3)));
        var first = state.Collections["a"];
        Assert.Equal(state.Index, first.Generation);

        state = Commit(state, new DropCollection("a"));
        state = Commit(state, new CreateCollection(HashSpec("a", 3)));
        var second = state.Collections["a"];

        Assert.Equal(state.Index, second.Generation);
        Assert.True(second.Generation > first.Generation);
        Assert.Empty(first.Partitions().Select(p => p.EntityId).Intersect(second.Partitions().Select(p => p.EntityId)));
        Assert.Empty(first.Partitions().Select(p => p.PersistenceId).Intersect(second.Partitions().Select(p => p.PersistenceId)));
        // Registering a key keeps the generation.
        state = Commit(state, new CreateCollection(KeySpec()));
        long keyGeneration = state.Collections["markets"].Generation;
        state = Commit(state, new RegisterPartitionKey("markets", "BTC"));
        Assert.Equal(keyGeneration, state.Collections["markets"].Generation);
    }

    [Theory]
    [InlineData("docs", "p0", 0L, "docs@0/p0", "partition-docs@0/p0")]
    [InlineData("a.b_c-d", "BTC-USD", 123456789012L, "a.b_c-d@123456789012/BTC-USD", "partition-a.b_c-d@123456789012/BTC-USD")]
    [InlineData("m", "a@b/c", 7L, "m@7/a@b/c", "partition-m@7/a@b/c")]
    public void Partition_ids_name_the_generation_and_parse_back(string collection, string key, long generation, string entityId, string persistenceId)
    {
        var partition = new PartitionRef(collection, key, generation);

        Assert.Equal(entityId, partition.EntityId);
        Assert.Equal(persistenceId, partition.PersistenceId);
        Assert.Equal(partition, PartitionRef.FromEntityId(entityId));
    }

    [Theory]
    [InlineData("docs/p0")]
    [InlineData("docs@/p0")]
    [InlineData("@1/p0")]
    [InlineData("docs@1/")]
    [InlineData("docs@x1/p0")]
    [InlineData("docs@-1/p0")]
    [InlineData("docs@1")]
    public void Malformed_partition_entity_ids_are_refused(string entityId)
    {
        Assert.Throws<ArgumentException>(() => PartitionRef.FromEntityId(entityId));
    }

    [Fact]
    public void Registering_keys_is_idempotent_and_keeps_them_sorted()
    {
        var state = Commit(CatalogState.Empty, new CreateCollection(KeySpec()));

        state = Commit(state, new RegisterPartitionKey("markets", "ETH-USD"));
        state = Commit(state, new RegisterPartitionKey("markets", "BTC-USD"));
        state = Commit(state, new RegisterPartitionKey("markets", "btc-usd"));

        Assert.Equal(["BTC-USD", "ETH-USD", "btc-usd"], state.Collections["markets"].Keys);
        var again = state.Decide(new RegisterPartitionKey("markets", "BTC-USD"));
        Assert.Null(again.Change);
        Assert.Null(again.Error);
    }

    [Fact]
    public void Registering_a_key_is_refused_for_hash_collections_unknown_collections_and_bad_keys()
    {
        var state = Commit(Commit(CatalogState.Empty, new CreateCollection(HashSpec())), new CreateCollection(KeySpec()));

        Assert.Contains("hash-partitioned", state.Decide(new RegisterPartitionKey("docs", "p0")).Error);
        Assert.Contains("does not exist", state.Decide(new RegisterPartitionKey("nope", "k")).Error);
        Assert.Contains("Partition key", state.Decide(new RegisterPartitionKey("markets", "")).Error);
        Assert.Contains("Partition key", state.Decide(new RegisterPartitionKey("markets", "a/b")).Error);
        Assert.Contains("Partition key", state.Decide(new RegisterPartitionKey("markets", new string('k', 129))).Error);
        Assert.Null(state.Decide(new RegisterPartitionKey("markets", new string('k', 128))).Error);
    }

    [Fact]
    public void A_command_that_is_not_a_change_is_refused()
    {
        var (change, error) = CatalogState.Empty.Decide(GetCatalog.Instance);

        Assert.Null(change);
        Assert.Contains("GetCatalog", error);
    }

    [Fact]
    public void Deciding_never_changes_the_state()
    {
        var state = Commit(CatalogState.Empty, new CreateCollection(KeySpec()));

        state.Decide(new RegisterPartitionKey("markets", "X"));
        state.Decide(new DropCollection("markets"));

        Assert.Empty(state.Collections["markets"].Keys);
        Assert.Equal(1, state.Index);
    }

    [Fact]
    public void Terms_and_indices_follow_the_log()
    {
        var state = CatalogState.Empty.Apply(new CatalogTermStarted(1));
        Assert.Equal((1L, 0L), (state.Term, state.Index));

        state = Commit(state, new CreateCollection(HashSpec()));
        state = Commit(state, new CreateCollection(KeySpec()));
        Assert.Equal((1L, 2L), (state.Term, state.Index));

        // A new incarnation raises the term and keeps the index; its entries continue the numbering.
        state = state.Apply(new CatalogTermStarted(2));
        Assert.Equal((2L, 2L), (state.Term, state.Index));
        state = Commit(state, new RegisterPartitionKey("markets", "BTC"));
        Assert.Equal((2L, 3L), (state.Term, state.Index));

        var snapshot = state.ToSnapshot();
        Assert.Equal((2L, 3L), (snapshot.Term, snapshot.Index));
        Assert.Equal(["docs", "markets"], snapshot.Collections.Select(c => c.Spec.Name));
        Assert.Equal(["BTC"], snapshot.Find("markets")!.Keys);
        Assert.Null(snapshot.Find("nope"));
    }

    [Fact]
    public void Collections_are_listed_in_ordinal_name_order()
    {
        var state = CatalogState.Empty;
        foreach (string name in new[] { "b", "B", "a", "_z", "10", "9" })
            state = Commit(state, new CreateCollection(HashSpec(name)));

        var expected = new[] { "b", "B", "a", "_z", "10", "9" }.Order(StringComparer.Ordinal);
        Assert.Equal(expected, state.ToSnapshot().Collections.Select(c => c.Spec.Name));
    }

    [Fact]
    public void Partitions_of_a_hash_collection_are_p0_to_pN_minus_1()
    {
        var entry = new CollectionEntry(HashSpec("docs", 5), ["ignored"], 42);

        var partitions = entry.Partitions().ToList();

        Assert.Equal(Enumerable.Range(0, 5).Select(i => new PartitionRef("docs", $"p{i}", 42)), partitions);
        Assert.All(partitions, p => Assert.Equal(p, PartitionRef.FromEntityId(p.EntityId)));
    }

    [Fact]
    public void Partitions_of_a_key_collection_are_its_keys()
    {
        var state = Commit(CatalogState.Empty, new CreateCollection(KeySpec()));
        Assert.Empty(state.Collections["markets"].Partitions());

        state = Commit(state, new RegisterPartitionKey("markets", "ETH"));
        state = Commit(state, new RegisterPartitionKey("markets", "BTC"));

        long generation = state.Collections["markets"].Generation;
        Assert.Equal([new PartitionRef("markets", "BTC", generation), new PartitionRef("markets", "ETH", generation)], state.Collections["markets"].Partitions());
    }

    [Fact]
    public void Settings_are_durable_entries_set_changed_and_removed_and_the_snapshot_names_its_schema()
    {
        var state = Commit(CatalogState.Empty, new SetSetting("gather.timeout", "5s"));
        Assert.Equal("5s", state.ToSnapshot().Setting("gather.timeout"));
        Assert.Equal(1, state.Index);
        Assert.Equal((null, null), state.Decide(new SetSetting("gather.timeout", "5s")));
        state = Commit(state, new SetSetting("gather.timeout", "9s"));
        Assert.Equal("9s", state.ToSnapshot().Setting("gather.timeout"));
        state = Commit(state, new SetSetting("gather.timeout", ""));
        Assert.Null(state.ToSnapshot().Setting("gather.timeout"));
        Assert.Equal(3, state.Index);
        Assert.Equal((null, null), state.Decide(new SetSetting("gather.timeout", "")));
        Assert.Equal(CatalogSnapshot.CurrentSchemaVersion, state.ToSnapshot().SchemaVersion);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    public void A_setting_key_outside_the_alphabet_is_refused(string key)
    {
        var (change, error) = CatalogState.Empty.Decide(new SetSetting(key, "v"));
        Assert.Null(change);
        Assert.Contains("Setting key", error);
    }

    // ---- Watermarks ----

    private static (CatalogState State, CollectionEntry Entry) WithCollection(CatalogState? state = null, string name = "docs")
    {
        var next = Commit(state ?? CatalogState.Empty, new CreateCollection(HashSpec(name)));
        return (next, next.Collections[name]);
    }

    [Fact]
    public void Reports_of_an_interval_become_one_list_of_the_highest_per_partition_replica_in_entity_id_order()
    {
        var (state, docs) = WithCollection();
        var p0 = docs.Partition("p0");
        var p1 = docs.Partition("p1");

        var decided = state.DecideWatermarks(
        [
            new PartitionWatermark(p1, 7), new PartitionWatermark(p0, 3), new PartitionWatermark(p1, 9),
            new PartitionWatermark(p0.WithReplica(1), 2), new PartitionWatermark(p0, 5),
        ]);

        // docs@1#1/p0 sorts before docs@1/p0 ('#' < '/').
        Assert.Equal([new PartitionWatermark(p0.WithReplica(1), 2), new PartitionWatermark(p0, 5), new PartitionWatermark(p1, 9)], decided);
        var applied = state.Apply(new WatermarksConfirmed(decided));
        Assert.Equal(5, applied.WatermarkOf(p0));
        Assert.Equal(9, applied.WatermarkOf(p1));
        Assert.Equal(2, applied.WatermarkOf(p0.WithReplica(1)));
        Assert.Equal(0, applied.WatermarkOf(docs.Partition("p2")));
        // Watermarks are not catalog entries: the log's position does not move.
        Assert.Equal((state.Term, state.Index), (applied.Term, applied.Index));
    }

    [Fact]
    public void A_watermark_never_goes_down_and_a_report_at_or_below_it_is_not_journalled()
    {
        var (state, docs) = WithCollection();
        var p0 = docs.Partition("p0");
        state = state.Apply(new WatermarksConfirmed([new PartitionWatermark(p0, 50)]));

        Assert.Empty(state.DecideWatermarks([new PartitionWatermark(p0, 50), new PartitionWatermark(p0, 12), new PartitionWatermark(p0, 0)]));
        // Even an event that carries a lower value (it cannot be decided, but replay must be safe) leaves it alone.
        Assert.Equal(50, state.Apply(new WatermarksConfirmed([new PartitionWatermark(p0, 10)])).WatermarkOf(p0));
        Assert.Equal(51, state.Apply(new WatermarksConfirmed(state.DecideWatermarks([new PartitionWatermark(p0, 51)]))).WatermarkOf(p0));
    }

    [Fact]
    public void Reports_for_unknown_collections_or_other_generations_are_ignored()
    {
        var (state, docs) = WithCollection();
        var stale = docs.Partition("p0") with { Generation = docs.Generation + 100 };

        Assert.Empty(state.DecideWatermarks([new PartitionWatermark(stale, 5), new PartitionWatermark(new PartitionRef("nope", "p0", docs.Generation), 5)]));
        Assert.Empty(state.Apply(new WatermarksConfirmed([new PartitionWatermark(stale, 5)])).Watermarks);
    }

    [Fact]
    public void Dropping_a_collection_drops_its_watermarks_and_a_collection_created_again_starts_without_any()
    {
        var (state, docs) = WithCollection();
        (state, var other) = WithCollection(state, "other");
        state = state.Apply(new WatermarksConfirmed(state.DecideWatermarks(
            [new PartitionWatermark(docs.Partition("p0"), 40), new PartitionWatermark(docs.Partition("p1").WithReplica(1), 41), new PartitionWatermark(other.Partition("p0"), 7)])));

        state = Commit(state, new DropCollection("docs"));
        Assert.Equal([other.Partition("p0")], state.Watermarks.Keys);

        (state, var again) = WithCollection(state);
        Assert.NotEqual(docs.Generation, again.Generation);
        Assert.Equal(0, state.WatermarkOf(again.Partition("p0")));
        // A late report of the dropped generation does not come back either.
        Assert.Empty(state.DecideWatermarks([new PartitionWatermark(docs.Partition("p0"), 99)]));
        Assert.Equal(7, state.WatermarkOf(other.Partition("p0")));
    }

    [Fact]
    public void The_durable_snapshot_holds_the_whole_state()
    {
        var (state, docs) = WithCollection();
        state = Commit(state, new CreateCollection(KeySpec()));
        state = Commit(state, new RegisterPartitionKey("markets", "BTC-USD"));
        state = Commit(state, new SetSetting("note", "x"));
        state = state.Apply(new CatalogTermStarted(state.Term + 1));
        state = state.Apply(new WatermarksConfirmed([new PartitionWatermark(docs.Partition("p0"), 8), new PartitionWatermark(docs.Partition("p1").WithReplica(2), 3)]));

        var durable = state.ToDurable();
        var back = CatalogState.FromDurable(durable);

        Assert.Equal((state.Term, state.Index), (back.Term, back.Index));
        Assert.Equal(state.Collections.Keys, back.Collections.Keys);
        Assert.Equal(state.Collections["markets"].Keys, back.Collections["markets"].Keys);
        Assert.Equal(state.Collections["docs"].Generation, back.Collections["docs"].Generation);
        Assert.Equal(state.Settings, back.Settings);
        Assert.Equal(state.Watermarks.OrderBy(w => w.Key.EntityId), back.Watermarks.OrderBy(w => w.Key.EntityId));
        Assert.Equal(durable.Watermarks.Select(w => w.Partition.EntityId).Order(StringComparer.Ordinal), durable.Watermarks.Select(w => w.Partition.EntityId));
        // The restored state decides as the original: a collection's drop takes its watermarks.
        Assert.Empty(Commit(back, new DropCollection("docs")).Watermarks);
    }

    [Fact]
    public void Watermarks_survive_the_other_catalog_entries_and_a_new_term()
    {
        var (state, docs) = WithCollection();
        var p0 = docs.Partition("p0");
        state = state.Apply(new WatermarksConfirmed([new PartitionWatermark(p0, 8)]));

        state = Commit(state, new SetSetting("note", "x"));
        state = Commit(state, new CreateCollection(KeySpec()));
        state = state.Apply(new CatalogTermStarted(state.Term + 1));

        Assert.Equal(8, state.WatermarkOf(p0));
    }
}
