using Akka.Actor;
using VLink.Cluster.Gather;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Hosting;

// Region-partitioned collections (PartitionScheme.Region): points wait in a staging partition until it holds the
// training size; then one writer trains k-means over them, fixes the centroids in the catalog (BeginRegions), seals
// the staging partition (so no write lands behind the move), copies its points to their regions and tells the catalog
// (FinishRegions). Any writer that meets the move in progress helps finish it; every step is idempotent, so a move
// interrupted by a node's death is finished by the next write.
public sealed partial class VLinkNode
{
    // Points read from the staging partition per message while training and moving.
    private const int MovePage = 1_000;

    // One move at a time on this node: concurrent writers wait for it instead of copying the same points again.
    private readonly SemaphoreSlim _regionMove = new(1, 1);

    /// <summary>
    /// The collection's entry as a write should use it: for a region collection whose points are moving to their
    /// regions, after the move (this node helps finish it).
    /// </summary>
    private async Task<CollectionEntry> WritableAsync(string collection, TimeSpan wait)
    {
        var entry = await FindAsync(collection, wait).ConfigureAwait(false);
        return entry.Phase == RegionPhase.Moving ? await MoveToRegionsAsync(collection, wait).ConfigureAwait(false) : entry;
    }

    /// <summary>
    /// The messages of an upsert to a region collection: all points to the staging partition before training; after,
    /// each region its points, and every region the ids of the others' points to delete, so a point whose new vector
    /// falls in another region leaves its old one (partitions that hold none of those ids journal nothing).
    /// </summary>
    private static IEnumerable<IPartitionMessage> RegionWrites(CollectionEntry entry, IReadOnlyList<PointWrite> points, PointVersion version)
    {
        if (entry.Phase != RegionPhase.Active) return [new UpsertPoints(entry.Partition(CollectionEntry.StagingKey), entry.Spec, points)];
        var router = entry.Router();
        var byRegion = points.GroupBy(p => router.RegionOf(p.Vector)).ToDictionary(g => g.Key, g => g.ToList());
        var messages = new List<IPartitionMessage>();
        for (int region = 0; region < entry.Spec.PartitionCount; region++)
        {
            var partition = entry.Region(region);
            if (byRegion.TryGetValue(region, out var mine)) messages.Add(new UpsertPoints(partition, entry.Spec, mine));
            var others = byRegion.Where(g => g.Key != region).SelectMany(g => g.Value).Select(p => p.Id).ToList();
            if (others.Count > 0) messages.Add(new DeletePoints(partition, others, version));
        }
        return messages;
    }

    /// <summary>After a write to the staging partition: when it holds the training size, trains the regions and moves the points.</summary>
    private async Task TrainRegionsIfDueAsync(CollectionEntry entry, TimeSpan wait)
    {
        var staging = entry.Partition(CollectionEntry.StagingKey);
        var count = await Partitions.Ask<PointCount>(new CountPartition(staging, null), wait).ConfigureAwait(false);
        if (count.Count < entry.Spec.Regions!.TrainSize) return;
        await _regionMove.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = await FindAsync(entry.Spec.Name, wait).ConfigureAwait(false);
            if (current.Generation != entry.Generation || current.Phase != RegionPhase.Staging) return;
            var sample = new List<float[]>();
            PointId? from = null;
            while (sample.Count < current.Spec.Regions!.TrainSize)
            {
                var page = await Partitions.Ask<PointsFound>(
                    new ScrollPartition(staging, null, from, MovePage + 1, WithPayload: false, WithVector: true), wait).ConfigureAwait(false);
                sample.AddRange(page.Points.Take(MovePage).Select(p => p.Vector!));
                if (page.Points.Count <= MovePage) break;
                from = page.Points[MovePage].Id;
            }
            var router = RegionRouter.Train(sample, current.Spec.PartitionCount, current.Spec.Metric);
            try
            {
                await ChangeCatalogAsync(new BeginRegions(current.Spec.Name, current.Generation, router.Centroids), wait).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Another node trained first (or the collection is gone); the move below follows the catalog.
            }
        }
        finally
        {
            _regionMove.Release();
        }
        await MoveToRegionsAsync(entry.Spec.Name, wait).ConfigureAwait(false);
    }

    /// <summary>
    /// Finishes moving a region collection's staged points to their regions, if they are moving: seals the staging
    /// partition, copies its points page by page to the regions of their nearest centroids, and marks the regions
    /// active. Returns the collection's entry afterwards.
    /// </summary>
    private async Task<CollectionEntry> MoveToRegionsAsync(string collection, TimeSpan wait)
    {
        await _regionMove.WaitAsync().ConfigureAwait(false);
        try
        {
            var entry = await FindAsync(collection, wait).ConfigureAwait(false);
            if (entry.Phase != RegionPhase.Moving) return entry;
            var staging = entry.Partition(CollectionEntry.StagingKey);
            var sealedAck = await JournalledAskAsync(Partitions, new SealPartition(staging), wait).ConfigureAwait(false);
            if (sealedAck is not WriteAck) throw new InvalidOperationException($"Sealing {staging} answered {sealedAck.GetType().Name}.");
            var router = entry.Router();
            PointId? from = null;
            while (true)
            {
                var page = await Partitions.Ask<PointsFound>(
                    new ScrollPartition(staging, null, from, MovePage + 1, WithPayload: true, WithVector: true), wait).ConfigureAwait(false);
                // Each point keeps its version: a copy never overrides a later write to the same id.
                var points = page.Points.Take(MovePage).Select(p => new PointWrite(p.Id, p.Vector!, p.Payload, p.Document, p.Version)).ToList();
                var writes = points.GroupBy(p => router.RegionOf(p.Vector))
                    .Select(g => JournalledAskAsync(Partitions, new UpsertPoints(entry.Region(g.Key), entry.Spec, g.ToList()), wait));
                foreach (var reply in await Task.WhenAll(writes).ConfigureAwait(false))
                {
                    if (reply is not WriteAck)
                        throw new InvalidOperationException($"Moving the points of '{collection}' to their regions failed: {reply}.");
                }
                if (page.Points.Count <= MovePage) break;
                from = page.Points[MovePage].Id;
            }
            try
            {
                await ChangeCatalogAsync(new FinishRegions(collection, entry.Generation), wait).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Finished by another node meanwhile, or the collection was dropped: the catalog read below says which.
            }
            return await FindAsync(collection, wait).ConfigureAwait(false);
        }
        finally
        {
            _regionMove.Release();
        }
    }
}
