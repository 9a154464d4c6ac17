using System.Globalization;

namespace VLink.Core.Regimes;

/// <summary>One coordinate of a regime vector: its stable name and what it measures, in one line.</summary>
/// <param name="Name">Stable name (<c>ret_5</c>, <c>vol_20</c>, <c>skew</c>, ...).</param>
/// <param name="Description">One-line definition.</param>
public sealed record RegimeFeature(string Name, string Description);

/// <summary>
/// The definition of a collection's regime vectors: the algorithm version, the trailing window, the horizons.
/// Vectors are comparable only under the same definition, so it is collection configuration and its
/// <see cref="Id"/> is stored with the collection. Every feature is dimensionless — log returns scaled by the window's
/// own realised volatility, ratios of volatilities, shape statistics — so markets of any price level and volatility
/// compare, and each vector depends on its window alone (causal, deterministic, no market history).
/// </summary>
/// <remarks>
/// Notation: the window ending at bar t holds the W bars t−W+1..t and the close before them; r<sub>i</sub> = ln(C<sub>i</sub>/C<sub>i−1</sub>)
/// are its W log returns; σ = √(mean r²) is the window's realised per-bar volatility; ratios of volatilities are
/// taken as ln(max(x/σ, 0.001)). A window with σ = 0 (no movement) gives the zero vector.
/// </remarks>
public sealed record RegimeFeatureSet
{
    /// <summary>The feature algorithm implemented here; a different algorithm gets a new number.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Defaults: version 1, window 60 bars, returns over 1/5/20/60, volatility over 5/20, short horizon 5, outcomes over 5/20.</summary>
    public static RegimeFeatureSet Default { get; } = new();

    /// <summary>The feature algorithm version (<see cref="CurrentVersion"/>).</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>W: the number of bars (returns) in the trailing window.</summary>
    public int Window { get; init; } = 60;

    /// <summary>Horizons h (bars, 1..W) of the <c>ret_h</c> features.</summary>
    public IReadOnlyList<int> ReturnHorizons { get; init; } = [1, 5, 20, 60];

    /// <summary>Horizons h (bars, 1..W−1) of the <c>vol_h</c> features.</summary>
    public IReadOnlyList<int> VolatilityHorizons { get; init; } = [5, 20];

    /// <summary>q (bars, 1..W): the rolling realised volatility horizon of <c>vol_of_vol</c> and the recent span of <c>volume_trend</c>.</summary>
    public int ShortHorizon { get; init; } = 5;

    /// <summary>Horizons h (bars) of the forward outcomes filled into each vector's payload once h more bars have closed.</summary>
    public IReadOnlyList<int> OutcomeHorizons { get; init; } = [5, 20];

    /// <summary>The vector's length.</summary>
    public int Dimension => ReturnHorizons.Count + VolatilityHorizons.Count + 9;

    /// <summary>How many bars a market needs before its first vector: the window plus the close before it.</summary>
    public int BarsBeforeFirstVector => Window + 1;

    /// <summary>
    /// The canonical text form, stored with a collection: <c>regime-v1:w60:r1,5,20,60:v5,20:q5:o5,20</c>.
    /// Two definitions with the same id produce the same vectors and payloads.
    /// </summary>
    public string Id =>
        string.Create(CultureInfo.InvariantCulture,
            $"regime-v{Version}:w{Window}:r{string.Join(',', ReturnHorizons)}:v{string.Join(',', VolatilityHorizons)}:q{ShortHorizon}:o{string.Join(',', OutcomeHorizons)}");

    /// <summary>The features in vector order, each with its stable name and one-line definition.</summary>
    public IReadOnlyList<RegimeFeature> Features
    {
        get
        {
            var list = new List<RegimeFeature>(Dimension);
            foreach (int h in ReturnHorizons)
                list.Add(new($"ret_{h}", $"log return over the last {h} bars in units of the window's volatility: Σ last {h} r / (σ·√{h})"));
            foreach (int h in VolatilityHorizons)
                list.Add(new($"vol_{h}", $"realised volatility of the last {h} bars relative to the window's: ln(√(mean of last {h} r²) / σ)"));
            list.Add(new("vol_of_vol", $"volatility of volatility: coefficient of variation (population std / mean) of the rolling {ShortHorizon}-bar realised volatility"));
            list.Add(new("skew", "skewness of the window's returns: m3 / m2^1.5 (population central moments)"));
            list.Add(new("kurtosis", "log kurtosis relative to the normal: ln(m4 / m2² / 3)"));
            list.Add(new("drawdown", "drawdown of the last close from the window's highest close, in units of the window's volatility: ln(C / max C) / (σ·√W)"));
            list.Add(new("trend", "trend strength: asinh of (OLS slope of log close on bar number × W / residual standard error, n − 2 dof, clamped to ±100)"));
            list.Add(new("autocorr", "lag-1 autocorrelation of the window's returns"));
            list.Add(new("range", "Parkinson high-low volatility relative to the window's: ln(√(Σ ln(H/L)² / (4·ln2·W)) / σ); 0 when no bar has a range"));
            list.Add(new("volume_z", "z-score of the last bar's ln(1 + volume) among the window's bars; 0 when volume is missing"));
            list.Add(new("volume_trend", $"recent volume against the window's: ln((1 + mean volume of the last {ShortHorizon} bars) / (1 + mean volume of the window)); 0 when volume is missing"));
            return list;
        }
    }

