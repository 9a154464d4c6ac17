using VLink.Bench.Ann;
using VLink.Bench.Cli;
using VLink.Bench.Cluster;
using VLink.Bench.Exact;
using VLink.Bench.Http;
using VLink.Bench.Io;
using VLink.Bench.Regimes;
using VLink.Bench.Routing;
using VLink.Bench.Synth;

namespace VLink.Bench;

/// <summary>
/// VLink's benchmark harness. Commands: <c>ann</c> (VLink vs hnswlib), <c>synth</c> (synthetic data),
/// <c>truth</c> (exact ground truth), <c>glove-convert</c> (GloVe JSON to TEXMEX), <c>gather</c> (scatter-gather
/// overhead on a loopback cluster), <c>recovery</c> (a large partition's recovery: journal replay vs snapshot), <c>http</c> (end-to-end
/// <c>/points/search</c> latency and throughput against node processes), <c>hybrid</c> (end-to-end <c>/search/text</c> latency on
/// the labelled text corpus, embedded by the nodes with the offline model), <c>ingest</c> (ticks/s from a tick file to durable
/// regime vectors through the ingestion pipeline, with the parser alone as the peer), <c>regimes-eval</c> (whether the
/// nearest regimes predict forward volatility and returns better than the market's own trailing figures), <c>routing</c>
/// (recall when a query visits only its nearest partitions: k-means regions against hash partitions), <c>replicas</c>
/// (write latency per write consistency, search latency during a SIGKILL with and without hedging, time to restore the
/// replication factor, availability while nodes are killed and restarted; node processes on PostgreSQL), <c>load</c> (the
/// storage path: REST bulk load against the in-process build, single upserts into a large and a small partition, snapshot
/// bytes, disk, RSS, recovery; and searches beside writers on a cluster).
/// Exit codes: 0 success, 1 unexpected failure, 2 bad command line or bad input file.
/// </summary>
public static class Program
{
    private static readonly (string Name, string[] Flags, string Usage, Func<ArgSet, int> Run)[] Commands =
    [
        ("ann", AnnCommand.Flags, AnnCommand.Usage, AnnCommand.Run),
        ("synth", SynthCommand.Flags, SynthCommand.Usage, SynthCommand.Run),
        ("truth", TruthCommand.Flags, TruthCommand.Usage, TruthCommand.Run),
        ("glove-convert", GloveConvertCommand.Flags, GloveConvertCommand.Usage, GloveConvertCommand.Run),
        ("gather", GatherCommand.Flags, GatherCommand.Usage, GatherCommand.Run),
        ("recovery", RecoveryCommand.Flags, RecoveryCommand.Usage, RecoveryCommand.Run),
        ("http", HttpCommand.Flags, HttpCommand.Usage, HttpCommand.Run),
        ("hybrid", HybridCommand.Flags, HybridCommand.Usage, HybridCommand.Run),
        ("regimes-eval", RegimesEvalCommand.Flags, RegimesEvalCommand.Usage, RegimesEvalCommand.Run),
        ("ingest", IngestCommand.Flags, IngestCommand.Usage, IngestCommand.Run),
        ("routing", RoutingCommand.Flags, RoutingCommand.Usage, RoutingCommand.Run),
        ("replicas", ReplicasCommand.Flags, ReplicasCommand.Usage, ReplicasCommand.Run),
        ("load", LoadCommand.Flags, LoadCommand.Usage, LoadCommand.Run),
    ];

    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            PrintUsage(null);
            return args.Length == 0 ? 2 : 0;
        }

        int index = Array.FindIndex(Commands, c => c.Name == args[0]);
        if (index < 0)
        {
            Console.Error.WriteLine($"error: unknown command '{args[0]}'");
            PrintUsage(null);
            return 2;
        }

        var command = Commands[index];
        try
        {
            ArgSet parsed = ArgSet.Parse(args[1..], command.Flags);
            if (parsed.HelpRequested)
            {
                PrintUsage(command.Usage);
                return 0;
            }

            return command.Run(parsed);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            PrintUsage(command.Usage);
            return 2;
        }
        catch (BenchInputException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: {command.Name} failed: {e}");
            return 1;
        }
    }

    private static void PrintUsage(string? only)
    {
        Console.Error.WriteLine("usage: dotnet run -c Release --project bench/VLink.Bench -- <command> [flags]");
        if (only is not null)
        {
            Console.Error.WriteLine("  " + only);
            return;
        }

        foreach (var c in Commands)
            Console.Error.WriteLine("  " + c.Usage);
    }
}
