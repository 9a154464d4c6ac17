namespace VLink.Core.Ingest;

/// <summary>
/// Splits one CSV line into field ranges, in place. A field may be quoted with <c>"</c>; inside quotes the
/// delimiter is data and <c>""</c> is a quote. Fields are returned without their quotes and without surrounding
/// spaces; quoted fields keep <c>""</c> as two bytes (the parsers read numbers and times, which never contain one).
/// </summary>
internal static class CsvFields
{
    /// <summary>Splits <paramref name="line"/>; returns the field count (at most <paramref name="fields"/>.Length; extra fields are ignored), or -1 for an unclosed quote.</summary>
    public static int Split(ReadOnlySpan<byte> line, byte delimiter, Span<Range> fields)
    {
        int count = 0;
        int p = 0;
        while (true)
        {
            while (p < line.Length && line[p] == ' ') p++;
            int start, end;
            if (p < line.Length && line[p] == '"')
            {
                start = ++p;
                while (true)
                {
                    int q = line[p..].IndexOf((byte)'"');
                    if (q < 0) return -1;
                    p += q;
                    if (p + 1 < line.Length && line[p + 1] == '"') { p += 2; continue; }
                    break;
                }
                end = p++;
                while (p < line.Length && line[p] != delimiter) p++; // anything between the closing quote and the delimiter is ignored
            }
            else
            {
                start = p;
                int d = line[p..].IndexOf(delimiter);
                p = d < 0 ? line.Length : p + d;
                end = p;
                while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t')) end--;
            }
            if (count < fields.Length) fields[count] = new Range(start, end);
            count++;
            if (p >= line.Length) break;
            p++; // the delimiter
        }
        return Math.Min(count, fields.Length);
    }

    /// <summary>The header's delimiter: a comma, unless the header has none and has semicolons or tabs.</summary>
    public static byte DetectDelimiter(ReadOnlySpan<byte> header)
    {
        if (header.IndexOf((byte)',') >= 0) return (byte)',';
        if (header.IndexOf((byte)';') >= 0) return (byte)';';
        if (header.IndexOf((byte)'\t') >= 0) return (byte)'\t';
        return (byte)',';
    }
}
