using System.Globalization;

namespace VLink.Bench.Cli;

/// <summary>The command line was malformed (unknown flag, missing or unparsable value). Exit code 2 with usage.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>An input file is missing or malformed. Exit code 2; the message names the file (and the vector).</summary>
public sealed class BenchInputException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> pairs of one command, checked against the flags the command knows.
/// Hand-rolled on purpose: the bench takes no NuGet dependencies.
/// </summary>
public sealed class ArgSet
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private ArgSet()
    {
    }

    /// <summary>True when <c>--help</c> or <c>-h</c> was given.</summary>
    public bool HelpRequested { get; private set; }

    /// <summary>Parses <paramref name="args"/>; every flag must be in <paramref name="known"/> and take a value.</summary>
    public static ArgSet Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> known)
    {
        var set = new ArgSet();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                set.HelpRequested = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException($"unexpected argument '{arg}'");

            string name = arg[2..];
            string? inlineValue = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inlineValue = name[(eq + 1)..];
                name = name[..eq];
            }

            if (!known.Contains(name))
                throw new UsageException($"unknown flag '--{name}'");
            if (set._values.ContainsKey(name))
                throw new UsageException($"flag '--{name}' given twice");

            if (inlineValue is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new UsageException($"flag '--{name}' needs a value");
                inlineValue = args[++i];
            }

            set._values[name] = inlineValue;
        }

        return set;
    }

    /// <summary>The raw value, or null when the flag is absent.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out string? v) ? v : null;

    /// <summary>The raw value; throws a usage error when absent.</summary>
    public string Require(string name) => Get(name) ?? throw new UsageException($"missing required flag '--{name}'");

    /// <summary>An integer value within [min, max], or the default when absent.</summary>
    public int GetInt(string name, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        string? raw = Get(name);
        return raw is null ? defaultValue : ParseInt(name, raw, min, max);
    }

    /// <summary>A required integer value within [min, max].</summary>
    public int RequireInt(string name, int min = int.MinValue, int max = int.MaxValue) => ParseInt(name, Require(name), min, max);

    /// <summary>A number within [min, max], or the default when absent.</summary>
    public double GetDouble(string name, double defaultValue, double min, double max)
    {
        string? raw = Get(name);
        if (raw is null)
            return defaultValue;
        if (!double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
            || !(value >= min && value <= max))
            throw new UsageException($"--{name}: expected a number within [{min}, {max}], got '{raw}'");
        return value;
    }

    /// <summary>A comma-separated list of integers within [min, max], or the default when absent.</summary>
    public int[] GetIntList(string name, int[] defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        string? raw = Get(name);
        if (raw is null)
            return defaultValue;
        string[] parts = raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new UsageException($"--{name}: expected a comma-separated list of integers, got '{raw}'");
        return [.. parts.Select(p => ParseInt(name, p, min, max))];
    }

    /// <summary>A value out of a fixed set (case-insensitive), or the default when absent.</summary>
    public string GetChoice(string name, string? defaultValue, params string[] choices)
    {
        string? raw = Get(name) ?? defaultValue ?? throw new UsageException($"missing required flag '--{name}'");
        foreach (string c in choices)
        {
            if (string.Equals(c, raw, StringComparison.OrdinalIgnoreCase))
                return c;
        }

        throw new UsageException($"--{name}: expected one of {string.Join('|', choices)}, got '{raw}'");
    }

    private static int ParseInt(string name, string raw, int min, int max)
    {
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new UsageException($"--{name}: expected an integer, got '{raw}'");
        if (value < min || value > max)
        {
            string range = max == int.MaxValue ? $">= {min}" : $"in [{min}, {max}]";
            throw new UsageException($"--{name}: expected an integer {range}, got {value}");
        }

        return value;
    }
}
