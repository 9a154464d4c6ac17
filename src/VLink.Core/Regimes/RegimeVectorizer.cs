using VLink.Core.Ingest;

namespace VLink.Core.Regimes;

/// <summary>
/// Computes a regime vector from a trailing window of bars, as <see cref="RegimeFeatureSet"/> defines it. Pure:
/// the same bars give the same vector, bit for bit; no state is kept between calls. Arithmetic is in double; the
/// vector is stored as float.
/// </summary>
public sealed class RegimeVectorizer
{
    private const double RatioFloor = 1e-3;
    private const double TrendCap = 100;
    private readonly int[] _returnHorizons;
    private readonly int[] _volHorizons;
    [ThreadStatic] private static double[]? t_returns;

    /// <summary>A vectorizer for one feature set (validated).</summary>
    public RegimeVectorizer(RegimeFeatureSet featureSet)
    {
        ArgumentNullException.ThrowIfNull(featureSet);
        featureSet.Validate();
        FeatureSet = featureSet;
        _returnHorizons = [.. featureSet.ReturnHorizons];
        _volHorizons = [.. featureSet.VolatilityHorizons];
    }

    /// <summary>The definition this vectorizer computes.</summary>
    public RegimeFeatureSet FeatureSet { get; }

    /// <summary>The vector length.</summary>
    public int Dimension => FeatureSet.Dimension;

