using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace VLink.Resilience.Tests;

/// <summary>One replica of a partition as <c>GET /cluster/shards</c> lists it.</summary>
/// <param name="Key">The partition's key (shared by its replicas).</param>
/// <param name="Replica">The replica index (0 … R−1).</param>
/// <param name="Node">The address of the node holding it.</param>
/// <param name="Digest">Its content digest (equal digests: the same ids at the same versions), as JSON text.</param>
/// <param name="Vectors">How many points it holds.</param>
public sealed record ReplicaEntry(string Key, int Replica, string Node, string Digest, long Vectors);

/// <summary>Replicated collections: creating them, where their replicas live, and whether the replicas agree.</summary>
public static class Replicas
{
    /// <summary>
    /// Creates a hash collection of <paramref name="partitions"/> partitions with replication factor
    /// <paramref name="replicationFactor"/> and write consistency <paramref name="writeConsistency"/> (a number,
    /// "majority" or "all"), and checks that <c>GET /collections/{name}</c> shows them.
    /// </summary>
    public static async Task CreateAsync(HttpClient client, string url, string name, int dimension, int partitions, int replicationFactor,
        JsonNode writeConsistency, string distance = "Euclid")
    {
        var body = new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = dimension, ["distance"] = distance },
            ["shard_number"] = partitions,
            ["replication_factor"] = replicationFactor,
        };
        // A number is Qdrant's write_consistency_factor; a word goes in write_consistency.
        if (writeConsistency.GetValueKind() == System.Text.Json.JsonValueKind.Number) body["write_consistency_factor"] = writeConsistency.DeepClone();
        else body["write_consistency"] = writeConsistency.DeepClone();
        await Rest.AcknowledgedAsync(() => client.PutAsync($"{url}/collections/{name}", Rest.Json(body)));
        var info = await Rest.Ok(await client.GetAsync($"{url}/collections/{name}"));
        var parameters = info["result"]!["config"]!["params"]!;
        Assert.Equal(replicationFactor, (int)parameters["replication_factor"]!);
        int expected = writeConsistency.GetValueKind() == System.Text.Json.JsonValueKind.Number ? (int)writeConsistency
            : (string)writeConsistency! == "all" ? replicationFactor : replicationFactor / 2 + 1;
        Assert.Equal(expected, (int)parameters["write_consistency_factor"]!);
    }

    /// <summary>Every current replica of <paramref name="collection"/> that a node holding it reported (nodes that did not answer list none).</summary>
    public static async Task<List<ReplicaEntry>> MapAsync(HttpClient client, string url, string collection)
    {
        var body = await Rest.Ok(await client.GetAsync($"{url}/cluster/shards"));
        var entries = new List<ReplicaEntry>();
        foreach (var node in body["result"]!["nodes"]!.AsArray())
        {
            if (node!["answered"] is JsonValue answered && !(bool)answered) continue;
            foreach (var p in node["partitions"]!.AsArray())
            {
                if ((string?)p!["collection"] != collection || p["current"] is JsonValue current && !(bool)current) continue;
                string entityId = (string)p["entity_id"]!;
                int replica = p["replica"] is JsonValue r ? (int)r : ReplicaOf(entityId);
                entries.Add(new ReplicaEntry((string)p["key"]!, replica, (string)node["address"]!, p["digest"]?.ToJsonString() ?? "", (long)p["vectors"]!));
            }
        }
        return entries;
    }

    /// <summary>The replica index in an entity id: <c>c@g#i/key</c> is replica i, <c>c@g/key</c> replica 0.</summary>
    public static int ReplicaOf(string entityId)
    {
        int slash = entityId.IndexOf('/', StringComparison.Ordinal);
        int hash = entityId.LastIndexOf('#', slash < 0 ? entityId.Length - 1 : slash);
        return hash < 0 ? 0 : int.Parse(entityId.AsSpan(hash + 1, slash - hash - 1), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Why the replica map is not yet "every one of <paramref name="partitions"/> partitions has replicas 0 … R−1, each
    /// once, on R distinct nodes among <paramref name="nodes"/>", or null when it is.
    /// </summary>
    public static string? PlacementProblem(IReadOnlyList<ReplicaEntry> map, int partitions, int replicationFactor, IReadOnlyCollection<string> nodes)
    {
        var byKey = map.GroupBy(e => e.Key).ToList();
        if (byKey.Count != partitions) return $"{byKey.Count} partitions listed, expected {partitions}";
        foreach (var key in byKey)
        {
            var replicas = key.Select(e => e.Replica).Order().ToList();
            if (!replicas.SequenceEqual(Enumerable.Range(0, replicationFactor)))
                return $"partition {key.Key} has replicas [{string.Join(",", replicas)}]";
            var where = key.Select(e => e.Node).ToList();
            if (where.Distinct().Count() != replicationFactor) return $"partition {key.Key} has replicas on the same node: {string.Join(", ", where)}";
            if (where.FirstOrDefault(n => !nodes.Contains(n)) is { } dead) return $"partition {key.Key} has a replica on {dead}, not a live node";
        }
        return null;
    }

    /// <summary>
    /// Why the replicas of some partition do not agree (point counts differ, or digests where the listing has them), or
    /// null when all agree.
    /// </summary>
    public static string? DivergenceProblem(IReadOnlyList<ReplicaEntry> map)
    {
        foreach (var key in map.GroupBy(e => e.Key))
        {
            if (key.Select(e => e.Digest).Distinct().Count() > 1 || key.Select(e => e.Vectors).Distinct().Count() > 1)
                return $"partition {key.Key}: " + string.Join("; ", key.OrderBy(e => e.Replica).Select(e => $"#{e.Replica} on {e.Node}: {e.Vectors} points, digest {e.Digest}"));
        }
        return null;
    }

    /// <summary>Polls until every partition has R replicas on distinct ready nodes; the map then.</summary>
    public static Task<List<ReplicaEntry>> WaitPlacedAsync(LocalCluster cluster, string collection, int partitions, int replicationFactor, TimeSpan timeout)
    {
        string? last = null;
        return Poll.UntilAsync($"{collection}: {partitions} partitions with {replicationFactor} replicas each on distinct live nodes", timeout, async () =>
        {
            var live = cluster.Ready;
            var map = await MapAsync(cluster.Admin, cluster.Url(live[0]), collection);
            last = PlacementProblem(map, partitions, replicationFactor, [.. live.Select(cluster.Address)]);
            return last is null ? map : null;
        }, () => $"last problem: {last}\n{cluster.Logs()}");
    }

    /// <summary>
    /// Polls until every partition has R replicas on distinct ready nodes and all replicas of each partition agree: equal
    /// point counts and digests in <c>/cluster/shards</c>, and 2R scrolls through every ready node (each scroll reads
    /// one replica of each partition, turning which) all the same, ids, versions' payloads and vectors.
    /// </summary>
    public static Task<List<ReplicaEntry>> WaitConvergedAsync(LocalCluster cluster, string collection, int partitions, int replicationFactor, TimeSpan timeout)
    {
        string? last = null;
        return Poll.UntilAsync($"{collection}: the replicas of every partition hold the same points", timeout, async () =>
        {
            var live = cluster.Ready;
            var map = await MapAsync(cluster.Admin, cluster.Url(live[0]), collection);
            last = PlacementProblem(map, partitions, replicationFactor, [.. live.Select(cluster.Address)]) ?? DivergenceProblem(map)
                ?? await ScrollDisagreementAsync(cluster, collection, replicationFactor);
            return last is null ? map : null;
        }, () => $"last problem: {last}\n{cluster.Logs()}");
    }

    /// <summary>
    /// Scrolls the whole collection 2R times through every ready node (each scroll reads one replica of each partition,
    /// turning which, so every replica is read); why two scrolls differ, or null when all are the same.
    /// </summary>
    public static async Task<string?> ScrollDisagreementAsync(LocalCluster cluster, string collection, int replicationFactor)
    {
        Dictionary<ulong, string>? reference = null;
        string referenceName = "";
        foreach (int node in cluster.Ready)
            for (int round = 0; round < 2 * replicationFactor; round++)
            {
                var points = (await Rest.ScrollAllAsync(cluster.Admin, cluster.Url(node), collection)).ToDictionary(p => (ulong)p["id"]!, p => p.ToJsonString());
                string name = $"scroll {round} through node {node}";
                if (reference is null)
                {
                    (reference, referenceName) = (points, name);
                    continue;
                }
                var differ = reference.Keys.Union(points.Keys).Where(id => reference.GetValueOrDefault(id) != points.GetValueOrDefault(id)).ToList();
                if (differ.Count > 0)
                    return $"{name} and {referenceName} differ in {differ.Count} ids, e.g. {differ[0]}: {points.GetValueOrDefault(differ[0]) ?? "absent"} / {reference.GetValueOrDefault(differ[0]) ?? "absent"}";
            }
        return null;
    }

    /// <summary>
    /// The points with these ids read through <paramref name="url"/> at read consistency <paramref name="consistency"/>
    /// (one, majority, all or a number), with payloads and vectors, by id.
    /// </summary>
    public static async Task<Dictionary<ulong, JsonObject>> ReadAsync(HttpClient client, string url, string collection, IEnumerable<ulong> ids, string consistency)
    {
        var found = new Dictionary<ulong, JsonObject>();
        foreach (var chunk in ids.Chunk(500))
        {
            var body = new JsonObject
            {
                ["ids"] = new JsonArray([.. chunk.Select(id => (JsonNode)id)]),
                ["with_payload"] = true,
                ["with_vector"] = true,
            };
            var answer = await Rest.Ok(await client.PostAsync($"{url}/collections/{collection}/points?consistency={consistency}&require_complete=true", Rest.Json(body)));
            foreach (var point in answer["result"]!.AsArray()) found[(ulong)point!["id"]!] = point.AsObject();
        }
        return found;
    }
}

/// <summary>One search answer as a client saw it.</summary>
/// <param name="SentAt">Stopwatch timestamp when sent.</param>
/// <param name="Millis">Latency.</param>
/// <param name="Node">The node asked.</param>
/// <param name="Complete">200 with <c>complete: true</c> and as many hits as asked for.</param>
/// <param name="Error">Why it is not complete (status and body, or <c>complete: false</c> with the missing partitions).</param>
/// <param name="Cut">The connection to the node asked broke because that node was killed (not an answer of the cluster).</param>
/// <param name="Hits">The ids answered.</param>
public sealed record SearchAnswer(long SentAt, double Millis, int Node, bool Complete, string? Error, bool Cut, IReadOnlyList<ulong> Hits);

/// <summary>
/// Clients that search a collection steadily through the ready nodes in turn (<see cref="LocalCluster.Ready"/>) and
/// record every answer. A request whose connection breaks because the node it asked was killed (or is being started
/// again) is recorded as cut: a client (or load balancer) would send it to another node; every other failure counts
/// against the cluster.
/// </summary>
public sealed class SearchLoad
{
    private readonly List<SearchAnswer> _answers = [];
    private readonly LocalCluster _cluster;
    private readonly string _collection;
    private readonly int _dimension;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly bool _batches;

    /// <param name="cluster">The cluster searched.</param>
    /// <param name="collection">The collection searched.</param>
    /// <param name="dimension">Its dimension.</param>
    /// <param name="clients">Search loops.</param>
    /// <param name="request">The search body, or null for a random vector and limit 10.</param>
    /// <param name="batches">Every other request a batch of two searches (<c>/points/search/batch</c>), judged alike.</param>
    public SearchLoad(LocalCluster cluster, string collection, int dimension, int clients, Func<Random, JsonObject>? request = null, bool batches = false)
    {
        _cluster = cluster;
        _collection = collection;
        _dimension = dimension;
        _batches = batches;
        for (int c = 0; c < clients; c++)
        {
            int client = c;
            _loops.Add(Task.Run(() => RunAsync(client, request)));
        }
    }

    /// <summary>Every answer so far, in the order they were sent.</summary>
    public List<SearchAnswer> Answers()
    {
        lock (_answers) return [.. _answers.OrderBy(a => a.SentAt)];
    }

    public int Count
    {
        get
        {
            lock (_answers) return _answers.Count;
        }
    }

    /// <summary>Waits until <paramref name="more"/> answers beyond those there now have arrived.</summary>
    public async Task WaitForMoreAsync(int more, TimeSpan timeout, Func<string>? context = null)
    {
        int target = Count + more;
        await Poll.UntilAsync($"{more} more search answers", timeout, () => Task.FromResult(Count >= target), context);
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    private async Task RunAsync(int client, Func<Random, JsonObject>? request)
    {
        using var http = LocalCluster.Client(LocalCluster.ReadKey);
        http.Timeout = TimeSpan.FromSeconds(30);
        var rng = new Random(900 + client);
        for (int n = 0; !_stop.IsCancellationRequested; n++)
        {
            var live = _cluster.Ready;
            if (live.Count == 0)
            {
                await Task.Delay(50);
                continue;
            }
            int node = live[(client + n) % live.Count];
            var body = request?.Invoke(rng) ?? new JsonObject
            {
                ["vector"] = Rest.Array([.. Enumerable.Range(0, _dimension).Select(_ => (float)(rng.NextDouble() * 2 - 1))]),
                ["limit"] = 10,
            };
            bool batch = _batches && n % 2 == 1;
            long sent = Stopwatch.GetTimestamp();
            SearchAnswer answer;
            try
            {
                using var response = batch
                    ? await http.PostAsync($"{_cluster.Url(node)}/collections/{_collection}/points/search/batch",
                        Rest.Json(new JsonObject { ["searches"] = new JsonArray(body.DeepClone(), body.DeepClone()) }))
                    : await http.PostAsync($"{_cluster.Url(node)}/collections/{_collection}/points/search", Rest.Json(body));
                string text = await response.Content.ReadAsStringAsync();
                double millis = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK)
                    answer = new SearchAnswer(sent, millis, node, false, $"{(int)response.StatusCode} from node {node}: {Short(text)}", false, []);
                else
                {
                    var json = JsonNode.Parse(text)!;
                    bool complete = (bool)json["complete"]!;
                    var lists = batch ? json["result"]!.AsArray().Select(a => a!.AsArray()).ToList() : [json["result"]!.AsArray()];
                    var hits = lists[0].Select(h => (ulong)h!["id"]!).ToList();
                    int limit = (int)body["limit"]!;
                    // The collections searched hold far more than limit points: a complete answer has limit hits.
                    string? error = !complete ? $"complete: false from node {node}{(batch ? " (batch)" : "")}, missing {json["missing_partitions"]?.ToJsonString()}"
                        : lists.Any(l => l.Count != limit) ? $"complete: true from node {node}{(batch ? " (batch)" : "")} with {string.Join("/", lists.Select(l => l.Count))} hits of {limit}" : null;
                    answer = new SearchAnswer(sent, millis, node, error is null, error, false, hits);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                double millis = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                // Cut: the node asked is dead now (the kill broke the connection or refused it).
                bool cut = !_cluster.Ready.Contains(node);
                if (_stop.IsCancellationRequested) break;
                answer = new SearchAnswer(sent, millis, node, false, $"{e.GetType().Name} from node {node}: {e.Message}", cut, []);
            }
            lock (_answers) _answers.Add(answer);
        }
    }

    private static string Short(string text) => text.Length > 300 ? text[..300] : text;
}

/// <summary>
/// Writers that overwrite points of their own id range through the ready nodes in turn. Each write of an id carries a
/// sequence number (in the payload, and the vector is derived from id and sequence); the ledger keeps, per id, every
/// sequence sent and the last one acknowledged, so a read can be judged: it must show the last acknowledged write or a
/// later one that was sent (a write not acknowledged may still have landed).
/// </summary>
public sealed class WriteLoad
{
    private readonly Dictionary<ulong, (HashSet<int> Sent, int Acked)> _ledger = [];
    private readonly LocalCluster _cluster;
    private readonly string _collection;
    private readonly int _dimension;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Latencies _latencies = new();
    private readonly List<(long At, bool Acked, string? Error)> _batches = [];

    /// <summary>Writer w owns ids <c>w * range … w * range + range − 1</c>, which must all hold sequence 0 already (see <see cref="Seed"/>).</summary>
    public WriteLoad(LocalCluster cluster, string collection, int dimension, int writers, int range, int batch = 10)
    {
        _cluster = cluster;
        _collection = collection;
        _dimension = dimension;
        for (int w = 0; w < writers; w++)
            for (int i = 0; i < range; i++)
                _ledger[(ulong)(w * range + i)] = ([0], 0);
        for (int w = 0; w < writers; w++)
        {
            int writer = w;
            _loops.Add(Task.Run(() => RunAsync(writer, range, batch)));
        }
    }

    public Latencies Latencies => _latencies;

    /// <summary>The vector written to <paramref name="id"/> by its write number <paramref name="sequence"/>.</summary>
    public static float[] VectorOf(ulong id, int sequence, int dimension) => Rest.VectorOf((long)id * 7919 + sequence, dimension);

    /// <summary>The body writing sequence 0 of <paramref name="ids"/> (the data the load starts from).</summary>
    public static JsonObject Seed(IEnumerable<ulong> ids, int dimension) => Body(ids, 0, dimension);

    public int AckedBatches
    {
        get
        {
            lock (_batches) return _batches.Count(b => b.Acked);
        }
    }

    public List<(long At, bool Acked, string? Error)> Batches()
    {
        lock (_batches) return [.. _batches];
    }

    public async Task WaitForAcksAsync(int more, TimeSpan timeout, Func<string>? context = null)
    {
        int target = AckedBatches + more;
        await Poll.UntilAsync($"{more} more acknowledged upserts", timeout, () => Task.FromResult(AckedBatches >= target), context);
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    /// <summary>Every id and what a read of it may show: the sequences sent, and the last acknowledged.</summary>
    public Dictionary<ulong, (HashSet<int> Sent, int Acked)> Ledger()
    {
        lock (_ledger) return _ledger.ToDictionary(e => e.Key, e => (new HashSet<int>(e.Value.Sent), e.Value.Acked));
    }

    /// <summary>Why <paramref name="point"/> (as read) is not a value the ledger allows for its id, or null.</summary>
    public static string? Judge(ulong id, JsonObject? point, (HashSet<int> Sent, int Acked) ledger, int dimension)
    {
        if (point is null) return $"{id}: missing (last acknowledged write {ledger.Acked})";
        int sequence = (int)point["payload"]!["seq"]!;
        if (!ledger.Sent.Contains(sequence)) return $"{id}: sequence {sequence} was never written";
        if (sequence < ledger.Acked) return $"{id}: holds write {sequence}, older than the acknowledged write {ledger.Acked}";
        if (!Rest.Floats(point["vector"]!).SequenceEqual(VectorOf(id, sequence, dimension))) return $"{id}: the vector is not write {sequence}'s";
        return null;
    }

    private static JsonObject Body(IEnumerable<ulong> ids, int sequence, int dimension) => new()
    {
        ["points"] = new JsonArray([.. ids.Select(id => (JsonNode)new JsonObject
        {
            ["id"] = id,
            ["vector"] = Rest.Array(VectorOf(id, sequence, dimension)),
            ["payload"] = new JsonObject { ["seq"] = sequence },
        })]),
    };

    private async Task RunAsync(int writer, int range, int batch)
    {
        using var http = LocalCluster.Client(LocalCluster.WriteKey);
        http.Timeout = TimeSpan.FromSeconds(30);
        var rng = new Random(700 + writer);
        for (int n = 1; !_stop.IsCancellationRequested; n++)
        {
            var live = _cluster.Ready;
            if (live.Count == 0)
            {
                await Task.Delay(50);
                continue;
            }
            int node = live[(writer + n) % live.Count];
            var ids = Enumerable.Range(0, range).OrderBy(_ => rng.Next()).Take(batch).Select(i => (ulong)(writer * range + i)).ToList();
            lock (_ledger)
                foreach (ulong id in ids) _ledger[id].Sent.Add(n);
            long sent = Stopwatch.GetTimestamp();
            string? error = null;
            try
            {
                using var response = await http.PutAsync($"{_cluster.Url(node)}/collections/{_collection}/points", Rest.Json(Body(ids, n, _dimension)));
                string text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK) error = $"{(int)response.StatusCode} from node {node}: {(text.Length > 300 ? text[..300] : text)}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                if (_stop.IsCancellationRequested) break;
                error = $"{e.GetType().Name} from node {node}: {e.Message}";
            }
            _latencies.Add(Stopwatch.GetElapsedTime(sent));
            if (error is null)
            {
                lock (_ledger)
                    foreach (ulong id in ids)
                    {
                        var entry = _ledger[id];
                        _ledger[id] = (entry.Sent, Math.Max(entry.Acked, n));
                    }
            }
            lock (_batches) _batches.Add((sent, error is null, error));
            if (error is not null) await Task.Delay(100, CancellationToken.None);
        }
    }
}

/// <summary>What a scenario did when (kills, restores, restarts), to place a failed answer in time in a failure message.</summary>
public sealed class Timeline
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<(long At, string What)> _events = [];

    /// <summary>Records <paramref name="what"/> as happening now.</summary>
    public void Mark(string what)
    {
        lock (_events) _events.Add((Stopwatch.GetTimestamp(), what));
    }

    /// <summary>Where the Stopwatch timestamp <paramref name="at"/> falls: seconds since the start and since the latest event before it.</summary>
    public string Place(long at)
    {
        lock (_events)
        {
            var last = _events.LastOrDefault(e => e.At <= at);
            string since = last.What is null ? "" : $", {Rest.F(Stopwatch.GetElapsedTime(last.At, at).TotalSeconds)} s after {last.What}";
            return $"at {Rest.F(Stopwatch.GetElapsedTime(_start, at).TotalSeconds)} s{since}";
        }
    }

    /// <summary>Every event, with its time since the start.</summary>
    public override string ToString()
    {
        lock (_events) return string.Join("; ", _events.Select(e => $"{Rest.F(Stopwatch.GetElapsedTime(_start, e.At).TotalSeconds)} s {e.What}"));
    }
}
