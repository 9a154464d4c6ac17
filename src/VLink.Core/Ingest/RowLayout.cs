using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VLink.Core.Ingest;

/// <summary>The meaning of a field in a market row.</summary>
internal enum Role
{
    Time,
    Price,
    Bid,
    Ask,
    Size,
    Open,
    High,
    Low,
    Close,
    Volume,
    Market,
}

/// <summary>
/// Maps field names (a CSV header, or the keys of an NDJSON object) to roles, and turns the fields of one row into a
/// <see cref="Tick"/> or a <see cref="Bar"/> with the checks every source shares.
/// </summary>
internal sealed class RowLayout
{
    public const int RoleCount = 11;
    public const int MaxMarketLength = 128;

    private static readonly string[] TimeNames = ["time", "timestamp", "datetime", "date", "xdate", "t", "ts", "start"];
    private static readonly string[] PriceNames = ["price", "last", "close", "mid", "trade"];
    private static readonly string[] SizeNames = ["size", "volume", "qty", "quantity", "amount"];
    private static readonly string[] MarketNames = ["market", "symbol", "ticker", "instrument"];
    private static readonly string[] IgnoredNames = ["adjclose", "adj_close", "adj close", "adjusted", "delay", "contributor", "flag", "symbol", "market", "ticker", "source"];

    private readonly bool _bars;
    private bool _json;
    private readonly string? _priceColumn;

    private RowLayout(bool bars, string? priceColumn)
    {
        _bars = bars;
        _priceColumn = priceColumn is null ? null : Normalise(priceColumn);
    }

    /// <summary>True for bar rows, false for ticks.</summary>
    public bool Bars => _bars;

    /// <summary>Bars from a single price series (open = high = low = close).</summary>
    public bool CloseOnly { get; private set; }

    /// <summary>For CSV: the column index of each role, or -1.</summary>
    public int[] Columns { get; } = Enumerable.Repeat(-1, RoleCount).ToArray();

    /// <summary>The field name shown in errors, per role.</summary>
    public string[] Names { get; } = new string[RoleCount];

    /// <summary>The number of columns the CSV header has.</summary>
    public int ColumnCount { get; private set; }

    /// <summary>A layout for NDJSON rows: roles are found by key in each object.</summary>
    public static RowLayout ForJson(bool bars, string? priceColumn)
    {
        var layout = new RowLayout(bars, priceColumn) { _json = true };
        for (int r = 0; r < RoleCount; r++) layout.Names[r] = ((Role)r).ToString().ToLowerInvariant();
        if (priceColumn is not null) layout.Names[(int)(bars ? Role.Close : Role.Price)] = priceColumn;
        return layout;
    }

    /// <summary>A layout for CSV rows from the header's column names; throws <see cref="InvalidDataException"/> when a required column is missing.</summary>
    public static RowLayout ForCsvHeader(IReadOnlyList<string> header, bool bars, string? priceColumn, string source)
    {
        var layout = new RowLayout(bars, priceColumn);
        layout.ColumnCount = header.Count;
        var names = header.Select(Normalise).ToArray();
        int Find(string[] candidates)
        {
            foreach (string c in candidates)
            {
                int i = Array.IndexOf(names, c);
                if (i >= 0) return i;
            }
            return -1;
        }
        void Set(Role role, int column)
        {
            layout.Columns[(int)role] = column;
            if (column >= 0) layout.Names[(int)role] = header[column].Trim();
        }
        string Listing() => string.Join(", ", header.Select(h => $"'{h.Trim()}'"));

        Set(Role.Time, Find(TimeNames));
        Set(Role.Market, Find(MarketNames));
        if (layout.Columns[(int)Role.Time] < 0)
            throw new InvalidDataException($"{source}: no time column (time, timestamp, datetime, date, xdate, t) among {Listing()}.");
        int chosen = -1;
        if (layout._priceColumn is not null)
        {
            chosen = Array.IndexOf(names, layout._priceColumn);
            if (chosen < 0) throw new InvalidDataException($"{source}: the price column '{priceColumn}' is not among {Listing()}.");
        }

        if (!bars)
        {
            Set(Role.Price, chosen >= 0 ? chosen : Find(PriceNames));
            Set(Role.Bid, Find(["bid"]));
            Set(Role.Ask, Find(["ask", "offer"]));
            Set(Role.Size, Find(SizeNames));
            if (layout.Columns[(int)Role.Price] < 0 && (layout.Columns[(int)Role.Bid] < 0 || layout.Columns[(int)Role.Ask] < 0))
                throw new InvalidDataException($"{source}: no price column (price, last, close, mid) and no bid and ask pair among {Listing()}.");
            return layout;
        }

        Set(Role.Volume, Find(SizeNames));
        int open = Find(["open"]), high = Find(["high"]), low = Find(["low"]), close = Find(["close"]);
        if (chosen < 0 && open >= 0 && high >= 0 && low >= 0 && close >= 0)
        {
            Set(Role.Open, open);
            Set(Role.High, high);
            Set(Role.Low, low);
            Set(Role.Close, close);
            return layout;
        }
        layout.CloseOnly = true;
        if (chosen < 0) chosen = Find(PriceNames);
        if (chosen < 0)
        {
            var candidates = Enumerable.Range(0, names.Length)
                .Where(i => i != layout.Columns[(int)Role.Time] && i != layout.Columns[(int)Role.Volume] && i != layout.Columns[(int)Role.Market] && !IgnoredNames.Contains(names[i]))
                .ToArray();
            if (candidates.Length != 1)
                throw new InvalidDataException(candidates.Length == 0
                    ? $"{source}: no price column among {Listing()}."
                    : $"{source}: several price series ({string.Join(", ", candidates.Select(i => $"'{header[i].Trim()}'"))}); choose one by name.");
            chosen = candidates[0];
        }
        Set(Role.Close, chosen);
        return layout;
    }

