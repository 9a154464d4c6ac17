using Akka.Actor;
using VLink.Cluster.Protocol;
using VLink.Core.Hybrid;
using VLink.Core.Indexing;

namespace VLink.Cluster.Gather;

/// <summary>
/// A k-NN search: node answers and woken partitions reduce, as they arrive, into the running top-k by (distance, id).
/// </summary>
internal sealed class SearchRead(CollectionEntry entry, SearchRequest request)
    : GatherRead<NodeHits, PartitionHits>(entry, 1, (_, key) => request.Visits(key))
{
    private IReadOnlyList<SearchHit> _hits = [];
    private readonly List<NodeTrace> _traces = [];
    private readonly List<string> _woken = [];

    public override IVLinkMessage NodeMessage(ReplicaChoice replicas, TimeSpan budget) =>
        new NodeSearch(Entry.Spec.Name, request, Entry.Generation, replicas, budget);

    public override void AddNode(Address node, NodeHits? answer)
    {
        _traces.Add(new NodeTrace(node.ToString(), answer is not null, answer?.ElapsedMicros ?? 0, answer?.Partitions ?? []));
        if (answer is null) return;
        _hits = TopK.Merge([_hits, answer.Hits], request.K);
        foreach (var p in answer.Partitions) Answered(0, p.Partition);
        foreach (var p in answer.Missing) Named(0, p);
    }

    public override IPartitionMessage PartitionMessage(PartitionRef replica, int[] queries) => new SearchPartition(replica, request);

    public override void AddPartition(Gap gap, PartitionHits answer)
    {
        _hits = TopK.Merge([_hits, answer.Hits], request.K);
        Answered(0, answer.Partition.EntityId);
        _woken.Add(answer.Partition.EntityId);
    }

    protected override PartitionRef PartitionOf(PartitionHits answer) => answer.Partition;

    public GlobalSearchResult Result(int messages, TimeSpan elapsed)
    {
        var missing = MissingOf(0);
        return new GlobalSearchResult(_hits, missing.Count == 0, missing, new SearchTrace(_traces, messages, _woken, (long)elapsed.TotalMicroseconds));
    }
}

/// <summary>
/// Several k-NN searches of one collection in one message per node: each node answers per query, and a partition
/// missing for some queries is asked once, for those queries.
/// </summary>
internal sealed class BatchSearchRead(CollectionEntry entry, IReadOnlyList<SearchRequest> requests)
    : GatherRead<NodeHitsBatch, PartitionHitsBatch>(entry, requests.Count, (q, key) => requests[q].Visits(key))
{
    private readonly IReadOnlyList<SearchHit>[] _hits = [.. requests.Select(_ => (IReadOnlyList<SearchHit>)[])];
    private readonly List<NodeTrace>[] _traces = [.. requests.Select(_ => new List<NodeTrace>())];
    private readonly List<string>[] _woken = [.. requests.Select(_ => new List<string>())];

    public override IVLinkMessage NodeMessage(ReplicaChoice replicas, TimeSpan budget) =>
        new NodeSearchBatch(Entry.Spec.Name, requests, Entry.Generation, replicas, budget);

    public override void AddNode(Address node, NodeHitsBatch? answer)
    {
        // An answer of the wrong length is not trusted: the node counts as not answering.
        var perQuery = answer is not null && answer.Answers.Count == requests.Count ? answer.Answers : null;
        for (int q = 0; q < requests.Count; q++)
        {
            var hits = perQuery?[q];
            _traces[q].Add(new NodeTrace(node.ToString(), hits is not null, hits?.ElapsedMicros ?? 0, hits?.Partitions ?? []));
            if (hits is null) continue;
            _hits[q] = TopK.Merge([_hits[q], hits.Hits], requests[q].K);
            foreach (var p in hits.Partitions) Answered(q, p.Partition);
            foreach (var p in hits.Missing) Named(q, p);
        }
    }

    public override IPartitionMessage PartitionMessage(PartitionRef replica, int[] queries) =>
        new SearchPartitionBatch(replica, [.. queries.Select(q => requests[q])]);

    public override void AddPartition(Gap gap, PartitionHitsBatch answer)
    {
        if (answer.Answers.Count != gap.Queries.Length) return;
        for (int j = 0; j < gap.Queries.Length; j++)
        {
            int q = gap.Queries[j];
            _hits[q] = TopK.Merge([_hits[q], answer.Answers[j].Hits], requests[q].K);
            Answered(q, answer.Partition.EntityId);
            _woken[q].Add(answer.Partition.EntityId);
        }
    }

    protected override PartitionRef PartitionOf(PartitionHitsBatch answer) => answer.Partition;

    protected override PartitionHitsBatch? ForGap(PartitionHitsBatch answer, Gap gap) =>
        answer.Answers.Count == requests.Count ? answer with { Answers = [.. gap.Queries.Select(q => answer.Answers[q])] } : null;

    public GlobalSearchResult[] Results(int messages, TimeSpan elapsed)
    {
        var results = new GlobalSearchResult[requests.Count];
        for (int q = 0; q < requests.Count; q++)
        {
            var missing = MissingOf(q);
            results[q] = new GlobalSearchResult(_hits[q], missing.Count == 0, missing, new SearchTrace(_traces[q], messages, _woken[q], (long)elapsed.TotalMicroseconds));
        }
        return results;
    }
}

/// <summary>
/// A hybrid search: each node's per-method rankings (merged over its partitions) reduce, as they arrive, into the
/// collection's per-method rankings; the result fuses them with RRF, so ranks are global.
/// </summary>
internal sealed class HybridSearchRead(CollectionEntry entry, HybridRequest request)
    : GatherRead<NodeHybridHits, PartitionHybridHits>(entry, 1, (_, _) => true)
{
    private IReadOnlyList<MethodRanking> _rankings = [];
    private bool _semantic = request.RunsSemantic;

    public override IVLinkMessage NodeMessage(ReplicaChoice replicas, TimeSpan budget) =>
        new NodeHybridSearch(Entry.Spec.Name, request, Entry.Generation, replicas, budget);

    public override void AddNode(Address node, NodeHybridHits? answer)
    {
        if (answer is null) return;
        _rankings = request.Merge([_rankings, answer.Rankings]);
        _semantic &= answer.SemanticRan || answer.Partitions.Count == 0;
        foreach (var p in answer.Partitions) Answered(0, p);
        foreach (var p in answer.Missing) Named(0, p);
    }

    public override IPartitionMessage PartitionMessage(PartitionRef replica, int[] queries) => new SearchPartitionHybrid(replica, request);

    public override void AddPartition(Gap gap, PartitionHybridHits answer)
    {
        _rankings = request.Merge([_rankings, answer.Rankings]);
        Answered(0, answer.Partition.EntityId);
    }

    protected override PartitionRef PartitionOf(PartitionHybridHits answer) => answer.Partition;

    public HybridSearchResult Result()
    {
        var missing = MissingOf(0);
        return new HybridSearchResult(request.Fuse(_rankings), _semantic && missing.Count == 0, missing.Count == 0, missing);
    }
}
