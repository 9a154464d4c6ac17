using System.Collections.Immutable;
using VLink.Cluster.Protocol;

namespace VLink.Cluster.Catalog;

/// <summary>
/// The cluster's metadata as an immutable value: collections, their partition keys, and the position in the
/// catalog log (term, index), and the partitions' confirmed watermarks (<c>CatalogState.Watermarks.cs</c>). Commands are
/// decided here and entries applied here; the actor only persists.
/// </summary>
public sealed partial record CatalogState(long Term, long Index, ImmutableSortedDictionary<string, CollectionEntry> Collections)
{
    /// <summary>The state before the first entry.</summary>
    public static CatalogState Empty { get; } = new(0, 0, ImmutableSortedDictionary<string, CollectionEntry>.Empty.WithComparers(StringComparer.Ordinal));

    /// <summary>Cluster-wide settings (key → value).</summary>
    public ImmutableSortedDictionary<string, string> Settings { get; init; } = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>
    /// Decides a change: an error when it is refused; <c>Change = null</c> when it is already in effect (so a retried
    /// command is acknowledged without a second entry); otherwise the change to persist.
    /// </summary>
    public (ICatalogCommand? Change, string? Error) Decide(ICatalogCommand command)
    {
        switch (command)
        {
            case CreateCollection create:
                try
                {
                    create.Spec.Validate();
                }
                catch (ArgumentException e)
                {
                    return (null, e.Message);
                }
                if (Collections.TryGetValue(create.Spec.Name, out var existing))
                    return existing.Spec == create.Spec ? (null, null) : (null, $"Collection '{create.Spec.Name}' already exists with a different configuration.");
                return (create, null);
            case DropCollection drop:
                return Collections.ContainsKey(drop.Name) ? (drop, null) : (null, $"Collection '{drop.Name}' does not exist.");
            case RegisterPartitionKey register:
                if (!Collections.TryGetValue(register.Collection, out var entry))
                    return (null, $"Collection '{register.Collection}' does not exist.");
                if (entry.Spec.Scheme != PartitionScheme.Key)
                    return (null, $"Collection '{register.Collection}' is hash-partitioned; it has no named partitions.");
                if (string.IsNullOrEmpty(register.Key) || register.Key.Length > 128 || register.Key.Contains('/'))
                    return (null, $"Partition key '{register.Key}' must be 1-128 characters without '/'.");
                return entry.Keys.Contains(register.Key) ? (null, null) : (register, null);
            case BeginRegions begin:
            {
                if (!Collections.TryGetValue(begin.Collection, out var region) || region.Generation != begin.Generation)
                    return (null, $"Collection '{begin.Collection}' (generation {begin.Generation}) does not exist.");
                if (region.Spec.Scheme != PartitionScheme.Region)
                    return (null, $"Collection '{begin.Collection}' is not partitioned by region.");
                if (region.Centroids.Count > 0)
                    return SameCentroids(region.Centroids, begin.Centroids) ? (null, null) : (null, $"The regions of collection '{begin.Collection}' are already trained.");
                if (begin.Centroids.Count != region.Spec.PartitionCount || begin.Centroids.Any(c => c is null || c.Length != region.Spec.Dimension || !c.All(float.IsFinite)))
                    return (null, $"Collection '{begin.Collection}' needs {region.Spec.PartitionCount} finite centroids of {region.Spec.Dimension} dimensions.");
                return (begin, null);
            }
            case FinishRegions finish:
            {
                if (!Collections.TryGetValue(finish.Collection, out var region) || region.Generation != finish.Generation)
                    return (null, $"Collection '{finish.Collection}' (generation {finish.Generation}) does not exist.");
                return region.Phase switch
                {
                    RegionPhase.Active => (null, null),
                    RegionPhase.Moving => (finish, null),
                    _ => (null, $"The regions of collection '{finish.Collection}' are not trained yet."),
                };
            }
            case SetSetting set:
                if (string.IsNullOrEmpty(set.Key) || set.Key.Length > 128 || !set.Key.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_'))
                    return (null, $"Setting key '{set.Key}' must be 1-128 characters of lowercase letters, digits, '.', '-' or '_'.");
                if (set.Value is null || set.Value.Length > 4096)
                    return (null, $"The value of setting '{set.Key}' must be at most 4096 characters.");
                string? current = Settings.GetValueOrDefault(set.Key);
                bool unchanged = set.Value.Length == 0 ? current is null : current == set.Value;
                return unchanged ? (null, null) : (set, null);
            default:
                return (null, $"{command.GetType().Name} is not a catalog change.");
        }
    }

    /// <summary>Applies a durable entry.</summary>
    public CatalogState Apply(CatalogEntryAppended entry)
    {
        var collections = entry.Change switch
        {
            CreateCollection c => Collections.SetItem(c.Spec.Name, new CollectionEntry(c.Spec, [], entry.Index)),
            DropCollection d => Collections.Remove(d.Name),
            RegisterPartitionKey r when Collections.TryGetValue(r.Collection, out var e) =>
                Collections.SetItem(r.Collection, e with { Keys = [.. e.Keys.Append(r.Key).Order(StringComparer.Ordinal)] }),
            BeginRegions b when Collections.TryGetValue(b.Collection, out var e) =>
                Collections.SetItem(b.Collection, e with { Centroids = b.Centroids, Phase = RegionPhase.Moving }),
            FinishRegions f when Collections.TryGetValue(f.Collection, out var e) =>
                Collections.SetItem(f.Collection, e with { Phase = RegionPhase.Active }),
            _ => Collections,
        };
        var settings = entry.Change switch
        {
            SetSetting { Value.Length: 0 } remove => Settings.Remove(remove.Key),
            SetSetting set => Settings.SetItem(set.Key, set.Value),
            _ => Settings,
        };
        return new CatalogState(entry.Term, entry.Index, collections) { Settings = settings, Watermarks = WatermarksAfter(entry.Change) };
    }

    private static bool SameCentroids(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b) =>
        a.Count == b.Count && a.Zip(b, (x, y) => x.AsSpan().SequenceEqual(y)).All(same => same);

    /// <summary>A new incarnation of the singleton took over.</summary>
    public CatalogState Apply(CatalogTermStarted started) => this with { Term = started.Term };

    /// <summary>The snapshot readers see.</summary>
    public CatalogSnapshot ToSnapshot() => new(Term, Index, [.. Collections.Values], CatalogSnapshot.CurrentSchemaVersion, [.. Settings]);
}
