using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VLink.Bench.Exact;
using VLink.Bench.Io;

namespace VLink.Bench.Ann;

/// <summary>The peer could not run (missing interpreter or package, crash); the message says what to do.</summary>
public sealed class PeerException(string message) : Exception(message);

/// <summary>
/// Runs <c>peers/hnswlib_peer.py</c> under Debian's Python (python3-hnswlib), reads its JSON lines and label
/// files, and scores its answers with the same <see cref="Scoring.Recall"/> as VLink's.
/// </summary>
public static class HnswlibPeer
{
    /// <summary>The interpreter that sees Debian's dist-packages (a pyenv <c>python3</c> on PATH does not).</summary>
    public const string DefaultPython = "/usr/bin/python3";

    private const string InstallHint = "install it with: apt-get install python3-hnswlib python3-numpy";

    /// <summary>hnswlib's space name for a bench metric.</summary>
    public static string Space(BenchMetric metric) => metric switch
    {
        BenchMetric.L2 => "l2",
        BenchMetric.Cosine => "cosine",
        _ => "ip",
    };

    /// <summary>Runs the peer on the same files and parameters.</summary>
    /// <exception cref="PeerException">The peer could not run or failed.</exception>
    public static EngineRun Run(string python, string basePath, string queryPath, AnnData data, AnnSettings s)
    {
        string script = LocateScript();
        DirectoryInfo temp = Directory.CreateTempSubdirectory("vlink-bench-");
        try
        {
            var psi = new ProcessStartInfo(python)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = false, // progress streams straight to our stderr
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(script);
            void Arg(string name, string value)
            {
                psi.ArgumentList.Add("--" + name);
                psi.ArgumentList.Add(value);
            }

            Arg("base", basePath);
            Arg("query", queryPath);
            Arg("space", Space(s.Metric));
            Arg("k", Str(s.K));
            Arg("m", Str(s.M));
            Arg("efc", Str(s.EfConstruction));
            Arg("ef", string.Join(',', s.Efs.Select(Str)));
            Arg("threads", string.Join(',', s.Threads.Select(Str)));
            Arg("build-threads", Str(s.BuildThreads));
            Arg("seed", Str(s.Seed));
            Arg("repeats", Str(s.Repeats));
            Arg("min-pass-s", AnnSettings.MinPassSeconds.ToString(CultureInfo.InvariantCulture));
            Arg("limit-queries", Str(data.Queries.Count));
            Arg("out-dir", temp.FullName);

            Process process;
            try
            {
                process = Process.Start(psi) ?? throw new PeerException($"could not start {python}");
            }
            catch (Win32Exception e)
            {
                throw new PeerException($"could not start {python} ({e.Message}); hnswlib peer needs Debian's python3 with python3-hnswlib: {InstallHint}");
            }

            var run = new EngineRun("hnswlib")
            {
                LatencyNote = "one knn_query call per query from a Python loop: includes interpreter and binding overhead",
            };
            string? error = null;
            bool done = false;
            using (process)
            {
                string? line;
                while ((line = process.StandardOutput.ReadLine()) is not null)
                {
                    if (line.Length == 0)
                        continue;
                    JsonDocument doc;
                    try
                    {
                        doc = JsonDocument.Parse(line);
                    }
                    catch (JsonException)
                    {
                        Console.Error.WriteLine($"hnswlib peer (stdout): {line}");
                        continue;
                    }

                    using JsonDocument owned = doc;
                    JsonElement o = doc.RootElement;
                    string? evt = o.TryGetProperty("event", out JsonElement e) ? e.GetString() : null;
                    switch (evt)
                    {
                        case "error":
                            string kind = o.GetProperty("kind").GetString() ?? "";
                            string msg = o.GetProperty("error").GetString() ?? "";
                            error = kind == "import"
                                ? $"{python} cannot import hnswlib/numpy ({msg}); {InstallHint}"
                                : $"hnswlib peer failed: {kind}: {msg}";
                            break;
                        case "build":
                            run.BuildSeconds = o.GetProperty("build_s").GetDouble();
                            run.RssDeltaBytes = o.GetProperty("rss_delta_bytes").GetInt64();
                            run.IndexBytes = run.RssDeltaBytes.Value;
                            run.FormulaBytes = o.GetProperty("formula_bytes").GetInt64();
                            int count = o.GetProperty("count").GetInt32();
                            if (count != data.Base.Count)
                                run.Warnings.Add($"hnswlib holds {count} elements after inserting {data.Base.Count}");
                            break;
                        case "search":
                            run.Points.Add(ReadSearch(o, data, s, run.Warnings));
                            break;
                        case "done":
                            done = true;
                            break;
                    }
                }

                process.WaitForExit();
                if (error is not null)
                    throw new PeerException(error);
                if (process.ExitCode != 0 || !done)
                    throw new PeerException($"hnswlib peer exited with code {process.ExitCode} before finishing (see its messages above)");
            }

            return run;
        }
        finally
        {
            try
            {
                temp.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp directory is harmless.
            }
        }
    }

    private static EfPoint ReadSearch(JsonElement o, AnnData data, AnnSettings s, List<string> warnings)
    {
        int ef = o.GetProperty("ef").GetInt32();
        string labelsPath = o.GetProperty("labels").GetString() ?? throw new PeerException("search event without labels");
        RowMatrix<int> labels = TexmexFormat.ReadIvecs(labelsPath);
        if (labels.Count != data.Queries.Count || labels.Dimension != s.K)
            throw new PeerException($"hnswlib labels for ef={ef}: {labels.Count}×{labels.Dimension}, expected {data.Queries.Count}×{s.K}");
        double recall = Scoring.Recall(labels.Data, data.Truth, s.K, warnings);
        double[] runs = [.. o.GetProperty("qps_runs").EnumerateArray().Select(x => x.GetDouble())];
        double? p50 = NullableDouble(o, "p50_us");
        double? p99 = NullableDouble(o, "p99_us");
        int threads = o.TryGetProperty("threads", out JsonElement t) ? t.GetInt32() : s.Threads[0];
        return new EfPoint(ef, recall, o.GetProperty("qps").GetDouble(), runs, p50, p99, o.GetProperty("rounds").GetInt32(), threads);
    }

    private static double? NullableDouble(JsonElement o, string name) =>
        o.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The script is copied next to the binary at build time; fall back to the source tree.</summary>
    private static string LocateScript()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "peers", "hnswlib_peer.py");
        if (File.Exists(beside))
            return beside;
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "bench", "peers", "hnswlib_peer.py");
            if (File.Exists(candidate))
                return candidate;
        }

        throw new PeerException($"hnswlib_peer.py not found next to the binary ({beside}) nor in a bench/peers folder above it");
    }
}