    /// <summary>The role of an NDJSON key, or null when the key is ignored.</summary>
    public Role? RoleOfKey(ReadOnlySpan<byte> key)
    {
        Span<char> buffer = stackalloc char[32];
        if (key.Length > buffer.Length) return null;
        for (int i = 0; i < key.Length; i++) buffer[i] = key[i] is >= (byte)'A' and <= (byte)'Z' ? (char)(key[i] + 32) : (char)key[i];
        ReadOnlySpan<char> name = buffer[..key.Length];
        if (_priceColumn is not null && name.SequenceEqual(_priceColumn)) return _bars ? Role.Close : Role.Price;
        foreach (string n in TimeNames) if (name.SequenceEqual(n)) return Role.Time;
        foreach (string n in MarketNames) if (name.SequenceEqual(n)) return Role.Market;
        if (_bars)
        {
            if (name.SequenceEqual("open")) return Role.Open;
            if (name.SequenceEqual("high")) return Role.High;
            if (name.SequenceEqual("low")) return Role.Low;
            if (_priceColumn is null && (name.SequenceEqual("close") || name.SequenceEqual("price"))) return Role.Close;
            foreach (string n in SizeNames) if (name.SequenceEqual(n)) return Role.Volume;
            return null;
        }
        if (_priceColumn is null) foreach (string n in PriceNames) if (name.SequenceEqual(n)) return Role.Price;
        if (name.SequenceEqual("bid")) return Role.Bid;
        if (name.SequenceEqual("ask") || name.SequenceEqual("offer")) return Role.Ask;
        foreach (string n in SizeNames) if (name.SequenceEqual(n)) return Role.Size;
        return null;
    }

