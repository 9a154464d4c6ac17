using Akka.Actor;
using Akka.Event;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;

namespace VLink.Cluster.Replication;

/// <summary>
/// The catch-up (anti-entropy) of one partition replica, a child of its partition entity so the entity never waits:
/// for each round the entity sends (<see cref="Round"/>), it asks every sibling replica for its digest through the
/// partition shard region, fetches the ids and versions of the buckets that differ page by page, and hands each page to
/// the entity (<see cref="Apply"/>), which journals the newer tombstones and names the newer points; those are then
/// fetched whole (<see cref="GetPoints"/>, <see cref="FetchBatch"/> at a time) and handed over the same way. A sibling that does not answer in
/// time is skipped until the next round. The round's outcome goes back to the entity (<see cref="RoundDone"/>).
/// </summary>
public sealed class ReplicaSync : ReceiveActor
{
    /// <summary>Runs one round against every sibling of the partition.</summary>
    /// <param name="Spec">The collection's spec (its replication factor names the siblings).</param>
    /// <param name="Digest">The replica's digest when the round starts.</param>
    public sealed record Round(CollectionSpec Spec, IReadOnlyList<ulong> Digest);

    /// <summary>A page of a sibling's entries for the entity to journal (the newer ones); answered with <see cref="Applied"/>.</summary>
    /// <param name="Page">The sibling's page.</param>
    public sealed record Apply(ReplicaEntries Page);

    /// <summary>What the entity journalled of a page, its digest afterwards, and the newer points it wants whole.</summary>
    /// <param name="Points">Points written.</param>
    /// <param name="Tombstones">Tombstones written.</param>
    /// <param name="Digest">The replica's digest after the page.</param>
    /// <param name="Wanted">Ids of newer points to fetch from the sibling.</param>
    public sealed record Applied(int Points, int Tombstones, IReadOnlyList<ulong> Digest, IReadOnlyList<PointId> Wanted);

    /// <summary>Points fetched with one <see cref="GetPoints"/>.</summary>
    public const int FetchBatch = 128;

    /// <summary>A round ended.</summary>
    /// <param name="Siblings">Siblings asked.</param>
    /// <param name="Answered">Siblings that answered (digest and every page).</param>
    /// <param name="Differed">Siblings whose digest differed from this replica's.</param>
    /// <param name="Points">Points this replica took from its siblings.</param>
    /// <param name="Tombstones">Tombstones this replica took from its siblings.</param>
    public sealed record RoundDone(int Siblings, int Answered, int Differed, int Points, int Tombstones);

    private readonly PartitionRef _self;
    private readonly IActorRef _region;
    private readonly IActorRef _entity;
    private readonly TimeSpan _timeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Props of the catch-up of replica <paramref name="self"/>, asking its siblings through <paramref name="region"/>.</summary>
    public static Props Props(PartitionRef self, IActorRef region, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new ReplicaSync(self, region, timeout));

    /// <summary>Creates the actor (its parent is the partition entity).</summary>
    public ReplicaSync(PartitionRef self, IActorRef region, TimeSpan timeout)
    {
        _self = self;
        _region = region;
        _timeout = timeout;
        _entity = Context.Parent;
        ReceiveAsync<Round>(RunAsync);
    }

    private async Task RunAsync(Round round)
    {
        var tally = new Tally { Own = round.Digest };
        // The entity waits for RoundDone before it starts another round: it is sent whatever happens here.
        try
        {
            for (int j = 0; j < round.Spec.ReplicationFactor; j++)
            {
                if (j == _self.Replica) continue;
                tally.Siblings++;
                var sibling = _self.WithReplica(j);
                try
                {
                    await SyncWithAsync(sibling, round.Spec, tally);
                    tally.Answered++;
                }
                // InvalidOperationException: the sibling refused (it lost history and serves nothing).
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or TimeoutException or InvalidCastException or InvalidOperationException)
                {
                    _log.Debug("Replica {0} skips sibling {1} this round: {2}", _self, sibling, e.Message);
                }
            }
        }
        finally
        {
            _entity.Tell(new RoundDone(tally.Siblings, tally.Answered, tally.Differed, tally.Points, tally.Tombstones));
        }
    }

    // Compares digests with one sibling and takes what it holds newer, page by page.
    private async Task SyncWithAsync(PartitionRef sibling, CollectionSpec spec, Tally tally)
    {
        var theirs = await _region.Ask<ReplicaDigest>(new GetReplicaDigest(sibling, spec, tally.Own), _timeout);
        if (theirs.Buckets.SequenceEqual(tally.Own)) return;
        tally.Differed++;
        // Buckets where the sibling holds something we do not (where only we do, it pulls from us: our request
        // carried our digest).
        IReadOnlyList<int> remaining = ReplicaDigests.Differing(tally.Own, theirs.Buckets);
        PointId? after = null;
        while (remaining.Count > 0)
        {
            var page = await _region.Ask<ReplicaEntries>(new GetReplicaEntries(sibling, remaining, after), _timeout);
            var applied = await _entity.Ask<Applied>(new Apply(page), _timeout);
            tally.Add(applied);
            foreach (var batch in applied.Wanted.Chunk(FetchBatch))
            {
                var found = await _region.Ask<PointsFound>(new GetPoints(sibling, batch, WithVector: true), _timeout);
                tally.Add(await _entity.Ask<Applied>(new Apply(new ReplicaEntries(sibling, found.Points, [], [], null)), _timeout));
            }
            (remaining, after) = (page.Remaining, page.After);
        }
    }

    private sealed class Tally
    {
        public IReadOnlyList<ulong> Own { get; set; } = [];
        public int Siblings { get; set; }
        public int Answered { get; set; }
        public int Differed { get; set; }
        public int Points { get; set; }
        public int Tombstones { get; set; }

        public void Add(Applied applied)
        {
            Points += applied.Points;
            Tombstones += applied.Tombstones;
            Own = applied.Digest;
        }
    }
}
