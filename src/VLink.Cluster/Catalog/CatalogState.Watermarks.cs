using System.Collections.Immutable;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Catalog;

// Watermarks: per partition replica, the highest journal sequence number the partition acknowledged and the catalog
// journalled. A partition that recovers below its watermark lost history (its store lacks events it had written).
public sealed partial record CatalogState
{
    /// <summary>The confirmed watermark of each partition replica of the collections that exist.</summary>
    public ImmutableDictionary<PartitionRef, long> Watermarks { get; init; } = ImmutableDictionary<PartitionRef, long>.Empty;

    /// <summary>The confirmed watermark of a partition replica; 0 when the catalog knows none.</summary>
    public long WatermarkOf(PartitionRef partition) => Watermarks.GetValueOrDefault(partition);

    /// <summary>
    /// Of the reports of one interval, the watermarks worth journalling: per partition the highest reported, when it is
    /// above the confirmed one and the partition belongs to a collection that exists in that generation (a late report of
    /// a dropped collection is ignored, so a collection created again under the same name starts without watermarks).
    /// Ordered by entity id, so the event is deterministic.
    /// </summary>
    public IReadOnlyList<PartitionWatermark> DecideWatermarks(IEnumerable<PartitionWatermark> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        return [.. reports
            .Where(r => r.SequenceNr > WatermarkOf(r.Partition) && Exists(r.Partition))
            .GroupBy(r => r.Partition)
            .Select(g => new PartitionWatermark(g.Key, g.Max(r => r.SequenceNr)))
            .OrderBy(w => w.Partition.EntityId, StringComparer.Ordinal)];
    }

    /// <summary>Applies confirmed watermarks: a watermark only ever rises, and only for partitions of existing collections.</summary>
    public CatalogState Apply(WatermarksConfirmed confirmed)
    {
        ArgumentNullException.ThrowIfNull(confirmed);
        var watermarks = Watermarks.ToBuilder();
        foreach (var w in confirmed.Watermarks)
            if (w.SequenceNr > watermarks.GetValueOrDefault(w.Partition) && Exists(w.Partition)) watermarks[w.Partition] = w.SequenceNr;
        return this with { Watermarks = watermarks.ToImmutable() };
    }

    /// <summary>The whole state for the snapshot store: the catalog readers see and the watermarks (in entity id order).</summary>
    public CatalogStateSnapshot ToDurable() => new(ToSnapshot(),
        [.. Watermarks.Select(w => new PartitionWatermark(w.Key, w.Value)).OrderBy(w => w.Partition.EntityId, StringComparer.Ordinal)]);

    /// <summary>The state a snapshot made by <see cref="ToDurable"/> holds.</summary>
    public static CatalogState FromDurable(CatalogStateSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var catalog = snapshot.Catalog;
        return new CatalogState(catalog.Term, catalog.Index, Empty.Collections.SetItems(catalog.Collections.Select(c => KeyValuePair.Create(c.Spec.Name, c))))
        {
            Settings = Empty.Settings.SetItems(catalog.Settings),
            Watermarks = ImmutableDictionary.CreateRange(snapshot.Watermarks.Select(w => KeyValuePair.Create(w.Partition, w.SequenceNr))),
        };
    }

    private bool Exists(PartitionRef partition) =>
        Collections.TryGetValue(partition.Collection, out var entry) && entry.Generation == partition.Generation;

    // The watermarks that outlive a catalog entry: those of a dropped collection go with it.
    private ImmutableDictionary<PartitionRef, long> WatermarksAfter(ICatalogCommand change) => change is DropCollection drop
        ? Watermarks.RemoveRange(Watermarks.Keys.Where(p => p.Collection == drop.Name))
        : Watermarks;
}