    /// <summary>Splits one NDJSON line into role ranges; false (Malformed) when it is not one flat JSON object.</summary>
    public bool TrySplitJson(ReadOnlySpan<byte> line, Span<Range> fields, out string? detail)
    {
        fields.Fill(default);
        detail = null;
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                detail = "not a JSON object";
                return false;
            }
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    if (reader.Read()) { detail = "more than one JSON value on the line"; return false; }
                    return true;
                }
                Role? role = reader.ValueIsEscaped ? null : RoleOfKey(reader.ValueSpan);
                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        reader.Skip();
                        if (role is { } nested) { detail = $"'{Names[(int)nested]}' is not a number or a string"; return false; }
                        break;
                    case JsonTokenType.Null:
                        break;
                    case JsonTokenType.Number or JsonTokenType.String when role is { } r:
                        if (reader.ValueIsEscaped) { detail = $"'{Names[(int)r]}' holds escaped characters"; return false; }
                        int start = (int)reader.TokenStartIndex + (reader.TokenType == JsonTokenType.String ? 1 : 0);
                        fields[(int)r] = new Range(start, start + reader.ValueSpan.Length);
                        break;
                    case JsonTokenType.True or JsonTokenType.False when role is { } b:
                        detail = $"'{Names[(int)b]}' is not a number";
                        return false;
                }
            }
            detail = "the JSON object is not closed";
            return false;
        }
        catch (JsonException e)
        {
            detail = "invalid JSON: " + e.Message;
            return false;
        }
    }

    /// <summary>Turns one CSV row's fields into role ranges (columns past the row's end are empty).</summary>
    public void MapCsv(ReadOnlySpan<Range> columns, int count, Span<Range> fields)
    {
        for (int r = 0; r < RoleCount; r++)
        {
            int c = Columns[r];
            fields[r] = c >= 0 && c < count ? columns[c] : default;
        }
    }

    /// <summary>Builds a tick from role ranges over <paramref name="line"/>.</summary>
    public bool TryBuildTick(ReadOnlySpan<byte> line, ReadOnlySpan<Range> f, out Tick tick, out RowErrorKind kind, out string? detail)
    {
        tick = default;
        if (!TryTime(line, f, out long time, out kind, out detail)) return false;
        if (!TryNumber(line, f, Role.Bid, out double? bid, out kind, out detail)
            || !TryNumber(line, f, Role.Ask, out double? ask, out kind, out detail)
            || !TryNumber(line, f, Role.Price, out double? price, out kind, out detail)
            || !TryNumber(line, f, Role.Size, out double? size, out kind, out detail))
            return false;
        if (bid <= 0) return Fail(RowErrorKind.NonPositivePrice, $"'{Names[(int)Role.Bid]}' is {Show(bid.Value)}", out kind, out detail);
        if (ask <= 0) return Fail(RowErrorKind.NonPositivePrice, $"'{Names[(int)Role.Ask]}' is {Show(ask.Value)}", out kind, out detail);
        if (bid > ask) return Fail(RowErrorKind.InvalidValue, $"bid {Show(bid.Value)} is above ask {Show(ask.Value)}", out kind, out detail);
        if (price is null)
        {
            if (bid is null || ask is null)
            {
                string missing = Columns[(int)Role.Price] >= 0 || (Columns[(int)Role.Bid] < 0 && Columns[(int)Role.Ask] < 0)
                    ? Names[(int)Role.Price] ?? "price"
                    : bid is null ? Names[(int)Role.Bid] : Names[(int)Role.Ask];
                return Fail(RowErrorKind.MissingField, $"no value for '{missing}'", out kind, out detail);
            }
            price = (bid.Value + ask.Value) / 2;
        }
        if (price <= 0) return Fail(RowErrorKind.NonPositivePrice, $"'{Names[(int)Role.Price]}' is {Show(price.Value)}", out kind, out detail);
        if (size < 0) return Fail(RowErrorKind.InvalidValue, $"'{Names[(int)Role.Size]}' is negative ({Show(size.Value)})", out kind, out detail);
        tick = new Tick(time, price.Value, size, bid, ask);
        return true;
    }

    /// <summary>Builds a bar from role ranges over <paramref name="line"/>; its end is its start plus <paramref name="interval"/>.</summary>
    public bool TryBuildBar(ReadOnlySpan<byte> line, ReadOnlySpan<Range> f, long interval, out Bar bar, out RowErrorKind kind, out string? detail)
    {
        bar = default;
        if (!TryTime(line, f, out long start, out kind, out detail)) return false;
        if (!TryNumber(line, f, Role.Close, out double? close, out kind, out detail)) return false;
        if (close is null) return Fail(RowErrorKind.MissingField, $"no value for '{Names[(int)Role.Close] ?? "close"}'", out kind, out detail);
        double open = close.Value, high = close.Value, low = close.Value;
        bool jsonCloseOnly = _json && f[(int)Role.Open].Equals(default(Range)) && f[(int)Role.High].Equals(default(Range)) && f[(int)Role.Low].Equals(default(Range));
        if (!CloseOnly && !jsonCloseOnly)
        {
            if (!TryRequired(line, f, Role.Open, out open, out kind, out detail)
                || !TryRequired(line, f, Role.High, out high, out kind, out detail)
                || !TryRequired(line, f, Role.Low, out low, out kind, out detail))
                return false;
        }
        if (!TryNumber(line, f, Role.Volume, out double? volume, out kind, out detail)) return false;
        if (open <= 0 || high <= 0 || low <= 0 || close <= 0)
        {
            var (role, value) = low <= 0 ? (Role.Low, low) : open <= 0 ? (Role.Open, open) : close <= 0 ? (Role.Close, close.Value) : (Role.High, high);
            return Fail(RowErrorKind.NonPositivePrice, $"'{Names[(int)role]}' is {Show(value)}", out kind, out detail);
        }
        if (high < Math.Max(open, close.Value) || low > Math.Min(open, close.Value) || high < low)
            return Fail(RowErrorKind.InvalidValue, $"high {Show(high)} and low {Show(low)} do not hold open {Show(open)} and close {Show(close.Value)}", out kind, out detail);
        if (volume < 0) return Fail(RowErrorKind.InvalidValue, $"'{Names[(int)Role.Volume]}' is negative ({Show(volume.Value)})", out kind, out detail);
        if (start > DateTime.MaxValue.Ticks - interval) return Fail(RowErrorKind.UnparseableTime, "the bar ends after year 9999", out kind, out detail);
        bar = new Bar(start, start + interval, open, high, low, close.Value, volume);
        return true;
    }

    /// <summary>
    /// The row's market when the source has a market field (interned: one string per distinct name), null when it
    /// has none; false (MissingField, InvalidValue) when the field is present but empty or too long.
    /// </summary>
    public bool TryMarket(ReadOnlySpan<byte> line, ReadOnlySpan<Range> f, out string? market, out RowErrorKind kind, out string? detail)
    {
        market = null;
        kind = default;
        detail = null;
        var text = MarketTime.Trim(line[f[(int)Role.Market]]);
        if (text.IsEmpty)
        {
            if (!_json && Columns[(int)Role.Market] >= 0) return Fail(RowErrorKind.MissingField, $"no value for '{Names[(int)Role.Market]}'", out kind, out detail);
            return true;
        }
        if (text.Length > MaxMarketLength * 4) return Fail(RowErrorKind.InvalidValue, $"'{Names[(int)Role.Market]}' is longer than {MaxMarketLength} characters", out kind, out detail);
        Span<char> chars = stackalloc char[MaxMarketLength * 4];
        if (!Encoding.UTF8.TryGetChars(text, chars, out int n) || n > MaxMarketLength)
            return Fail(RowErrorKind.InvalidValue, $"'{Names[(int)Role.Market]}' is not a market name of at most {MaxMarketLength} characters", out kind, out detail);
        var lookup = _markets.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(chars[..n], out market))
        {
            market = new string(chars[..n]);
            _markets[market] = market;
        }
        return true;
    }

    private readonly Dictionary<string, string> _markets = new(StringComparer.Ordinal);

    private bool TryTime(ReadOnlySpan<byte> line, ReadOnlySpan<Range> f, out long time, out RowErrorKind kind, out string? detail)
    {
        time = 0;
        var text = MarketTime.Trim(line[f[(int)Role.Time]]);
        string name = Names[(int)Role.Time] ?? "time";
        if (text.IsEmpty) return Fail(RowErrorKind.MissingField, $"no value for '{name}'", out kind, out detail);
        if (!MarketTime.TryParse(text, out time))
            return Fail(RowErrorKind.UnparseableTime, $"'{name}' is not a time: '{Text(text)}'", out kind, out detail);
        kind = default;
        detail = null;
        return true;
    }

    private bool TryRequired(ReadOnlySpan<byte> line, ReadOnlySpan<Range> f, Role role, out double value, out RowErrorKind kind, out string? detail)
    {
        value = 0;
        if (!TryNumber(line, f, role, out double? v, out kind, out detail)) return false;
        if (v is null) return Fail(RowErrorKind.MissingField, $"no value for '{Names[(int)role] ?? role.ToString().ToLowerInvariant()}'", out kind, out detail);
        value = v.Value;
        return true;
    }

    private bool TryNumber(ReadOnlySpan<byte> line, ReadOnlySpan<Range> f, Role role, out double? value, out RowErrorKind kind, out string? detail)
    {
        value = null;
        kind = default;
        detail = null;
        var text = MarketTime.Trim(line[f[(int)role]]);
        if (text.IsEmpty) return true;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v))
        {
            value = v;
            return true;
        }
        return Fail(RowErrorKind.UnparseableNumber, $"'{Names[(int)role]}' is not a number: '{Text(text)}'", out kind, out detail);
    }

    private static bool Fail(RowErrorKind k, string message, out RowErrorKind kind, out string? detail)
    {
        kind = k;
        detail = message;
        return false;
    }

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Text(ReadOnlySpan<byte> text) => Encoding.UTF8.GetString(text.Length > 40 ? text[..40] : text);

    private static string Normalise(string name) => name.Trim().Trim('"').Trim().ToLowerInvariant();
}
