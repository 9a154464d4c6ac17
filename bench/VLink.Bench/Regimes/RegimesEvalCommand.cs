using System.Globalization;
using VLink.Bench.Cli;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Bench.Regimes;

/// <summary>
/// <c>regimes-eval</c>: do regime matches say anything about what comes next? On the development market files, the
/// Core <see cref="RegimeTracker"/> builds every market's regime vectors; each market's time span is split into a
/// training period (the first 70%) and a held-out later period. For held-out query windows, the k nearest training
/// windows (any market, exact scan, only those whose outcome was already known at the query's time) predict the
/// forward realised volatility (the mean of theirs) and the sign of the forward return; the baselines are the query
/// market's own trailing volatility (over its window) and return (over the horizon). Scores: Spearman rank
/// correlation with what happened, per horizon, per market and pooled; the sign hit rate for returns.
/// </summary>
public static class RegimesEvalCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["data-dir", "k", "train", "stride"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "regimes-eval [--data-dir ../shared/data/market] [--k 10] [--train 70] [--stride 5]\n" +
        "      regime vectors of the development market files (Core RegimeTracker, in process); the first --train % of each\n" +
        "      market's time span trains, the rest is queried (every --stride-th window): k nearest training windows vs the\n" +
        "      market's own trailing volatility/return; one JSON line per (market, horizon) and per horizon pooled";

    // The development files: which markets each holds, bars or ticks, and the bar interval.
    private static readonly MarketFile[] Files =
    [
        new("sp500-daily.csv", [("SPX", null)], Ticks: false, TimeSpan.FromDays(1)),
        new("eustockmarkets-daily.csv", [("DAX", "DAX"), ("SMI", "SMI"), ("CAC", "CAC"), ("FTSE", "FTSE")], Ticks: false, TimeSpan.FromDays(1)),
        new("goldsilver-daily.csv", [("GOLD", "gold"), ("SILVER", "silver")], Ticks: false, TimeSpan.FromDays(1)),
        new("usdchf-30min.csv", [("USDCHF", null)], Ticks: false, TimeSpan.FromMinutes(30)),
        new("usdthb-ticks.csv", [("USDTHB", null)], Ticks: true, TimeSpan.FromHours(1)),
    ];

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args)
    {
        int k = args.GetInt("k", 10, 1, 1000), trainPercent = args.GetInt("train", 70, 10, 90), stride = args.GetInt("stride", 5, 1, 1000);
        string dir = args.Get("data-dir") ?? DefaultDataDir();
        if (!Directory.Exists(dir))
            throw new BenchInputException($"the development market data is not here: {Path.GetFullPath(dir)} (pass --data-dir; expected {string.Join(", ", Files.Select(f => f.Name))})");
        var featureSet = RegimeFeatureSet.Default;
        int[] horizons = [.. featureSet.OutcomeHorizons];

        var markets = new List<MarketSeries>();
        foreach (var file in Files)
        {
            string path = Path.Combine(dir, file.Name);
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"regimes-eval: {file.Name} is missing from {dir}; its markets are left out");
                continue;
            }
            foreach (var (market, column) in file.Markets) markets.Add(Build(path, market, column, file, featureSet, horizons));
        }
        if (markets.Count == 0) throw new BenchInputException($"none of the development files is in {Path.GetFullPath(dir)}");

        // Split each market's span; the training pool is every market's training windows with known outcomes.
        var train = new List<Window>();
        var queries = new List<Window>();
        foreach (var m in markets)
        {
            long split = m.FirstStart + (long)((m.LastEnd - m.FirstStart) * (trainPercent / 100.0));
            m.Split = split;
            int q = 0;
            foreach (var w in m.Windows)
            {
                if (w.Sigma <= 0) continue; // no movement: the zero vector says nothing
                if (w.KnownAt.All(t => t <= split)) train.Add(w);
                else if (w.End > split && w.Forward.All(f => f.Vol is not null) && q++ % stride == 0) queries.Add(w);
            }
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"regimes-eval: {m.Name}: {m.Bars:N0} bars, {m.Windows.Count:N0} windows, split at {Iso(split)}"));
        }
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"regimes-eval: {train.Count:N0} training windows, {queries.Count:N0} held-out queries (every {stride}th), k = {k}, exact scan"));

        var predictions = Predict(train, queries, horizons, k);
        var rows = new List<Score>();
        foreach (var m in markets)
        {
            foreach (int hi in Enumerable.Range(0, horizons.Length))
            {
                var mine = predictions.Where(p => p.Query.Market == m.Name).ToList();
                if (mine.Count > 0) rows.Add(ScoreOf(m.Name, horizons[hi], hi, mine));
            }
        }
        foreach (int hi in Enumerable.Range(0, horizons.Length)) rows.Add(ScoreOf("pooled", horizons[hi], hi, predictions));

        foreach (var s in rows)
        {
            Json.Line(w =>
            {
                w.WriteString("bench", "regimes-eval");
                w.WriteString("market", s.Market);
                w.WriteNumber("horizon", s.Horizon);
                w.WriteNumber("queries", s.Queries);
                w.WriteNumber("k", k);
                w.WriteNumber("train_percent", trainPercent);
                w.WriteRounded("vol_spearman_knn", s.VolKnn, 4);
                w.WriteRounded("vol_spearman_trailing", s.VolTrailing, 4);
                w.WriteRounded("vol_spearman_recent", s.VolRecent, 4);
                w.WriteRounded("vol_spearman_knn_scaled", s.VolKnnScaled, 4);
                w.WriteRounded("vol_ratio_spearman_knn", s.VolRatioKnn, 4);
                w.WriteRounded("ret_hit_knn", s.HitKnn, 4);
                w.WriteRounded("ret_hit_trailing", s.HitTrailing, 4);
                w.WriteRounded("ret_hit_always_up", s.HitUp, 4);
                w.WriteRounded("ret_spearman_knn", s.RetKnn, 4);
                w.WriteRounded("neighbours_same_market", s.SameMarket, 4);
            });
        }

        Console.Error.WriteLine();
        Console.Error.WriteLine("                   forward volatility: Spearman                  forward return: sign hit rate");
        Console.Error.WriteLine("market     h  queries    knn  trailing  recent  knn·σ  ratio       knn  trailing  always-up   same-mkt");
        foreach (var s in rows)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Market,-8} {s.Horizon,3} {s.Queries,8} {F(s.VolKnn),6} {F(s.VolTrailing),9} {F(s.VolRecent),7} {F(s.VolKnnScaled),6} {F(s.VolRatioKnn),6}    {F(s.HitKnn),6} {F(s.HitTrailing),9} {F(s.HitUp),10} {F(s.SameMarket),10}"));
        }
        Console.Error.WriteLine("knn: mean forward vol of the k nearest; trailing: the query's own window vol (returns: its last-h-bar return's sign);");
        Console.Error.WriteLine("recent: the vol of the query's last h bars;");
        Console.Error.WriteLine("knn·σ: the query's window vol × the neighbours' mean forward/window vol ratio; ratio: that ratio against the realised one.");
        return 0;
    }

    private static string F(double? x) => x is { } v && double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-";

    private static string Iso(long ticks) => new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary><c>../shared/data/market</c> relative to the repository root (the folder holding VLink.sln), else to the working directory.</summary>
    private static string DefaultDataDir()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VLink.sln"))) return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "market"));
        }
        return Path.GetFullPath(Path.Combine("..", "shared", "data", "market"));
    }

    // Reads one market of a file through the Core readers and tracker: bars, windows, forward outcomes.
    private static MarketSeries Build(string path, string market, string? column, MarketFile file, RegimeFeatureSet featureSet, int[] horizons)
    {
        var options = new MarketFileOptions { PriceColumn = column, BarInterval = file.Interval };
        var tracker = new RegimeTracker(market, featureSet, file.Interval);
        var updates = new RegimeUpdates();
        var series = new MarketSeries(market);
        var byBar = new Dictionary<long, Window>();
        void Drain()
        {
            foreach (var bar in updates.Bars)
            {
                series.Ends.Add(bar.End);
                series.Closes.Add(bar.Close);
            }
            foreach (var v in updates.Vectors)
            {
                var w = new Window(market, v.BarIndex, v.WindowEnd, v.WindowVolatility, v.Values, horizons.Length);
                byBar[v.BarIndex] = w;
                series.Windows.Add(w);
            }
            foreach (var o in updates.Outcomes)
            {
                if (!byBar.TryGetValue(o.BarIndex, out var w)) continue;
                int hi = Array.IndexOf(horizons, o.Horizon);
                if (hi < 0) continue;
                w.Forward[hi] = (o.ForwardReturn, o.ForwardVolatility);
                w.KnownAt[hi] = series.Ends[(int)(o.BarIndex + o.Horizon)];
            }
            updates.Clear();
        }
        long rejected;
        if (file.Ticks)
        {
            using var reader = TickReader.Open(path, options);
            foreach (var tick in reader.ReadAll())
            {
                tracker.AddTick(tick, updates);
                Drain();
            }
            rejected = reader.Summary.Rejected;
        }
        else
        {
            using var reader = BarReader.Open(path, options);
            foreach (var bar in reader.ReadAll())
            {
                tracker.AddBar(bar, updates);
                Drain();
            }
            rejected = reader.Summary.Rejected;
        }
        tracker.AdvanceTo(long.MaxValue, updates);
        Drain();
        if (rejected > 0) Console.Error.WriteLine($"regimes-eval: {market}: {rejected} rows of {Path.GetFileName(path)} rejected by the reader");
        if (series.Ends.Count == 0) throw new BenchInputException($"{path}: no bars for {market}");
        series.FirstStart = series.Ends[0] - file.Interval.Ticks;
        series.LastEnd = series.Ends[^1];
        // The trailing return over each horizon, for the baseline.
        foreach (var w in series.Windows)
        {
            for (int hi = 0; hi < horizons.Length; hi++)
            {
                long from = w.Bar - horizons[hi];
                w.Trailing[hi] = from >= 0 ? Math.Log(series.Closes[(int)w.Bar] / series.Closes[(int)from]) : double.NaN;
                double squares = 0;
                for (long b = Math.Max(1, from + 1); b <= w.Bar; b++)
                {
                    double r = Math.Log(series.Closes[(int)b] / series.Closes[(int)b - 1]);
                    squares += r * r;
                }
                w.Recent[hi] = from >= 0 ? Math.Sqrt(squares / horizons[hi]) : double.NaN;
            }
        }
        return series;
    }

    // For every query and horizon: the k nearest training windows (squared L2, exact) among those whose outcome over
    // that horizon was known by the query's window end; their mean forward vol, vol ratio and return.
    private static List<Prediction> Predict(List<Window> train, List<Window> queries, int[] horizons, int k)
    {
        int dim = train.Count > 0 ? train[0].Vector.Length : 0;
        var flat = new float[train.Count * dim];
        for (int i = 0; i < train.Count; i++) train[i].Vector.CopyTo(flat, i * dim);
        var results = new Prediction[queries.Count];
        Parallel.For(0, queries.Count, qi =>
        {
            var q = queries[qi];
            var query = q.Vector;
            // Per horizon, the k nearest eligible training windows so far: distances ascending, with their indices.
            var best = new (float Distance, int Index)[horizons.Length][];
            var count = new int[horizons.Length];
            for (int hi = 0; hi < horizons.Length; hi++) best[hi] = new (float, int)[k];
            for (int i = 0; i < train.Count; i++)
            {
                var row = flat.AsSpan(i * dim, dim);
                float sum = 0;
                for (int d = 0; d < dim; d++)
                {
                    float diff = row[d] - query[d];
                    sum += diff * diff;
                }
                var t = train[i];
                for (int hi = 0; hi < horizons.Length; hi++)
                {
                    if (t.KnownAt[hi] > q.End) continue; // its outcome was not known yet at the query's time
                    var list = best[hi];
                    int n = count[hi];
                    if (n == k && sum >= list[k - 1].Distance) continue;
                    int at = n == k ? k - 1 : n;
                    while (at > 0 && list[at - 1].Distance > sum)
                    {
                        list[at] = list[at - 1];
                        at--;
                    }
                    list[at] = (sum, i);
                    if (n < k) count[hi]++;
                }
            }
            var perHorizon = new HorizonPrediction[horizons.Length];
            for (int hi = 0; hi < horizons.Length; hi++)
            {
                double vol = 0, ratio = 0, ret = 0;
                int same = 0, n = count[hi];
                for (int j = 0; j < n; j++)
                {
                    var t = train[best[hi][j].Index];
                    vol += t.Forward[hi].Vol!.Value;
                    ratio += t.Forward[hi].Vol!.Value / t.Sigma;
                    ret += t.Forward[hi].Ret!.Value;
                    if (t.Market == q.Market) same++;
                }
                perHorizon[hi] = n == 0
                    ? new HorizonPrediction(double.NaN, double.NaN, double.NaN, 0)
                    : new HorizonPrediction(vol / n, ratio / n, ret / n, same / (double)n);
            }
            results[qi] = new Prediction(q, perHorizon);
        });
        return [.. results];
    }

    private static Score ScoreOf(string market, int horizon, int hi, List<Prediction> predictions)
    {
        var valid = predictions.Where(p => double.IsFinite(p.Horizons[hi].Vol)).ToList();
        double[] realisedVol = [.. valid.Select(p => p.Query.Forward[hi].Vol!.Value)];
        double[] realisedRet = [.. valid.Select(p => p.Query.Forward[hi].Ret!.Value)];
        double? hit(Func<Prediction, double> predicted)
        {
            var decided = valid.Where(p => predicted(p) != 0 && double.IsFinite(predicted(p)) && p.Query.Forward[hi].Ret!.Value != 0).ToList();
            return decided.Count == 0 ? null : decided.Count(p => Math.Sign(predicted(p)) == Math.Sign(p.Query.Forward[hi].Ret!.Value)) / (double)decided.Count;
        }
        return new Score(
            market,
            horizon,
            valid.Count,
            Spearman([.. valid.Select(p => p.Horizons[hi].Vol)], realisedVol),
            Spearman([.. valid.Select(p => p.Query.Sigma)], realisedVol),
            Spearman([.. valid.Select(p => p.Query.Recent[hi])], realisedVol),
            Spearman([.. valid.Select(p => p.Horizons[hi].Ratio * p.Query.Sigma)], realisedVol),
            Spearman([.. valid.Select(p => p.Horizons[hi].Ratio)], [.. valid.Select(p => p.Query.Forward[hi].Vol!.Value / p.Query.Sigma)]),
            hit(p => p.Horizons[hi].Ret),
            hit(p => p.Query.Trailing[hi]),
            hit(_ => 1),
            Spearman([.. valid.Select(p => p.Horizons[hi].Ret)], realisedRet),
            valid.Count == 0 ? null : valid.Average(p => p.Horizons[hi].SameMarket));
    }

    /// <summary>Spearman's rank correlation (average ranks for ties); null with fewer than 3 pairs or a constant side.</summary>
    internal static double? Spearman(double[] x, double[] y)
    {
        if (x.Length != y.Length || x.Length < 3) return null;
        double[] rx = Ranks(x), ry = Ranks(y);
        double mx = rx.Average(), my = ry.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxx == 0 || syy == 0 ? null : sxy / Math.Sqrt(sxx * syy);
    }

    private static double[] Ranks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) ranks[order[t]] = rank;
            i = j + 1;
        }
        return ranks;
    }

    private sealed record MarketFile(string Name, (string Market, string? Column)[] Markets, bool Ticks, TimeSpan Interval);

    private sealed class MarketSeries(string name)
    {
        public string Name { get; } = name;

        public List<long> Ends { get; } = [];

        public List<double> Closes { get; } = [];

        public List<Window> Windows { get; } = [];

        public long Bars => Ends.Count;

        public long FirstStart { get; set; }

        public long LastEnd { get; set; }

        public long Split { get; set; }
    }

    private sealed class Window(string market, long bar, long end, double sigma, float[] vector, int horizons)
    {
        public string Market { get; } = market;

        public long Bar { get; } = bar;

        public long End { get; } = end;

        public double Sigma { get; } = sigma;

        public float[] Vector { get; } = vector;

        public (double? Ret, double? Vol)[] Forward { get; } = new (double?, double?)[horizons];

        /// <summary>Per horizon, the end of the bar that completes the outcome (long.MaxValue while unknown).</summary>
        public long[] KnownAt { get; } = [.. Enumerable.Repeat(long.MaxValue, horizons)];

        public double[] Trailing { get; } = new double[horizons];

        /// <summary>Per horizon h, the realised volatility of the window's last h bars.</summary>
        public double[] Recent { get; } = new double[horizons];
    }

    private sealed record HorizonPrediction(double Vol, double Ratio, double Ret, double SameMarket);

    private sealed record Prediction(Window Query, HorizonPrediction[] Horizons);

    private sealed record Score(
        string Market,
        int Horizon,
        int Queries,
        double? VolKnn,
        double? VolTrailing,
        double? VolRecent,
        double? VolKnnScaled,
        double? VolRatioKnn,
        double? HitKnn,
        double? HitTrailing,
        double? HitUp,
        double? RetKnn,
        double? SameMarket);
}
