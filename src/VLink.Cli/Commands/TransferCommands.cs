using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Spectre.Console;
using VLink.Cli.Client;

namespace VLink.Cli.Commands;

/// <summary><c>vlink import</c> and <c>vlink export</c>: points streamed to and from a collection as NDJSON or CSV.</summary>
internal static class TransferCommands
{
    /// <summary>The formats, as the server's import and export routes name them.</summary>
    internal static readonly string[] Formats = ["ndjson", "csv"];

    public static Command BuildImport()
    {
        var file = new Argument<string>("FILE") { Description = "The points: NDJSON (one point object a line) or CSV (header row, then one point a row)." };
        var collection = new Option<string>("--collection") { Description = "The collection to import into.", Required = true, HelpName = "NAME" };
        var format = new Option<string>("--format") { Description = "ndjson or csv (default: from the file's extension: .csv is csv; .ndjson, .jsonl and .json are ndjson).", HelpName = "ndjson|csv" };
        var batchSize = new Option<int>("--batch-size") { Description = "Points the server writes per batch.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        format.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, Formats);
        batchSize.Check(v => v is < 1 or > 10_000 ? $"--batch-size: {v} must be between 1 and 10000." : null);

        var command = new Command("import", "Stream a file of points into a collection, with a progress bar over the bytes sent.")
        {
            file, collection, format, batchSize,
        };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            string path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new CliException($"{path}: no such file");
            string kind = FormatOf(parse.GetValue(format), path, "FILE")
                ?? throw new CliException($"{path}: cannot tell the format from the extension; pass --format ndjson or --format csv");
            string name = parse.GetValue(collection)!;
            using var client = VLinkClient.From(parse);
            string target = string.Create(CultureInfo.InvariantCulture,
                $"collections/{VLinkClient.Segment(name)}/points/import?format={kind}&batch_size={parse.GetValue(batchSize)}");
            string answer = await FileUpload.SendAsync(client, Output.Error, path, target, kind, "import",
                (response, body) => ImportFailure(path, response, body), ct).ConfigureAwait(false);

            var result = VLinkClient.TryParseObject(answer)?["result"];
            Output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"imported {Number(result?["imported"])} points from {Number(result?["lines"])} lines of {path} into {name} ({Number(result?["batches"])} batches)"));
            return 0;
        }));
        return command;
    }

    public static Command BuildExport()
    {
        var collection = new Option<string>("--collection") { Description = "The collection to export.", Required = true, HelpName = "NAME" };
        var format = new Option<string>("--format") { Description = "ndjson or csv (default: from --output's extension, else ndjson).", HelpName = "ndjson|csv" };
        var output = new Option<string>("--output") { Description = "The file to write (default: standard output).", HelpName = "FILE" };
        format.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, Formats);

        var command = new Command("export", "Stream every point of a collection to a file or standard output, with progress on standard error.")
        {
            collection, format, output,
        };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            string name = parse.GetValue(collection)!;
            string? path = parse.GetValue(output);
            string kind = FormatOf(parse.GetValue(format), path, "--output") ?? "ndjson";
            using var client = VLinkClient.From(parse);
            using var request = new HttpRequestMessage(HttpMethod.Get, VLinkClient.Relative($"collections/{VLinkClient.Segment(name)}/points/export?format={kind}"));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw VLinkClient.Failure(response, await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));

            // A file is written beside its final name and moved there only once complete.
            string? partial = path is null ? null : path + ".partial";
            long written = 0;
            try
            {
                await using (Stream target = partial is null ? Console.OpenStandardOutput() : new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                {
                    await using var source = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    long? total = response.Content.Headers.ContentLength;
                    await Output.Error.Progress()
                        .AutoClear(false)
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new SpinnerColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask($"export {Markup.Escape(name)}", maxValue: Math.Max(1, total ?? 1));
                            task.IsIndeterminate = total is null;
                            var buffer = new byte[1 << 16];
                            int n;
                            while ((n = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                            {
                                await target.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                                written += n;
                                if (total is null) task.MaxValue = Math.Max(task.MaxValue, written);
                                task.Value = written;
                            }
                            task.IsIndeterminate = false;
                            task.MaxValue = Math.Max(1, written);
                            task.Value = task.MaxValue;
                            task.StopTask();
                        }).ConfigureAwait(false);
                }
            }
            catch (HttpRequestException e)
            {
                if (partial is not null) File.Delete(partial);
                throw new CliException($"the export of {name} broke off after {written} bytes: {e.Message}");
            }
            catch (IOException e) when (partial is not null)
            {
                File.Delete(partial);
                throw new CliException($"the export of {name} broke off after {written} bytes: {e.Message}");
            }
            if (partial is not null) File.Move(partial, path!, overwrite: true);
            Output.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exported {name} to {path ?? "standard output"} ({written} bytes, {kind})"));
            return 0;
        }));
        return command;
    }

    /// <summary>The format: the explicit one, else from the file's extension, else null.</summary>
    internal static string? FormatOf(string? explicitFormat, string? path, string what)
    {
        if (explicitFormat is not null) return explicitFormat.ToLowerInvariant();
        return Path.GetExtension(path ?? "").ToLowerInvariant() switch
        {
            ".csv" => "csv",
            ".ndjson" or ".jsonl" or ".json" => "ndjson",
            _ => null,
        };
    }

    /// <summary>An import refusal: <c>FILE:LINE: problem</c> when the server names the line.</summary>
    private static CliException ImportFailure(string path, HttpResponseMessage response, string body)
    {
        var problem = VLinkClient.TryParseObject(body);
        if (problem?["line"] is JsonValue lineValue && lineValue.TryGetValue(out long line))
        {
            string detail = (string?)problem["detail"] ?? (string?)problem["title"] ?? "refused";
            // The server's detail starts with its own path ("line 12.vector: ..."); FILE:LINE already says where.
            string prefix = string.Create(CultureInfo.InvariantCulture, $"line {line}");
            if (detail.StartsWith(prefix, StringComparison.Ordinal) && detail.Length > prefix.Length && detail[prefix.Length] is '.' or ':')
                detail = detail[(prefix.Length + 1)..].TrimStart();
            string imported = problem["imported"] is JsonValue i && i.TryGetValue(out long count)
                ? string.Create(CultureInfo.InvariantCulture, $" ({count} points before it were imported)")
                : "";
            return new CliException(string.Create(CultureInfo.InvariantCulture, $"{path}:{line}: {detail}{imported}"));
        }
        return VLinkClient.Failure(response, body);
    }

    private static string Number(JsonNode? node) => node is JsonValue v && v.TryGetValue(out long n) ? n.ToString(CultureInfo.InvariantCulture) : "?";
}
