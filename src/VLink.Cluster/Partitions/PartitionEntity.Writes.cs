namespace VLink.Cluster.Partitions;

// Reads never wait for the journal. Writes are journalled with PersistAsync, which stashes nothing: a search, read by
// id, scroll or count that arrives while a write is on its way to the journal is answered at once from the index as it
// stands (every acknowledged write, none in flight), and the writes that arrive meanwhile go to the journal together.
// Handlers run in journal order, and each write is acknowledged from its handler, once stored.
// A command that reads the state to decide what to journal (a delete: which ids the index holds; a payload change: the
// points it selects; market data: the producers' watermarks; a catch-up page: the versions held; a partition's first
// upsert: the spec) must see every earlier write applied. It waits in the actor's stash while a write is in flight, and
// so does every write that arrives after it, so the journal keeps the order of arrival; the stash is released, in
// order, once no write is in flight. A seal waits too, and is journalled with Persist (nothing runs until it is stored).
// A snapshot image is taken only when no write is in flight: once one is due, writes wait until those in flight are
// done, the image starts, and they wait until it is taken (PartitionEntity.Snapshots.cs); reads go on throughout.
public sealed partial class PartitionEntity
{
    // Events given to PersistAsync whose handler has not run (nor been refused by the journal).
    private int _inFlight;

    // Write commands waiting in the stash until no write is in flight.
    private int _held;

    /// <summary>
    /// Journals an event without holding reads back; <paramref name="apply"/> runs once the journal stored it, after the
    /// handlers of every event journalled before.
    /// </summary>
    private void Write<TEvent>(TEvent e, Action<TEvent> apply)
    {
        _inFlight++;
        PersistAsync(e, stored =>
        {
            apply(stored);
            Settled();
        });
    }

    /// <summary>Journals events in order as <see cref="Write{TEvent}"/> does one, with one handler called per event.</summary>
    private void WriteAll<TEvent>(IReadOnlyList<TEvent> events, Action<TEvent> apply)
    {
        _inFlight += events.Count;
        PersistAllAsync(events, stored =>
        {
            apply(stored);
            Settled();
        });
    }

    // One journalled event is done with (stored and applied, or refused): once none is in flight, a due snapshot's image
    // starts, or else the held commands run again in arrival order, ahead of anything that arrived since. They go
    // straight to the front of the mailbox: UnstashAll() would hand them to the persistent actor's internal stash, which
    // releases one per message processed, so after a refused write they would wait for the next message to arrive, and
    // that message would run first.
    private void Settled()
    {
        EnsureLinking();
        if (--_inFlight > 0) return;
        if (_snapshotDue) StartSnapshot();
        ReleaseHeld();
    }

    // The held commands run again, unless a write is in flight, a snapshot image is being taken or too many points wait
    // to be linked (the linking task's progress releases them then, PartitionEntity.Linking.cs).
    private void ReleaseHeld()
    {
        if (_held == 0 || _inFlight > 0 || Imaging || Backlogged) return;
        _held = 0;
        Stash.UnstashAll(_ => true);
    }

    /// <summary>
    /// For a command that decides from the state what to journal: true when it must wait (it is stashed) because a write
    /// is in flight or an earlier command waits.
    /// </summary>
    private bool HoldUntilSettled() => Hold(_inFlight > 0 || _held > 0 || _snapshotDue || Imaging);

    /// <summary>
    /// For an upsert: true when it must wait (it is stashed) behind an earlier command that waits, for a due snapshot's
    /// image, for linking to catch up with the points held unlinked, or, on a partition not created yet, behind the write
    /// that creates it (its spec decides whether this one fits).
    /// </summary>
    private bool HoldUpsert() => Hold(_held > 0 || _snapshotDue || Imaging || Backlogged || (_state is null && _inFlight > 0));

    private bool Hold(bool wait)
    {
        if (!wait) return false;
        _held++;
        Stash.Stash();
        return true;
    }
}
