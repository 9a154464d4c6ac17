using System.CommandLine;
using VLink.Cli.Commands;

namespace VLink.Cli;

/// <summary>The <c>vlink</c> program: one root command with a sub-command per task.</summary>
public static class VLinkCli
{
    /// <summary>Exit code of a failed command (server refusal, unreachable server, bad file).</summary>
    public const int Failed = 1;

    /// <summary>Runs the command line.</summary>
    public static Task<int> Main(string[] args)
    {
        // Tables are drawn with box characters whatever the locale says; UTF-8 without a byte-order mark.
        Console.OutputEncoding = new System.Text.UTF8Encoding(false);
        return Invoke(args);
    }

    /// <summary>Exit code of a command line that does not parse or whose flags are invalid.</summary>
    public const int Usage = 2;

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static async Task<int> Invoke(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        var problems = Problems(parse);
        if (problems.Count > 0)
        {
            // Errors alone on stderr, one a line, and where to read more: not the whole help text.
            foreach (string problem in problems) await Console.Error.WriteLineAsync($"vlink: {problem}").ConfigureAwait(false);
            string command = string.Join(' ', parse.CommandResult.Command is RootCommand ? ["vlink"] : ["vlink", .. CommandPath(parse.CommandResult)]);
            await Console.Error.WriteLineAsync($"run '{command} --help' for usage").ConfigureAwait(false);
            return Usage;
        }
        // No signal handling by the parser: vlink node's host stops itself gracefully on SIGINT/SIGTERM.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    /// <summary>
    /// What is wrong with a command line: the parser's errors, else the checks across the chosen command's flags.
    /// Empty when it may run (or when help was asked for).
    /// </summary>
    public static IReadOnlyList<string> Problems(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.Errors.Count > 0) return [.. parse.Errors.Select(e => e.Message)];
        if (parse.Action is System.CommandLine.Help.HelpAction || parse.CommandResult.Command is not CheckedCommand command) return [];
        return [.. command.Checks.Select(check => check(parse)).OfType<string>()];
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(r.Command.Name);
        return names;
    }

    /// <summary>The root command and every sub-command.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("vlink: run a VLink node (or the demo), manage collections, search, import and export points, ingest markets and search their regimes, and operate the cluster.");
        root.Subcommands.Add(new DemoCommand());
        root.Subcommands.Add(new NodeCommand());
        root.Subcommands.Add(CollectionCommands.Build());
        root.Subcommands.Add(SearchCommand.Build());
        root.Subcommands.Add(TransferCommands.BuildImport());
        root.Subcommands.Add(TransferCommands.BuildExport());
        root.Subcommands.Add(IngestCommand.Build());
        root.Subcommands.Add(RegimeCommands.BuildRegimes());
        root.Subcommands.Add(RegimeCommands.BuildMarkets());
        root.Subcommands.Add(ClusterCommands.Build());
        root.Subcommands.Add(EmbeddingCommands.Build());
        root.Subcommands.Add(McpCommand.Build());
        return root;
    }
}
