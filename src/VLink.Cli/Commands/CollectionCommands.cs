using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using VLink.Cli.Client;

namespace VLink.Cli.Commands;

/// <summary><c>vlink collection create|list|delete</c>.</summary>
internal static class CollectionCommands
{
    /// <summary>Qdrant's distance names, as the server takes them.</summary>
    internal static readonly string[] Distances = ["Cosine", "Dot", "Euclid"];

    public static Command Build()
    {
        var command = new Command("collection", "Create, list and delete collections.");
        command.Subcommands.Add(BuildCreate());
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildDelete());
        return command;
    }

    private static Command BuildCreate()
    {
        var name = new Argument<string>("NAME") { Description = "Collection name: letters, digits, '-', '_' and '.'." };
        var size = new Option<int>("--size") { Description = "Vector dimension.", Required = true, HelpName = "N" };
        var distance = new Option<string>("--distance") { Description = "Distance: Cosine, Dot or Euclid.", Required = true, HelpName = "Cosine|Dot|Euclid" };
        var shards = new Option<int?>("--shards") { Description = "Partitions the points are spread over (server default 4).", HelpName = "N" };
        var m = new Option<int?>("--m") { Description = "HNSW links per node (2-256).", HelpName = "M" };
        var ef = new Option<int?>("--ef-construct") { Description = "HNSW candidate list size while building (4-100000).", HelpName = "EF" };
        var regions = new Option<bool>("--regions") { Description = "Partition by region: the shards become k-means regions, and a search visits only those nearest its query." };
        var trainSize = new Option<int?>("--train-size") { Description = "Region collections: points k-means trains on before the regions fill (default 10000).", HelpName = "N" };
        var probes = new Option<int?>("--probes") { Description = "Region collections: regions a search visits by default (default 3).", HelpName = "N" };
        var replicas = new Option<int?>("--replication-factor") { Description = "Copies of each shard, kept on distinct nodes (1-16, default 1).", HelpName = "R" };
        var writeConsistency = new Option<string?>("--write-consistency")
        {
            Description = "Replicas that must hold a write before it is acknowledged: a number, majority or all (default 1).",
            HelpName = "W|majority|all",
        };
        replicas.Check(v => v is < 1 or > 16 ? $"--replication-factor: {v} must be between 1 and 16." : null);
        writeConsistency.Check(v => v is null or "majority" or "all" || (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w is >= 1 and <= 16)
            ? null
            : $"--write-consistency: '{v}' is not a number of replicas (1-16), majority or all.");
        trainSize.Check(v => v is < 1 or > 10_000_000 ? $"--train-size: {v} must be between 1 and 10000000." : null);
        probes.Check(v => v is < 1 or > 65536 ? $"--probes: {v} must be between 1 and 65536." : null);
        distance.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, Distances);
        size.Check(v => v is < 1 or > 65536 ? $"--size: {v} must be between 1 and 65536." : null);
        shards.Check(v => v is < 1 or > 65536 ? $"--shards: {v} must be between 1 and 65536." : null);
        m.Check(v => v is < 2 or > 256 ? $"--m: {v} must be between 2 and 256." : null);
        ef.Check(v => v is < 4 or > 100_000 ? $"--ef-construct: {v} must be between 4 and 100000." : null);

        var command = new CheckedCommand("create", "Create a collection.") { name, size, distance, shards, m, ef, regions, trainSize, probes, replicas, writeConsistency };
        command.Checks.Add(parse => !parse.GetValue(regions) && (parse.GetValue(trainSize) is not null || parse.GetValue(probes) is not null)
            ? "--train-size and --probes apply to region collections; add --regions."
            : null);
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            string collection = parse.GetValue(name)!;
            string metric = Distances.First(d => d.Equals(parse.GetValue(distance), StringComparison.OrdinalIgnoreCase));
            var body = new JsonObject { ["vectors"] = new JsonObject { ["size"] = parse.GetValue(size), ["distance"] = metric } };
            if (parse.GetValue(shards) is { } n) body["shard_number"] = n;
            if (parse.GetValue(replicas) is { } r) body["replication_factor"] = r;
            if (parse.GetValue(writeConsistency) is { } wc)
                body["write_consistency"] = int.TryParse(wc, NumberStyles.None, CultureInfo.InvariantCulture, out int w) ? JsonValue.Create(w) : JsonValue.Create(wc);
            var hnsw = new JsonObject();
            if (parse.GetValue(m) is { } links) hnsw["m"] = links;
            if (parse.GetValue(ef) is { } construct) hnsw["ef_construct"] = construct;
            if (hnsw.Count > 0) body["hnsw_config"] = hnsw;
            if (parse.GetValue(regions))
            {
                var region = new JsonObject();
                if (parse.GetValue(trainSize) is { } train) region["train_size"] = train;
                if (parse.GetValue(probes) is { } p) region["probes"] = p;
                body["regions"] = region;
            }
            using var client = VLinkClient.From(parse);
            await client.SendJsonAsync(HttpMethod.Put, $"collections/{VLinkClient.Segment(collection)}", body, ct).ConfigureAwait(false);
            Output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"created collection {collection} ({parse.GetValue(size)}-d {metric}{(parse.GetValue(shards) is { } s ? $", {s} shards" : "")})"));
            return 0;
        }));
        return command;
    }

    private static Command BuildList()
    {
        var json = new Option<bool>("--json") { Description = "Print the server's JSON instead of a table." };
        var command = new Command("list", "List collections with their size, distance, shards and points.") { json };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            using var client = VLinkClient.From(parse);
            var list = await client.GetJsonAsync("collections", ct).ConfigureAwait(false);
            var names = list["result"]?["collections"]?.AsArray().Select(c => (string?)c?["name"]).OfType<string>().ToList() ?? [];
            var infos = new List<(string Name, JsonNode? Info)>();
            foreach (string collection in names)
            {
                JsonNode? info = null;
                try
                {
                    info = (await client.GetJsonAsync($"collections/{VLinkClient.Segment(collection)}", ct).ConfigureAwait(false))["result"];
                }
                catch (CliException)
                {
                    // Dropped between the list and the describe: shown without details.
                }
                infos.Add((collection, info));
            }
            if (parse.GetValue(json))
            {
                var all = new JsonArray([.. infos.Select(i => (JsonNode)new JsonObject { ["name"] = i.Name, ["info"] = i.Info?.DeepClone() })]);
                Output.Out.WriteLine(Output.Json(all));
                return 0;
            }
            if (infos.Count == 0)
            {
                Output.Out.WriteLine("no collections");
                return 0;
            }
            var table = new Table().AddColumns("name", "size", "distance", "shards", "replicas", "points");
            foreach (var (collection, info) in infos)
            {
                var vectors = info?["config"]?["params"]?["vectors"];
                table.AddRow(
                    Markup.Escape(collection),
                    Text(vectors?["size"]),
                    Text(vectors?["distance"]),
                    Text(info?["config"]?["params"]?["shard_number"]),
                    Text(info?["config"]?["params"]?["replication_factor"]),
                    Text(info?["points_count"]));
            }
            Output.Out.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command BuildDelete()
    {
        var name = new Argument<string>("NAME") { Description = "The collection to delete." };
        var command = new Command("delete", "Delete a collection and its points.") { name };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            string collection = parse.GetValue(name)!;
            using var client = VLinkClient.From(parse);
            var answer = await client.SendJsonAsync(HttpMethod.Delete, $"collections/{VLinkClient.Segment(collection)}", null, ct).ConfigureAwait(false);
            bool deleted = answer["result"] is JsonValue v && v.TryGetValue(out bool b) && b;
            Output.Out.WriteLine(deleted ? $"deleted collection {collection}" : $"collection {collection} does not exist (nothing deleted)");
            return 0;
        }));
        return command;
    }

    /// <summary>A JSON value as table text ("-" when absent).</summary>
    internal static string Text(JsonNode? node) => node switch
    {
        null => "-",
        JsonValue value when value.TryGetValue(out string? s) => Markup.Escape(s),
        _ => Markup.Escape(node.ToJsonString()),
    };
}
