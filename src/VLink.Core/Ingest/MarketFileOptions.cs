namespace VLink.Core.Ingest;

/// <summary>The two line formats market files come in.</summary>
public enum MarketFileFormat
{
    /// <summary>Comma-separated values with a header line naming the columns (semicolons or tabs are detected from the header).</summary>
    Csv,

    /// <summary>Newline-delimited JSON: one object per line.</summary>
    Ndjson,
}

/// <summary>How market files are read.</summary>
public sealed record MarketFileOptions
{
    /// <summary>What to do with ticks behind the latest accepted time; strict by default.</summary>
    public OutOfOrderPolicy OutOfOrder { get; init; } = OutOfOrderPolicy.Strict;

    /// <summary>
    /// The column holding the price, chosen by name (case-insensitive): the series to read from a close-only file with
    /// several series (<c>"date","gold","silver"</c>), or a tick file's price column when it is not called price, last or close.
    /// </summary>
    public string? PriceColumn { get; init; }

    /// <summary>The length of a bar read from a bar file: its end is its start plus this (one day by default).</summary>
    public TimeSpan BarInterval { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How many rejected rows the summary keeps in detail (all are counted).</summary>
    public int MaxErrorsKept { get; init; } = 1000;

    /// <summary>The format of a path by its extension: <c>.ndjson</c>, <c>.jsonl</c> and <c>.json</c> are NDJSON, anything else CSV.</summary>
    public static MarketFileFormat FormatOf(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".ndjson" or ".jsonl" or ".json" ? MarketFileFormat.Ndjson : MarketFileFormat.Csv;
    }

    internal void Validate()
    {
        OutOfOrder.Validate();
        if (BarInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(BarInterval), BarInterval, "The bar interval must be positive.");
        if (MaxErrorsKept < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxErrorsKept), MaxErrorsKept, "The number of errors kept cannot be negative.");
    }
}
