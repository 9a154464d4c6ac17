using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Replication;

namespace VLink.Server.Api;

/// <summary>
/// Cluster inspection and operations: members (in Qdrant's <c>/cluster</c> shape plus VLink's fields), the
/// partitions each node hosts, the catalog singleton, and leave / down / join for operators.
/// </summary>
public static class ClusterEndpoints
{
    /// <summary>Maps the cluster routes: reads need the read role, operations the admin role.</summary>
    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cluster", ShowAsync).RequireRole(VLinkRole.Read);
        app.MapGet("/cluster/shards", ShardsAsync).RequireRole(VLinkRole.Read);
        app.MapGet("/cluster/singleton", SingletonAsync).RequireRole(VLinkRole.Read);
        app.MapPost("/cluster/leave", LeaveAsync).RequireRole(VLinkRole.Admin);
        app.MapPost("/cluster/down", DownAsync).RequireRole(VLinkRole.Admin);
        app.MapPost("/cluster/join", JoinAsync).RequireRole(VLinkRole.Admin);
        return app;
    }

    /// <summary>
    /// Reads a node address given as <c>akka.tcp://system@host:port</c> or as <c>host:port</c> (this cluster's
    /// system then); 400 naming <paramref name="field"/> when it is neither or names another actor system.
    /// </summary>
    public static Address ParseAddress(string? text, Address self, string field)
    {
        ArgumentNullException.ThrowIfNull(self);
        if (string.IsNullOrWhiteSpace(text)) throw ApiException.BadField(field, "is required (host:port or akka.tcp://system@host:port)");
        string rest = text.Trim();
        string system = self.System;
        int scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            string protocol = rest[..scheme];
            if (!string.Equals(protocol, self.Protocol, StringComparison.Ordinal))
                throw ApiException.BadField(field, $"'{text}' uses protocol '{protocol}'; this cluster speaks '{self.Protocol}'");
            rest = rest[(scheme + 3)..];
            int at = rest.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0) throw ApiException.BadField(field, $"'{text}' names no actor system (expected {self.Protocol}://{self.System}@host:port)");
            system = rest[..at];
            if (!string.Equals(system, self.System, StringComparison.Ordinal))
                throw ApiException.BadField(field, $"'{text}' names actor system '{system}'; this cluster's is '{self.System}'");
            rest = rest[(at + 1)..];
        }
        int colon = rest.LastIndexOf(':');
        if (colon <= 0 || colon == rest.Length - 1)
            throw ApiException.BadField(field, $"'{text}' is not host:port or {self.Protocol}://{self.System}@host:port");
        string host = rest[..colon];
        if (host.Any(c => char.IsWhiteSpace(c) || c is '/' or '@'))
            throw ApiException.BadField(field, $"'{text}' has an invalid host '{host}'");
        if (!int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            throw ApiException.BadField(field, $"'{text}' has an invalid port (1-65535)");
        return new Address(self.Protocol, system, host, port);
    }

    private static async Task<IResult> ShowAsync(VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        var cluster = Akka.Cluster.Cluster.Get(node.System);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();

        // Akka keeps a member's up-number to itself; its age order (oldest first) is the same ranking, numbered from 1.
        var upOrder = state.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting)
            .OrderBy(m => m, Member.AgeOrdering)
            .Select((m, i) => (m.Address, Rank: i + 1))
            .ToDictionary(x => x.Address, x => x.Rank);
        var peers = new JsonObject();
        var list = new JsonArray();
        foreach (var m in members)
        {
            peers[PeerId(m.UniqueAddress).ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["uri"] = m.Address.ToString() };
            list.Add(new JsonObject
            {
                ["address"] = m.Address.ToString(),
                ["peer_id"] = PeerId(m.UniqueAddress),
                ["status"] = m.Status.ToString(),
                ["roles"] = new JsonArray([.. m.Roles.Order(StringComparer.Ordinal).Select(r => (JsonNode)JsonValue.Create(r))]),
                ["up_number"] = upOrder.TryGetValue(m.Address, out int rank) ? rank : null,
                ["reachable"] = !unreachable.Contains(m.Address),
                ["leader"] = m.Address.Equals(state.Leader),
            });
        }

        var result = new JsonObject
        {
            ["status"] = "enabled",
            ["peer_id"] = PeerId(cluster.SelfUniqueAddress),
            ["peers"] = peers,
        };
        // Qdrant's raft_info maps onto the catalog's log: its term, its last entry, and the node holding it.
        try
        {
            var catalog = await node.CatalogStatusAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            var holder = members.FirstOrDefault(m => m.Address.ToString() == catalog.Node);
            result["raft_info"] = new JsonObject
            {
                ["term"] = catalog.Term,
                ["commit"] = catalog.Index,
                ["pending_operations"] = 0,
                ["leader"] = holder is null ? null : PeerId(holder.UniqueAddress),
                ["role"] = catalog.Node == cluster.SelfAddress.ToString() ? "Leader" : "Follower",
                ["is_voter"] = true,
            };
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or TimeoutException)
        {
            result["raft_info"] = null;
        }
        result["message_send_failures"] = new JsonObject();
        result["self"] = cluster.SelfAddress.ToString();
        result["leader"] = state.Leader?.ToString();
        result["members"] = list;
        result["unreachable"] = new JsonArray([.. unreachable.Select(a => a.ToString()).Order(StringComparer.Ordinal).Select(a => (JsonNode)JsonValue.Create(a))]);
        return Envelope.Ok(result, clock);
    }

    private static async Task<IResult> ShardsAsync(VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        var state = Akka.Cluster.Cluster.Get(node.System).State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        CatalogSnapshot? catalog = null;
        try
        {
            catalog = await node.CatalogAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or TimeoutException)
        {
            // Still list what the nodes hold; whether a partition is current stays unknown.
        }

        var members = state.Members
            .Where(m => m.Status is not (MemberStatus.Removed or MemberStatus.Down))
            .OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .ToList();
        var inventories = await Task.WhenAll(members.Select(async m =>
        {
            if (unreachable.Contains(m.Address)) return (m, (NodeInventory?)null, (string?)"unreachable");
            try
            {
                return (m, await node.InventoryAsync(m.Address).ConfigureAwait(false), (string?)null);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or TimeoutException)
            {
                return (m, null, "did not answer in time");
            }
        })).ConfigureAwait(false);

        // Each logical partition counts once in the totals: by its lowest replica that answered (replica 0 while its
        // node answers), so replicas do not multiply the vectors and a lost replica 0 is stood in for by another.
        var counted = inventories
            .SelectMany(i => i.Item2?.Partitions ?? [])
            .GroupBy(s => s.Partition.Primary())
            .ToDictionary(g => g.Key, g => g.Min(s => s.Partition.Replica));
        var nodes = new JsonArray();
        long totalVectors = 0;
        int totalPartitions = 0, totalReplicas = 0;
        foreach (var (member, inventory, error) in inventories)
        {
            var partitions = new JsonArray();
            long vectors = 0, hosted = 0;
            foreach (var stats in inventory?.Partitions ?? [])
            {
                var p = stats.Partition;
                bool? current = catalog is null ? null : catalog.Find(p.Collection)?.Generation == p.Generation;
                partitions.Add(new JsonObject
                {
                    ["collection"] = p.Collection,
                    ["key"] = p.Key,
                    ["generation"] = p.Generation,
                    ["replica"] = p.Replica,
                    ["entity_id"] = p.EntityId,
                    ["vectors"] = stats.Points,
                    ["index"] = stats.IndexKind,
                    ["memory_bytes"] = stats.MemoryBytes,
                    ["mapped_bytes"] = stats.MappedBytes,
                    ["digest"] = ReplicaDigests.Hex(stats.Digest),
                    ["high_water"] = stats.HighWater.IsNone ? null : stats.HighWater.ToString(),
                    ["current"] = current,
                    ["history_lost"] = stats.HistoryLost,
                });
                if (current == false) continue;
                hosted += stats.Points;
                totalReplicas++;
                if (counted[p.Primary()] == p.Replica)
                {
                    vectors += stats.Points;
                    totalPartitions++;
                }
            }
            totalVectors += vectors;
            nodes.Add(new JsonObject
            {
                ["address"] = member.Address.ToString(),
                ["status"] = member.Status.ToString(),
                ["answered"] = inventory is not null,
                ["error"] = error,
                ["vectors"] = vectors,
                ["hosted_vectors"] = hosted,
                ["unanswered_partitions"] = inventory?.Unanswered ?? 0,
                ["partitions"] = partitions,
            });
        }
        return Envelope.Ok(new JsonObject { ["nodes"] = nodes, ["partitions"] = totalPartitions, ["replicas"] = totalReplicas, ["vectors"] = totalVectors }, clock);
    }

    private static async Task<IResult> SingletonAsync(VLinkNode node)
    {
        var clock = Stopwatch.StartNew();
        var status = await node.CatalogStatusAsync().ConfigureAwait(false);
        var oldest = Akka.Cluster.Cluster.Get(node.System).State.Members
            .Where(m => m.Status == MemberStatus.Up)
            .OrderBy(m => m, Member.AgeOrdering)
            .FirstOrDefault();
        return Envelope.Ok(new JsonObject
        {
            ["name"] = "vlink-catalog",
            ["node"] = status.Node,
            ["term"] = status.Term,
            ["index"] = status.Index,
            ["collections"] = status.Collections,
            ["schema_version"] = status.SchemaVersion,
            ["oldest"] = oldest?.Address.ToString(),
        }, clock);
    }

    private static Task<IResult> LeaveAsync(HttpRequest request, VLinkNode node, CancellationToken cancellationToken) =>
        OperateAsync(request, node, "leave", (cluster, address) => cluster.Leave(address), cancellationToken);

    private static Task<IResult> DownAsync(HttpRequest request, VLinkNode node, CancellationToken cancellationToken) =>
        OperateAsync(request, node, "down", (cluster, address) => cluster.Down(address), cancellationToken);

    private static async Task<IResult> OperateAsync(HttpRequest request, VLinkNode node, string operation, Action<Akka.Cluster.Cluster, Address> apply, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var cluster = Akka.Cluster.Cluster.Get(node.System);
        RequestJson.OnlyFields(document.RootElement, "", "address");
        var address = ParseAddress(RequiredString(document.RootElement, "address"), cluster.SelfAddress, "address");
        var member = cluster.State.Members.FirstOrDefault(m => m.Address.Equals(address))
            ?? throw new ApiException(StatusCodes.Status404NotFound, "address", $"address: {address} is not a member of this cluster");
        apply(cluster, member.Address);
        return Envelope.Ok(new JsonObject
        {
            ["address"] = member.Address.ToString(),
            ["operation"] = operation,
            ["previous_status"] = member.Status.ToString(),
        }, clock);
    }

    private static async Task<IResult> JoinAsync(HttpRequest request, VLinkNode node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var document = await RequestJson.ReadObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var cluster = Akka.Cluster.Cluster.Get(node.System);
        RequestJson.OnlyFields(document.RootElement, "", "seed");
        var seed = ParseAddress(RequiredString(document.RootElement, "seed"), cluster.SelfAddress, "seed");
        var state = cluster.State;
        bool selfIsMember = cluster.SelfMember.Status is MemberStatus.Up or MemberStatus.WeaklyUp;
        if (selfIsMember)
        {
            // Akka clusters never merge: a member can only (re)join the cluster it is already in.
            if (!state.Members.Any(m => m.Address.Equals(seed)))
                throw new ApiException(StatusCodes.Status409Conflict, "seed",
                    $"seed: this node is already a member of a cluster that does not include {seed}; leave it and restart the node with --seed to join another");
            return Envelope.Ok(new JsonObject { ["seed"] = seed.ToString(), ["operation"] = "join", ["already_member"] = true }, clock);
        }
        cluster.Join(seed);
        return Envelope.Ok(new JsonObject { ["seed"] = seed.ToString(), ["operation"] = "join", ["already_member"] = false }, clock);
    }

    private static string? RequiredString(JsonElement root, string name)
    {
        if (!RequestJson.TryGet(root, name, out var value)) throw ApiException.BadField(name, "is required");
        if (value.ValueKind != JsonValueKind.String) throw ApiException.BadField(name, "expected a string (host:port or akka.tcp://system@host:port)");
        return value.GetString();
    }

    // Qdrant's peer ids are numbers; a member's incarnation uid is unique and stable for the life of its process.
    private static long PeerId(UniqueAddress address) => address.Uid;
}
