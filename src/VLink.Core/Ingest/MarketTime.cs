using System.Globalization;

namespace VLink.Core.Ingest;

/// <summary>
/// Parses the time formats market files use, from UTF-8 bytes, into UTC <see cref="DateTime.Ticks"/>:
/// <list type="bullet">
/// <item>ISO dates and times: <c>yyyy-MM-dd</c>, then optionally <c>T</c> or a space, <c>HH:mm</c>, <c>:ss</c>,
/// <c>.fffffff</c>, and <c>Z</c> or an offset <c>±HH:mm</c> / <c>±HHmm</c> (no offset means UTC); <c>/</c> may
/// separate the date parts;</item>
/// <item>compact digits: 8 = <c>yyyyMMdd</c>, 12 = <c>yyyyMMddHHmm</c> (Reuters' XDATE), 14 = <c>yyyyMMddHHmmss</c>;</item>
/// <item>Unix time: 10 integer digits = seconds, 13 = milliseconds (a fraction is allowed);</item>
/// <item>a decimal year such as <c>1991.49615</c> (R's time-series convention): 4 integer digits and a fraction,
/// the fraction taken as that share of the calendar year (a bare 4-digit year is its 1 January).</item>
/// </list>
/// </summary>
public static class MarketTime
{
    private static readonly long UnixEpoch = DateTime.UnixEpoch.Ticks;

    /// <summary>Converts a <see cref="DateTime"/> to UTC ticks; <see cref="DateTimeKind.Unspecified"/> is taken as UTC.</summary>
    public static long ToUtcTicks(DateTime time) => time.Kind == DateTimeKind.Local ? time.ToUniversalTime().Ticks : time.Ticks;

