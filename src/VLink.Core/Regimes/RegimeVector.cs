using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VLink.Core.Indexing;

namespace VLink.Core.Regimes;

/// <summary>
/// A regime vector of one market at one closed bar, with what its payload carries: the market, the window's
/// start and end, the last close and the window's volatility.
/// </summary>
/// <param name="Market">The market (partition key).</param>
/// <param name="BarIndex">The absolute index of the window's last bar in the market's bar sequence.</param>
/// <param name="WindowStart">The start of the window's first bar (UTC ticks).</param>
/// <param name="WindowEnd">The end of the window's last bar (UTC ticks).</param>
/// <param name="Close">The last close of the window.</param>
/// <param name="WindowVolatility">σ: the window's realised per-bar volatility.</param>
/// <param name="Values">The features, in <see cref="RegimeFeatureSet.Features"/> order.</param>
public sealed record RegimeVector(string Market, long BarIndex, long WindowStart, long WindowEnd, double Close, double WindowVolatility, float[] Values)
{
    /// <summary>The point id of this vector: <see cref="RegimePoints.IdFor"/> of the market and the window's end.</summary>
    public PointId Id => RegimePoints.IdFor(Market, WindowEnd);
}

/// <summary>Point ids and payloads of regime vectors.</summary>
public static class RegimePoints
{
    /// <summary>
    /// The point id of a market's window ending at <paramref name="windowEnd"/>: FNV-1a (64-bit) of the market's UTF-8
    /// name, a zero byte, and the end's UTC ticks (8 bytes, little-endian). Stable across processes and restarts; a re-ingested
    /// window overwrites its point instead of adding one.
    /// </summary>
    public static PointId IdFor(string market, long windowEnd)
    {
        ArgumentNullException.ThrowIfNull(market);
        const ulong Prime = 1099511628211UL;
        ulong id = 14695981039346656037UL;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in market.EnumerateRunes())
        {
            int n = rune.EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++) id = (id ^ utf8[i]) * Prime;
        }
        id *= Prime; // the zero separator
        for (int i = 0; i < 8; i++) id = (id ^ (byte)(windowEnd >> (8 * i))) * Prime;
        return new PointId(id);
    }

    /// <summary>
    /// The payload of a new vector (UTF-8 JSON): <c>market</c>, <c>bar</c>, <c>window_start</c> and <c>window_end</c>
    /// (ISO 8601 UTC), <c>window_end_unix</c> (seconds), <c>close</c>, <c>window_vol</c>, <c>feature_set</c>, and
    /// <c>fwd_ret_h</c> / <c>fwd_vol_h</c> for every outcome horizon, null until known.
    /// </summary>
    public static byte[] Payload(RegimeVector vector, RegimeFeatureSet featureSet)
    {
        ArgumentNullException.ThrowIfNull(vector);
        ArgumentNullException.ThrowIfNull(featureSet);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("market", vector.Market);
            json.WriteNumber("bar", vector.BarIndex);
            json.WriteString("window_start", Iso(vector.WindowStart));
            json.WriteString("window_end", Iso(vector.WindowEnd));
            json.WriteNumber("window_end_unix", (vector.WindowEnd - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond);
            json.WriteNumber("close", vector.Close);
            json.WriteNumber("window_vol", vector.WindowVolatility);
            json.WriteString("feature_set", featureSet.Id);
            foreach (int h in featureSet.OutcomeHorizons)
            {
                json.WriteNull(RegimeFeatureSet.ForwardReturnKey(h));
                json.WriteNull(RegimeFeatureSet.ForwardVolatilityKey(h));
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The payload keys an outcome sets (UTF-8 JSON object <c>{"fwd_ret_h": …, "fwd_vol_h": …}</c>), to merge into the vector's payload.</summary>
    public static byte[] OutcomePayload(in OutcomeUpdate outcome)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber(RegimeFeatureSet.ForwardReturnKey(outcome.Horizon), outcome.ForwardReturn);
            json.WriteNumber(RegimeFeatureSet.ForwardVolatilityKey(outcome.Horizon), outcome.ForwardVolatility);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string Iso(long ticks) =>
        new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
