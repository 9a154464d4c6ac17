using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using VLink.Cli.Client;

namespace VLink.Cli.Commands;

/// <summary><c>vlink cluster show|shards|singleton|leave|down|join</c>.</summary>
internal static class ClusterCommands
{
    public static Command Build()
    {
        var command = new Command("cluster", "Inspect and operate the cluster: members, partitions, the catalog singleton; leave, down, join.");
        command.Subcommands.Add(Read("show", "List the members: address, status, roles, leader, reachability.", "cluster", ShowMembers));
        command.Subcommands.Add(Read("shards", "List the partitions each node hosts, with their vectors and index kind (flat or hnsw).", "cluster/shards", ShowShards));
        command.Subcommands.Add(Read("singleton", "Show where the catalog singleton runs and the position of its log (term, index).", "cluster/singleton", ShowSingleton));
        command.Subcommands.Add(Operation("leave", "ADDR", "address", "Ask a member to leave the cluster gracefully (its partitions and the catalog move to other nodes)."));
        command.Subcommands.Add(Operation("down", "ADDR", "address", "Mark a member as down (for a crashed node: its partitions are then started on other nodes)."));
        command.Subcommands.Add(Operation("join", "SEED", "seed", "Ask the node at --url to join the cluster at SEED (only while it is not yet a member of a cluster)."));
        return command;
    }

    private static Command Read(string name, string description, string path, Action<JsonNode> show)
    {
        var json = new Option<bool>("--json") { Description = "Print the server's JSON instead of tables." };
        var command = new Command(name, description) { json };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            using var client = VLinkClient.From(parse);
            var answer = await client.GetJsonAsync(path, ct).ConfigureAwait(false);
            if (parse.GetValue(json)) Output.Out.WriteLine(Output.Json(answer));
            else show(answer["result"] ?? new JsonObject());
            return 0;
        }));
        return command;
    }

    private static Command Operation(string name, string argumentName, string field, string description)
    {
        var target = new Argument<string>(argumentName) { Description = "A node as HOST:PORT (its cluster port) or akka.tcp://vlink@HOST:PORT." };
        var command = new Command(name, description) { target };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            using var client = VLinkClient.From(parse);
            var answer = await client.SendJsonAsync(HttpMethod.Post, $"cluster/{name}", new JsonObject { [field] = parse.GetValue(target) }, ct).ConfigureAwait(false);
            var result = answer["result"];
            string message = name switch
            {
                "join" when (bool?)result?["already_member"] == true => $"{Text(result?["seed"])} is already in this node's cluster; nothing to do",
                "join" => $"joining the cluster at {Text(result?["seed"])}",
                "leave" => $"{Text(result?["address"])} is leaving the cluster (was {Text(result?["previous_status"])})",
                _ => $"{Text(result?["address"])} is marked down (was {Text(result?["previous_status"])})",
            };
            Output.Out.WriteLine(message);
            return 0;
        }));
        return command;
    }

    private static void ShowMembers(JsonNode result)
    {
        var table = new Table().AddColumns("address", "status", "roles", "up", "leader", "catalog", "reachable");
        string? catalogLeader = result["raft_info"]?["leader"]?.ToJsonString();
        foreach (var member in result["members"]?.AsArray() ?? [])
        {
            var roles = member?["roles"]?.AsArray().Select(r => (string?)r).OfType<string>().ToList() ?? [];
            table.AddRow(
                Markup.Escape(Text(member?["address"])),
                Markup.Escape(Text(member?["status"])),
                roles.Count == 0 ? "-" : Markup.Escape(string.Join(",", roles)),
                Markup.Escape(Text(member?["up_number"])),
                (bool?)member?["leader"] == true ? "*" : "",
                catalogLeader is not null && member?["peer_id"]?.ToJsonString() == catalogLeader ? "*" : "",
                (bool?)member?["reachable"] == false ? "UNREACHABLE" : "yes");
        }
        Output.Out.Write(table);
        Output.Out.WriteLine($"self: {Text(result["self"])}   leader: {Text(result["leader"])}   members: {result["members"]?.AsArray().Count ?? 0}   unreachable: {result["unreachable"]?.AsArray().Count ?? 0}");
        if (result["raft_info"] is JsonObject raft)
            Output.Out.WriteLine($"catalog: term {Text(raft["term"])}, index {Text(raft["commit"])}");
    }

    private static void ShowShards(JsonNode result)
    {
        // A node's "vectors" count each logical partition once (its lowest replica that answered); "hosted" is every
        // replica the node holds. The detail lists every replica with its digest, equal on replicas that converged.
        var summary = new Table().AddColumns("node", "status", "replicas", "vectors", "hosted", "index kinds");
        var detail = new Table().AddColumns("node", "collection", "partition", "replica", "vectors", "index", "memory", "digest");
        foreach (var node in result["nodes"]?.AsArray() ?? [])
        {
            string address = Text(node?["address"]);
            var partitions = node?["partitions"]?.AsArray().Where(p => (bool?)p?["current"] != false).ToList() ?? [];
            string kinds = string.Join(", ", partitions.GroupBy(p => Text(p?["index"])).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key} {g.Count()}")));
            string status = (bool?)node?["answered"] == true ? Text(node?["status"]) : $"{Text(node?["status"])} ({Text(node?["error"])})";
            summary.AddRow(Markup.Escape(address), Markup.Escape(status), partitions.Count.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(Text(node?["vectors"])), Markup.Escape(Text(node?["hosted_vectors"] ?? node?["vectors"])), Markup.Escape(kinds.Length == 0 ? "-" : kinds));
            foreach (var p in partitions)
            {
                detail.AddRow(Markup.Escape(address), Markup.Escape(Text(p?["collection"])), Markup.Escape(Text(p?["key"])),
                    Markup.Escape(Text(p?["replica"] ?? 0)), Markup.Escape(Text(p?["vectors"])), Markup.Escape(Text(p?["index"])),
                    Markup.Escape(Bytes(p?["memory_bytes"])), Markup.Escape(Text(p?["digest"])));
            }
        }
        Output.Out.Write(summary);
        if (detail.Rows.Count > 0) Output.Out.Write(detail);
        Output.Out.WriteLine($"partitions: {Text(result["partitions"])}   replicas: {Text(result["replicas"] ?? result["partitions"])}   vectors: {Text(result["vectors"])}");
    }

    private static void ShowSingleton(JsonNode result)
    {
        var table = new Table().AddColumns("catalog", "");
        foreach (string key in new[] { "node", "term", "index", "collections", "schema_version", "oldest" })
            table.AddRow(key, Markup.Escape(Text(result[key])));
        Output.Out.Write(table);
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "-",
        JsonValue value when value.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    private static string Bytes(JsonNode? node)
    {
        if (node is not JsonValue v || !v.TryGetValue(out long bytes)) return "-";
        return bytes switch
        {
            < 1 << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
            < 1 << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
        };
    }
}
