using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace VLink.Cli.Client;

/// <summary>Where commands write: tables and results to stdout, progress and errors to stderr.</summary>
internal static class Output
{
    private static readonly Lazy<IAnsiConsole> OutConsole = new(() => Create(Console.Out, Console.IsOutputRedirected));
    private static readonly Lazy<IAnsiConsole> ErrorConsole = new(() => Create(Console.Error, Console.IsErrorRedirected));

    /// <summary>Standard output (tables, results).</summary>
    public static IAnsiConsole Out => OutConsole.Value;

    /// <summary>Standard error (progress, warnings).</summary>
    public static IAnsiConsole Error => ErrorConsole.Value;

    /// <summary>Indented JSON, as <c>--json</c> prints it.</summary>
    public static string Json(JsonNode? node) => node?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "null";

    /// <summary>Wraps an action so a <see cref="CliException"/> (or a bad local file) prints one line and exits non-zero.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Guard(Func<ParseResult, CancellationToken, Task<int>> action) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                return await action(parse, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"vlink: {e.Message}");
                return VLinkCli.Failed;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"vlink: {e.Message}");
                return VLinkCli.Failed;
            }
        };

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        // Piped output is read by scripts and tests: wide enough that addresses never wrap.
        if (redirected) console.Profile.Width = 240;
        return console;
    }
}
