using System.CommandLine;

namespace VLink.Cli.Commands;

/// <summary>
/// A command with checks across its flags (postgres needs a connection, one vector source, ...). They run after
/// parsing succeeded, on the values with their defaults applied, before the action.
/// </summary>
internal class CheckedCommand(string name, string description) : Command(name, description)
{
    /// <summary>Each returns a problem with the parsed flags, or null.</summary>
    public List<Func<ParseResult, string?>> Checks { get; } = [];
}

/// <summary>Reads flag values inside validators without tripping over values that did not convert.</summary>
internal static class Validation
{
    /// <summary>Adds a validator that sees the flag's value only when it converted (conversion errors are reported anyway).</summary>
    public static Option<T> Check<T>(this Option<T> option, Func<T, string?> problem)
    {
        ArgumentNullException.ThrowIfNull(option);
        option.Validators.Add(result =>
        {
            T value;
            try
            {
                value = result.GetValue(option)!;
            }
            catch (InvalidOperationException)
            {
                return;
            }
            if (problem(value) is { } message) result.AddError(message);
        });
        return option;
    }
}
