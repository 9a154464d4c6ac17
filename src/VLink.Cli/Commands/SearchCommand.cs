using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using VLink.Cli.Client;

namespace VLink.Cli.Commands;

/// <summary><c>vlink search COLLECTION --vector ...</c>: the global top-k of a collection.</summary>
internal static class SearchCommand
{
    public static Command Build()
    {
        var collection = new Argument<string>("COLLECTION") { Description = "The collection to search." };
        var vector = new Option<string>("--vector") { Description = "The query vector: numbers separated by commas, e.g. \"0.1,0.2,0.3\".", HelpName = "CSV" };
        var vectorFile = new Option<string>("--vector-file") { Description = "A file holding the query vector: a JSON array or numbers separated by commas or whitespace.", HelpName = "FILE" };
        var limit = new Option<int>("--limit") { Description = "Results wanted (k).", DefaultValueFactory = _ => 10, HelpName = "K" };
        var filter = new Option<string>("--filter") { Description = "A Qdrant payload filter as JSON, e.g. '{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"Paris\"}}]}'.", HelpName = "JSON" };
        var withPayload = new Option<bool>("--with-payload") { Description = "Show each hit's payload." };
        var exact = new Option<bool>("--exact") { Description = "Exact scan in every partition (the brute-force answer) instead of HNSW." };
        var ef = new Option<int?>("--ef") { Description = "HNSW ef for this search (larger: better recall, slower).", HelpName = "EF" };
        var probes = new Option<int?>("--probes") { Description = "Region collections: regions this search visits (default: the collection's).", HelpName = "N" };
        var json = new Option<bool>("--json") { Description = "Print the server's JSON answer instead of a table." };
        limit.Check(v => v is < 1 or > 10_000 ? $"--limit: {v} must be between 1 and 10000." : null);
        ef.Check(v => v is < 1 or > 100_000 ? $"--ef: {v} must be between 1 and 100000." : null);
        probes.Check(v => v is < 1 or > 65536 ? $"--probes: {v} must be between 1 and 65536." : null);
        filter.Validators.Add(r =>
        {
            string? text = r.GetValue(filter);
            if (text is not null && VLinkClient.TryParseObject(text) is null) r.AddError("--filter: expected a JSON object, e.g. '{\"must\":[...]}'.");
        });

        var command = new CheckedCommand("search", "Search a collection for the nearest points to a vector (the global top-k over every partition).")
        {
            collection, vector, vectorFile, limit, filter, withPayload, exact, ef, probes, json,
        };
        command.Checks.Add(parse => (parse.GetValue(vector) is null) == (parse.GetValue(vectorFile) is null)
            ? "give the query vector with exactly one of --vector or --vector-file."
            : null);
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            string name = parse.GetValue(collection)!;
            float[] query = parse.GetValue(vector) is { } text
                ? ParseVector(text, "--vector")
                : ParseVector(await File.ReadAllTextAsync(parse.GetValue(vectorFile)!, ct).ConfigureAwait(false), $"--vector-file {parse.GetValue(vectorFile)}");
            var body = new JsonObject
            {
                ["vector"] = new JsonArray([.. query.Select(x => (JsonNode)JsonValue.Create(x))]),
                ["limit"] = parse.GetValue(limit),
                ["with_payload"] = parse.GetValue(withPayload),
            };
            if (parse.GetValue(filter) is { } f) body["filter"] = JsonNode.Parse(f);
            var parameters = new JsonObject();
            if (parse.GetValue(exact)) parameters["exact"] = true;
            if (parse.GetValue(ef) is { } e) parameters["hnsw_ef"] = e;
            if (parse.GetValue(probes) is { } p) parameters["probes"] = p;
            if (parameters.Count > 0) body["params"] = parameters;

            using var client = VLinkClient.From(parse);
            string answerText = await client.SendForTextAsync(HttpMethod.Post, $"collections/{VLinkClient.Segment(name)}/points/search", body, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(answerText);
                return 0;
            }
            var answer = JsonNode.Parse(answerText)!;
            var hits = answer["result"]?.AsArray() ?? [];
            var table = new Table().AddColumns("rank", "id", "score");
            if (parse.GetValue(withPayload)) table.AddColumn("payload");
            int rank = 1;
            foreach (var hit in hits)
            {
                var row = new List<string>
                {
                    rank++.ToString(CultureInfo.InvariantCulture),
                    CollectionCommands.Text(hit?["id"]),
                    hit?["score"] is JsonValue s && s.TryGetValue(out double score) ? score.ToString("R", CultureInfo.InvariantCulture) : "-",
                };
                if (parse.GetValue(withPayload)) row.Add(CollectionCommands.Text(hit?["payload"]));
                table.AddRow([.. row]);
            }
            Output.Out.Write(table);
            if (answer["complete"] is JsonValue c && c.TryGetValue(out bool complete) && !complete)
                Output.Error.WriteLine($"warning: partial answer; partitions that did not answer: {answer["missing_partitions"]?.ToJsonString()}");
            return 0;
        }));
        return command;
    }

    /// <summary>Reads a vector written as a JSON array or as numbers separated by commas or whitespace.</summary>
    internal static float[] ParseVector(string text, string source)
    {
        string trimmed = text.Trim();
        if (trimmed.StartsWith('['))
        {
            try
            {
                return JsonSerializer.Deserialize<float[]>(trimmed) is { Length: > 0 } array
                    ? array
                    : throw new CliException($"{source}: the vector is empty");
            }
            catch (JsonException e)
            {
                throw new CliException($"{source}: not a JSON array of numbers ({e.Message})");
            }
        }
        var parts = trimmed.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new CliException($"{source}: the vector is empty");
        var vector = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out vector[i]) || !float.IsFinite(vector[i]))
                throw new CliException($"{source}: component {i} ('{parts[i]}') is not a finite number");
        }
        return vector;
    }
}