    /// <summary>
    /// Computes the vector of the window ending at the last of <paramref name="bars"/>: exactly W + 1 bars, oldest
    /// first (the first supplies only its close, the base of the first return). Returns σ, the window's realised
    /// per-bar volatility √(mean r²).
    /// </summary>
    public double Compute(ReadOnlySpan<Bar> bars, Span<float> features)
    {
        int w = FeatureSet.Window;
        if (bars.Length != w + 1) throw new ArgumentException($"A window needs exactly {w + 1} bars (was {bars.Length}).", nameof(bars));
        if (features.Length != Dimension) throw new ArgumentException($"The vector has {Dimension} features (span was {features.Length}).", nameof(features));

        var r = (t_returns is { } buffer && buffer.Length >= w ? buffer : t_returns = new double[Math.Max(w, 64)]).AsSpan(0, w);
        double sumSq = 0;
        for (int i = 0; i < w; i++)
        {
            r[i] = Math.Log(bars[i + 1].Close / bars[i].Close);
            sumSq += r[i] * r[i];
        }
        double sigma = Math.Sqrt(sumSq / w);
        features.Clear();
        if (!(sigma > 0)) return 0;

        int f = 0;
        // ret_h: the last h returns summed, in units of σ·√h.
        foreach (int h in _returnHorizons)
        {
            double sum = 0;
            for (int i = w - h; i < w; i++) sum += r[i];
            features[f++] = (float)(sum / (sigma * Math.Sqrt(h)));
        }
        // vol_h: realised volatility of the last h returns relative to σ.
        foreach (int h in _volHorizons) features[f++] = (float)Ratio(RootMeanSquare(r[(w - h)..]), sigma);

        // vol_of_vol: coefficient of variation of the rolling q-bar realised volatility.
        int q = FeatureSet.ShortHorizon;
        int rolling = w - q + 1;
        double rollSq = 0, vSum = 0, vSumSq = 0;
        for (int i = 0; i < q - 1; i++) rollSq += r[i] * r[i];
        for (int end = q - 1; end < w; end++)
        {
            rollSq += r[end] * r[end];
            if (end >= q) rollSq -= r[end - q] * r[end - q];
            double v = Math.Sqrt(Math.Max(rollSq, 0) / q);
            vSum += v;
            vSumSq += v * v;
        }
        double vMean = vSum / rolling;
        double vVar = Math.Max(vSumSq / rolling - vMean * vMean, 0);
        features[f++] = vMean > 0 ? (float)(Math.Sqrt(vVar) / vMean) : 0f;

        // skew, kurtosis: population central moments.
        double mean = 0;
        for (int i = 0; i < w; i++) mean += r[i];
        mean /= w;
        double m2 = 0, m3 = 0, m4 = 0;
        for (int i = 0; i < w; i++)
        {
            double d = r[i] - mean, d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        m2 /= w;
        m3 /= w;
        m4 /= w;
        bool spread = m2 > 1e-12 * sigma * sigma; // returns equal to rounding: shape statistics are undefined, taken as 0
        features[f++] = spread ? (float)(m3 / Math.Pow(m2, 1.5)) : 0f;
        features[f++] = spread ? (float)Math.Log(m4 / (m2 * m2) / 3) : 0f;

        // drawdown: last close against the window's highest close (the base close included).
        double maxClose = 0;
        for (int i = 0; i <= w; i++) maxClose = Math.Max(maxClose, bars[i].Close);
        features[f++] = (float)(Math.Log(bars[w].Close / maxClose) / (sigma * Math.Sqrt(w)));

        // trend: OLS of ln C_j on j = 0..W; slope × W over the residual standard error, log-compressed (asinh) so a
        // strong trend (often 10+ residual errors) weighs like the other coordinates instead of swamping them.
        features[f++] = (float)Math.Asinh(Trend(bars, w));

        // autocorr: lag-1 autocorrelation of the returns.
        double cov = 0;
        for (int i = 1; i < w; i++) cov += (r[i] - mean) * (r[i - 1] - mean);
        features[f++] = spread ? (float)(cov / (m2 * w)) : 0f;

        // range: Parkinson volatility of the window's bars relative to σ, when any bar has a range.
        double parkinson = 0;
        bool anyRange = false;
        for (int i = 1; i <= w; i++)
        {
            if (bars[i].High > bars[i].Low) anyRange = true;
            double hl = Math.Log(bars[i].High / bars[i].Low);
            parkinson += hl * hl;
        }
        features[f++] = anyRange ? (float)Ratio(Math.Sqrt(parkinson / (4 * Math.Log(2) * w)), sigma) : 0f;

        // volume_z, volume_trend: only when every bar of the window has a volume.
        bool volumes = true;
        for (int i = 1; i <= w && volumes; i++) volumes = bars[i].Volume.HasValue;
        if (volumes)
        {
            double uSum = 0, uSumSq = 0, vAll = 0, vRecent = 0;
            for (int i = 1; i <= w; i++)
            {
                double v = bars[i].Volume!.Value;
                double u = Math.Log(1 + v);
                uSum += u;
                uSumSq += u * u;
                vAll += v;
                if (i > w - q) vRecent += v;
            }
            double uMean = uSum / w;
            double uStd = Math.Sqrt(Math.Max(uSumSq / w - uMean * uMean, 0));
            double last = Math.Log(1 + bars[w].Volume!.Value);
            features[f++] = uStd > 1e-12 ? (float)((last - uMean) / uStd) : 0f;
            features[f++] = (float)Math.Log((1 + vRecent / q) / (1 + vAll / w));
        }
        return sigma;
    }

    /// <summary>Computes into a new array (see <see cref="Compute(ReadOnlySpan{Bar}, Span{float})"/>).</summary>
    public float[] Compute(ReadOnlySpan<Bar> bars, out double windowVolatility)
    {
        var features = new float[Dimension];
        windowVolatility = Compute(bars, features);
        return features;
    }

    private static double RootMeanSquare(ReadOnlySpan<double> r)
    {
        double s = 0;
        foreach (double x in r) s += x * x;
        return Math.Sqrt(s / r.Length);
    }

    private static double Ratio(double x, double sigma) => Math.Log(Math.Max(x / sigma, RatioFloor));

    private static double Trend(ReadOnlySpan<Bar> bars, int w)
    {
        int n = w + 1;
        double xMean = w / 2.0;
        double yMean = 0;
        for (int j = 0; j < n; j++) yMean += Math.Log(bars[j].Close);
        yMean /= n;
        double sxy = 0, sxx = 0;
        for (int j = 0; j < n; j++)
        {
            double dx = j - xMean;
            sxy += dx * (Math.Log(bars[j].Close) - yMean);
            sxx += dx * dx;
        }
        double slope = sxy / sxx;
        double ssr = 0;
        for (int j = 0; j < n; j++)
        {
            double e = Math.Log(bars[j].Close) - yMean - slope * (j - xMean);
            ssr += e * e;
        }
        double s = Math.Sqrt(ssr / (n - 2));
        if (slope == 0) return 0;
        if (!(s > 0)) return Math.Sign(slope) * TrendCap;
        return Math.Clamp(slope * w / s, -TrendCap, TrendCap);
    }
}