    /// <summary>The payload key of a forward log return over <paramref name="horizon"/> bars (<c>fwd_ret_5</c>).</summary>
    public static string ForwardReturnKey(int horizon) => "fwd_ret_" + horizon.ToString(CultureInfo.InvariantCulture);

    /// <summary>The payload key of a forward realised volatility over <paramref name="horizon"/> bars (<c>fwd_vol_5</c>).</summary>
    public static string ForwardVolatilityKey(int horizon) => "fwd_vol_" + horizon.ToString(CultureInfo.InvariantCulture);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (Version != CurrentVersion)
            throw new ArgumentException($"Regime feature set version {Version} is not supported (this build computes version {CurrentVersion}).", nameof(Version));
        if (Window is < 3 or > 100_000)
            throw new ArgumentException($"The window must be between 3 and 100000 bars (was {Window}).", nameof(Window));
        CheckHorizons(ReturnHorizons, nameof(ReturnHorizons), 1, Window, allowEmpty: false);
        CheckHorizons(VolatilityHorizons, nameof(VolatilityHorizons), 1, Window - 1, allowEmpty: true);
        CheckHorizons(OutcomeHorizons, nameof(OutcomeHorizons), 1, 100_000, allowEmpty: true);
        if (ShortHorizon < 1 || ShortHorizon > Window)
            throw new ArgumentException($"The short horizon must be between 1 and the window ({Window}) (was {ShortHorizon}).", nameof(ShortHorizon));
    }

    /// <summary>Parses an <see cref="Id"/> back into a definition (validated).</summary>
    public static RegimeFeatureSet Parse(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var parts = id.Split(':');
        if (parts.Length != 6 || !parts[0].StartsWith("regime-v", StringComparison.Ordinal))
            throw new FormatException($"'{id}' is not a regime feature set id (regime-v1:w60:r1,5,20,60:v5,20:q5:o5,20).");
        static int Int(string s, string id) =>
            int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw new FormatException($"'{s}' in '{id}' is not a number.");
        int[] List(string part, char prefix)
        {
            if (part.Length == 0 || part[0] != prefix) throw new FormatException($"'{id}': expected '{prefix}' before '{part}'.");
            return part.Length == 1 ? [] : part[1..].Split(',').Select(s => Int(s, id)).ToArray();
        }
        int One(string part, char prefix) =>
            List(part, prefix) is [var single] ? single : throw new FormatException($"'{id}': '{part}' must hold one number.");
        var set = new RegimeFeatureSet
        {
            Version = Int(parts[0]["regime-v".Length..], id),
            Window = One(parts[1], 'w'),
            ReturnHorizons = List(parts[2], 'r'),
            VolatilityHorizons = List(parts[3], 'v'),
            ShortHorizon = One(parts[4], 'q'),
            OutcomeHorizons = List(parts[5], 'o'),
        };
        set.Validate();
        return set;
    }

    /// <inheritdoc />
    public bool Equals(RegimeFeatureSet? other) => other is not null && Id == other.Id;

    /// <inheritdoc />
    public override int GetHashCode() => Id.GetHashCode(StringComparison.Ordinal);

    private static void CheckHorizons(IReadOnlyList<int> horizons, string name, int min, int max, bool allowEmpty)
    {
        if (horizons is null || (!allowEmpty && horizons.Count == 0))
            throw new ArgumentException($"{name} needs at least one horizon.", name);
        for (int i = 0; i < horizons.Count; i++)
        {
            if (horizons[i] < min || horizons[i] > max)
                throw new ArgumentException($"{name} must lie between {min} and {max} bars (was {horizons[i]}).", name);
            if (i > 0 && horizons[i] <= horizons[i - 1])
                throw new ArgumentException($"{name} must be strictly increasing.", name);
        }
    }
}
