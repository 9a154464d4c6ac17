using VLink.Core.Ingest;

namespace VLink.Core.Tests.Regimes;

/// <summary>
/// The regime features written out again from their one-line definitions, with plain loops over a list of bars —
/// independent of the vectorizer's code (no shared helpers, no running sums) — keyed by feature name.
/// </summary>
internal static class Reference
{
    public static Dictionary<string, double> Features(IReadOnlyList<Bar> bars, int w, int[] retH, int[] volH, int q)
    {
        // bars: W + 1 of them; returns r[1..W] (index 0 unused)
        var c = bars.Select(b => b.Close).ToArray();
        var r = new double[w + 1];
        for (int i = 1; i <= w; i++) r[i] = Math.Log(c[i]) - Math.Log(c[i - 1]);
        double sigma = 0;
        for (int i = 1; i <= w; i++) sigma += r[i] * r[i];
        sigma = Math.Sqrt(sigma / w);
        var f = new Dictionary<string, double>();
        double Ratio(double x) => Math.Log(Math.Max(x / sigma, 0.001));

        foreach (int h in retH)
        {
            double s = 0;
            for (int i = w - h + 1; i <= w; i++) s += r[i];
            f[$"ret_{h}"] = s / sigma / Math.Sqrt(h);
        }
        foreach (int h in volH)
        {
            double s = 0;
            for (int i = w - h + 1; i <= w; i++) s += r[i] * r[i];
            f[$"vol_{h}"] = Ratio(Math.Sqrt(s / h));
        }
        var rolling = new List<double>();
        for (int end = q; end <= w; end++)
        {
            double s = 0;
            for (int i = end - q + 1; i <= end; i++) s += r[i] * r[i];
            rolling.Add(Math.Sqrt(s / q));
        }
        double rm = rolling.Average();
        double rv = rolling.Sum(v => (v - rm) * (v - rm)) / rolling.Count;
        f["vol_of_vol"] = Math.Sqrt(rv) / rm;

        double mean = 0;
        for (int i = 1; i <= w; i++) mean += r[i];
        mean /= w;
        double M(int k)
        {
            double s = 0;
            for (int i = 1; i <= w; i++) s += Math.Pow(r[i] - mean, k);
            return s / w;
        }
        f["skew"] = M(3) / Math.Pow(M(2), 1.5);
        f["kurtosis"] = Math.Log(M(4) / (M(2) * M(2)) / 3);
        f["drawdown"] = Math.Log(c[w] / c.Max()) / (sigma * Math.Sqrt(w));

        // OLS of y = ln C on x = 0..W, by the normal equations
        int n = w + 1;
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int j = 0; j < n; j++)
        {
            double y = Math.Log(c[j]);
            sx += j; sy += y; sxx += (double)j * j; sxy += j * y;
        }
        double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        double intercept = (sy - slope * sx) / n;
        double ssr = 0;
        for (int j = 0; j < n; j++)
        {
            double e = Math.Log(c[j]) - (intercept + slope * j);
            ssr += e * e;
        }
        f["trend"] = Math.Asinh(Math.Clamp(slope * w / Math.Sqrt(ssr / (n - 2)), -100, 100));

        double num = 0, den = 0;
        for (int i = 2; i <= w; i++) num += (r[i] - mean) * (r[i - 1] - mean);
        for (int i = 1; i <= w; i++) den += (r[i] - mean) * (r[i] - mean);
        f["autocorr"] = num / den;

        double p = 0;
        for (int i = 1; i <= w; i++) p += Math.Pow(Math.Log(bars[i].High / bars[i].Low), 2);
        f["range"] = Enumerable.Range(1, w).Any(i => bars[i].High > bars[i].Low) ? Ratio(Math.Sqrt(p / (4 * Math.Log(2) * w))) : 0;

        if (Enumerable.Range(1, w).All(i => bars[i].Volume.HasValue))
        {
            var u = Enumerable.Range(1, w).Select(i => Math.Log(1 + bars[i].Volume!.Value)).ToArray();
            double um = u.Average();
            double us = Math.Sqrt(u.Sum(x => (x - um) * (x - um)) / w);
            f["volume_z"] = us > 0 ? (u[^1] - um) / us : 0;
            double recent = Enumerable.Range(w - q + 1, q).Average(i => bars[i].Volume!.Value);
            double all = Enumerable.Range(1, w).Average(i => bars[i].Volume!.Value);
            f["volume_trend"] = Math.Log((1 + recent) / (1 + all));
        }
        else
        {
            f["volume_z"] = 0;
            f["volume_trend"] = 0;
        }
        return f;
    }
}
