using System.Text;

namespace VLink.Core.Tests.Ingest;

/// <summary>Where test market files live, and streams built from text for damaged-file cases.</summary>
internal static class MarketFiles
{
    /// <summary>A fixture shipped with the tests (Fixtures/market).</summary>
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "market", name);

    /// <summary>
    /// The development machines' real data folder (<c>shared/data/market</c> beside an ancestor of the test run, or
    /// <c>VLINK_MARKET_DATA</c>), or null in a fresh clone.
    /// </summary>
    public static string? SharedData { get; } = FindShared();

    /// <summary>The checkout holding the tests (the folder with VLink.sln), or null when the tests run elsewhere.</summary>
    public static string? RepositoryRoot { get; } = FindUp(dir => File.Exists(Path.Combine(dir, "VLink.sln")) ? dir : null);

    private static string? FindUp(Func<string, string?> probe)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (probe(dir.FullName) is { } found) return found;
        return null;
    }

    private static string? FindShared()
    {
        string? env = Environment.GetEnvironmentVariable("VLINK_MARKET_DATA");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : null;
        return FindUp(dir => Path.Combine(dir, "shared", "data", "market") is var c && Directory.Exists(c) ? c : null);
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/>, with a byte-order mark when asked.</summary>
    public static MemoryStream Text(string text, bool bom = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new MemoryStream(bom ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes);
    }

    public static DateTime Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) => new(y, mo, d, h, mi, s, DateTimeKind.Utc);

    public static long T(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) => Utc(y, mo, d, h, mi, s).Ticks;
}

/// <summary>Runs only where the real market data folder exists; skipped with the reason elsewhere (CI, fresh clones).</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute()
    {
        if (MarketFiles.SharedData is null)
            Skip = "No shared/data/market folder (development machines only); set VLINK_MARKET_DATA to run.";
    }
}

/// <summary>A stream that hands out at most a few bytes per read, to cross every buffer boundary.</summary>
internal sealed class TrickleStream(Stream inner, int chunk) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, chunk));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