    /// <summary>Parses a time from UTF-16 text (see the class summary for the formats).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out long utcTicks)
    {
        Span<byte> buffer = stackalloc byte[64];
        utcTicks = 0;
        text = text.Trim();
        if (text.Length > buffer.Length) return false;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] > 127) return false;
            buffer[i] = (byte)text[i];
        }
        return TryParse(buffer[..text.Length], out utcTicks);
    }

    /// <summary>Parses a time from UTF-8 bytes (see the class summary for the formats); surrounding spaces are ignored.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out long utcTicks)
    {
        utcTicks = 0;
        text = Trim(text);
        if (text.IsEmpty) return false;
        int digits = 0;
        while (digits < text.Length && IsDigit(text[digits])) digits++;
        if (digits == 4 && text.Length > 4 && (text[4] == '-' || text[4] == '/')) return TryParseIso(text, out utcTicks);
        if (digits == text.Length) return TryParseDigits(text, out utcTicks);
        if (text[digits] == '.' && digits is 4 or 10 or 13) return TryParseDecimal(text, digits, out utcTicks);
        return false;
    }

    private static bool TryParseDigits(ReadOnlySpan<byte> d, out long utcTicks)
    {
        utcTicks = 0;
        switch (d.Length)
        {
            case 4:
                return TryMake(Num(d, 0, 4), 1, 1, 0, 0, 0, 0, out utcTicks);
            case 8:
                return TryMake(Num(d, 0, 4), Num(d, 4, 2), Num(d, 6, 2), 0, 0, 0, 0, out utcTicks);
            case 12:
                return TryMake(Num(d, 0, 4), Num(d, 4, 2), Num(d, 6, 2), Num(d, 8, 2), Num(d, 10, 2), 0, 0, out utcTicks);
            case 14:
                return TryMake(Num(d, 0, 4), Num(d, 4, 2), Num(d, 6, 2), Num(d, 8, 2), Num(d, 10, 2), Num(d, 12, 2), 0, out utcTicks);
            case 10:
                return TryUnix(LongNum(d, 0, 10) * TimeSpan.TicksPerSecond, out utcTicks);
            case 13:
                return TryUnix(LongNum(d, 0, 13) * TimeSpan.TicksPerMillisecond, out utcTicks);
            default:
                return false;
        }
    }

    private static bool TryParseDecimal(ReadOnlySpan<byte> text, int digits, out long utcTicks)
    {
        utcTicks = 0;
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            return false;
        if (digits == 10) return TryUnix((long)Math.Round(value * TimeSpan.TicksPerSecond), out utcTicks);
        if (digits == 13) return TryUnix((long)Math.Round(value * TimeSpan.TicksPerMillisecond), out utcTicks);
        int year = (int)Math.Floor(value);
        if (year is < 1 or > 9998) return false;
        long start = new DateTime(year, 1, 1).Ticks;
        long end = new DateTime(year + 1, 1, 1).Ticks;
        utcTicks = start + (long)Math.Round((value - year) * (end - start));
        return true;
    }

    private static bool TryParseIso(ReadOnlySpan<byte> t, out long utcTicks)
    {
        utcTicks = 0;
        // yyyy-MM-dd
        if (t.Length < 10 || !AllDigits(t, 0, 4) || !AllDigits(t, 5, 2) || !AllDigits(t, 8, 2) || t[7] != t[4]) return false;
        int year = Num(t, 0, 4), month = Num(t, 5, 2), day = Num(t, 8, 2);
        int hour = 0, minute = 0, second = 0;
        long fraction = 0;
        long offset = 0;
        int p = 10;
        if (p < t.Length && (t[p] == 'T' || t[p] == ' '))
        {
            p++;
            if (p + 5 > t.Length || !AllDigits(t, p, 2) || t[p + 2] != ':' || !AllDigits(t, p + 3, 2)) return false;
            hour = Num(t, p, 2);
            minute = Num(t, p + 3, 2);
            p += 5;
            if (p < t.Length && t[p] == ':')
            {
                if (p + 3 > t.Length || !AllDigits(t, p + 1, 2)) return false;
                second = Num(t, p + 1, 2);
                p += 3;
                if (p < t.Length && (t[p] == '.' || t[p] == ','))
                {
                    p++;
                    int start = p;
                    long scale = TimeSpan.TicksPerSecond;
                    while (p < t.Length && IsDigit(t[p]))
                    {
                        scale /= 10;
                        fraction += (t[p] - '0') * scale; // digits past the 7th round to nothing
                        p++;
                    }
                    if (p == start) return false;
                }
            }
            if (p < t.Length)
            {
                if (t[p] == 'Z' || t[p] == 'z')
                {
                    p++;
                }
                else if (t[p] == '+' || t[p] == '-')
                {
                    int sign = t[p] == '-' ? -1 : 1;
                    p++;
                    int oh, om;
                    if (p + 5 == t.Length && t[p + 2] == ':' && AllDigits(t, p, 2) && AllDigits(t, p + 3, 2)) { oh = Num(t, p, 2); om = Num(t, p + 3, 2); p += 5; }
                    else if (p + 4 == t.Length && AllDigits(t, p, 4)) { oh = Num(t, p, 2); om = Num(t, p + 2, 2); p += 4; }
                    else if (p + 2 == t.Length && AllDigits(t, p, 2)) { oh = Num(t, p, 2); om = 0; p += 2; }
                    else return false;
                    if (oh > 23 || om > 59) return false;
                    offset = sign * (oh * TimeSpan.TicksPerHour + om * TimeSpan.TicksPerMinute);
                }
            }
        }
        if (p != t.Length) return false;
        if (!TryMake(year, month, day, hour, minute, second, fraction, out long local)) return false;
        long utc = local - offset;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) return false;
        utcTicks = utc;
        return true;
    }

    private static bool TryMake(int year, int month, int day, int hour, int minute, int second, long fraction, out long ticks)
    {
        ticks = 0;
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        if (hour > 23 || minute > 59 || second > 59) return false;
        ticks = new DateTime(year, month, day, hour, minute, second).Ticks + fraction;
        return true;
    }

    private static bool TryUnix(long sinceEpoch, out long ticks)
    {
        ticks = UnixEpoch + sinceEpoch;
        return ticks <= DateTime.MaxValue.Ticks;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool AllDigits(ReadOnlySpan<byte> t, int start, int count)
    {
        if (start + count > t.Length) return false;
        for (int i = start; i < start + count; i++)
            if (!IsDigit(t[i])) return false;
        return true;
    }

    private static int Num(ReadOnlySpan<byte> t, int start, int count) => (int)Math.Min(int.MaxValue, LongNum(t, start, count));

    private static long LongNum(ReadOnlySpan<byte> t, int start, int count)
    {
        long n = 0;
        for (int i = start; i < start + count; i++) n = n * 10 + (t[i] - '0');
        return n;
    }

    internal static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        int a = 0, b = s.Length;
        while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
        return s[a..b];
    }
}
