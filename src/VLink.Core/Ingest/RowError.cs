using System.Text;

namespace VLink.Core.Ingest;

/// <summary>Why a row of a market file was rejected.</summary>
public enum RowErrorKind
{
    /// <summary>The line is not a row at all: an unclosed quote, or not one JSON object.</summary>
    Malformed,

    /// <summary>A field the row needs is absent or empty.</summary>
    MissingField,

    /// <summary>The time field is not one of the accepted time formats.</summary>
    UnparseableTime,

    /// <summary>A numeric field is not a finite number.</summary>
    UnparseableNumber,

    /// <summary>A price (price, bid, ask, open, high, low or close) is zero or negative.</summary>
    NonPositivePrice,

    /// <summary>The numbers contradict each other or their meaning: negative size or volume, bid above ask, high below low.</summary>
    InvalidValue,

    /// <summary>The time is further behind the latest accepted time than the out-of-order policy allows.</summary>
    TimeBackwards,
}

/// <summary>One rejected row: where it was (source and 1-based line number), why, and the detail.</summary>
/// <param name="Source">The file or feed name.</param>
/// <param name="Line">1-based line number in the source.</param>
/// <param name="Kind">The reason.</param>
/// <param name="Detail">A short human-readable explanation naming the field.</param>
public sealed record RowError(string Source, long Line, RowErrorKind Kind, string Detail)
{
    /// <inheritdoc />
    public override string ToString() => $"{Source}:{Line}: {Kind}: {Detail}";
}

/// <summary>
/// What a reader did with a source: rows read (non-blank lines after the header), accepted and rejected, the
/// rejections counted by reason, and the first rejected rows in detail.
/// </summary>
/// <param name="Source">The file or feed name.</param>
/// <param name="RowsRead">Data rows read (blank lines and the CSV header are not rows).</param>
/// <param name="Accepted">Rows returned to the caller.</param>
/// <param name="Rejected">Rows rejected; <c>RowsRead = Accepted + Rejected</c>.</param>
/// <param name="RejectedByKind">Rejections per reason (only reasons that occurred).</param>
/// <param name="Errors">The first rejected rows, in source order (at most the reader's limit).</param>
/// <param name="ErrorsTruncated">True when more rows were rejected than <paramref name="Errors"/> holds.</param>
public sealed record IngestSummary(
    string Source,
    long RowsRead,
    long Accepted,
    long Rejected,
    IReadOnlyDictionary<RowErrorKind, long> RejectedByKind,
    IReadOnlyList<RowError> Errors,
    bool ErrorsTruncated)
{
    /// <summary>Rejections of one reason (0 when none).</summary>
    public long RejectedFor(RowErrorKind kind) => RejectedByKind.TryGetValue(kind, out long n) ? n : 0;

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Source).Append(": ").Append(RowsRead).Append(" rows, ").Append(Accepted).Append(" accepted, ")
            .Append(Rejected).Append(" rejected");
        if (Rejected > 0)
        {
            sb.Append(" (");
            bool first = true;
            foreach (var (kind, n) in RejectedByKind.OrderBy(p => p.Key))
            {
                if (!first) sb.Append(", ");
                sb.Append(kind).Append(' ').Append(n);
                first = false;
            }
            sb.Append(')');
        }
        return sb.ToString();
    }
}
