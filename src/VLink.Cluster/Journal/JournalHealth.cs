using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Npgsql;
using VLink.Cluster.Protocol;
using VLink.Cluster.Telemetry;

namespace VLink.Cluster.Journal;

/// <summary>Whether this node reaches its journal, why not, and since when.</summary>
/// <param name="Up">True while the journal's database answers.</param>
/// <param name="Reason">Why it is down (the last error), or "reachable".</param>
/// <param name="Since">When the journal last changed between up and down.</param>
public sealed record JournalStatus(bool Up, string Reason, DateTimeOffset Since);

/// <summary>A write was refused because this node cannot reach its journal; nothing of it was acknowledged.</summary>
public sealed class JournalUnavailableException(string message) : Exception(message);

/// <summary>How the journal is watched: the <c>vlink.journal</c> HOCON section.</summary>
/// <param name="ProbeInterval">Time between two probes of the journal's database.</param>
/// <param name="ProbeTimeout">How long one probe may take (connecting, or waiting for a SQLite lock) before it counts as down.</param>
/// <param name="WriteTimeout">How long one journal write may take before its events are refused and the journal counts as down.</param>
public sealed record JournalSettings(TimeSpan ProbeInterval, TimeSpan ProbeTimeout, TimeSpan WriteTimeout)
{
    /// <summary>Reads the settings of an actor system's configuration.</summary>
    /// <exception cref="ConfigurationException">A duration is not positive.</exception>
    public static JournalSettings From(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig("vlink") ?? Config.Empty;
        var settings = new JournalSettings(
            c.GetTimeSpan("journal.probe-interval", TimeSpan.FromMilliseconds(500)),
            c.GetTimeSpan("journal.probe-timeout", TimeSpan.FromSeconds(1)),
            c.GetTimeSpan("journal.write-timeout", TimeSpan.FromSeconds(5)));
        foreach (var (name, value) in new[] { ("probe-interval", settings.ProbeInterval), ("probe-timeout", settings.ProbeTimeout), ("write-timeout", settings.WriteTimeout) })
            if (value <= TimeSpan.Zero) throw new ConfigurationException($"vlink.journal.{name} must be positive, got {value}.");
        return settings;
    }
}

/// <summary>
/// This node's view of its journal (an actor-system extension): up or down, with the reason. The
/// <see cref="JournalProbe"/> actor probes the journal's database and the journal plugin reports the writes that
/// fail; while the journal is down, writes are refused at once (<see cref="ThrowIfDown"/>, <see cref="WhenDown"/>)
/// instead of waiting on a dead database, and reads go on from the partitions' memory.
/// </summary>
public sealed class JournalHealth : IExtension, IDisposable
{
    private readonly object _lock = new();
    private readonly IDisposable _gauge;
    private volatile JournalStatus _status = new(true, "reachable", DateTimeOffset.UtcNow);
    private TaskCompletionSource _down = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action<bool>? _reported;

    // Journal writes under way, when none last was, and when one was last stored: a busy database is told from a stuck one.
    private int _pending;
    private long _lastIdle = Stopwatch.GetTimestamp();
    private long _lastStored;

    /// <summary>Creates the view of a journal; use <see cref="For"/> to get the actor system's one.</summary>
    public JournalHealth(JournalTarget target, JournalSettings settings)
    {
        Target = target;
        Settings = settings;
        _gauge = VLinkMetrics.TrackJournal(() => _status.Up);
    }

    /// <summary>The journal's database.</summary>
    public JournalTarget Target { get; }

    /// <summary>How it is watched.</summary>
    public JournalSettings Settings { get; }

    /// <summary>The current status.</summary>
    public JournalStatus Status => _status;

    /// <summary>True while the journal answers.</summary>
    public bool IsUp => _status.Up;

    /// <summary>Completes when the journal goes down (at once if it is down now): writes waiting on it fail then.</summary>
    public Task WhenDown
    {
        get
        {
            lock (_lock) return _down.Task;
        }
    }

    /// <summary>The sentence an operator reads while the journal is down, naming it.</summary>
    public string Describe() => Describe(_status);

    /// <summary>The actor system's journal health, created on first use from its configuration.</summary>
    public static JournalHealth For(ActorSystem system) => system.WithExtension<JournalHealth, JournalHealthProvider>();

    /// <summary>Throws <see cref="JournalUnavailableException"/> while the journal is down.</summary>
    public void ThrowIfDown()
    {
        var status = _status;
        if (!status.Up) throw new JournalUnavailableException(Describe(status));
    }

    /// <summary>
    /// While the journal is down, answers <paramref name="writer"/> with <see cref="JournalUnavailable"/> and returns true:
    /// how a partition or the catalog refuses a write before any persist.
    /// </summary>
    public bool Refuse(IActorRef writer)
    {
        var status = _status;
        if (status.Up) return false;
        writer.Tell(new JournalUnavailable(Describe(status)));
        return true;
    }

    /// <summary>
    /// A write of the journal failed: the journal counts as down now (writes are refused at once), and the probe checks
    /// at once whether it is back.
    /// </summary>
    public void ReportFailure(Exception cause)
    {
        ArgumentNullException.ThrowIfNull(cause);
        bool wentDown = MarkDown(JournalTarget.Reason(cause));
        _reported?.Invoke(wentDown);
    }

    /// <summary>A journal write went to the database.</summary>
    internal void WriteStarted() => Interlocked.Increment(ref _pending);

    /// <summary>A journal write came back from the database, <paramref name="stored"/> or not.</summary>
    internal void WriteEnded(bool stored)
    {
        long now = Stopwatch.GetTimestamp();
        if (stored) Interlocked.Exchange(ref _lastStored, now);
        if (Interlocked.Decrement(ref _pending) == 0) Interlocked.Exchange(ref _lastIdle, now);
    }

    /// <summary>
    /// Whether journal writes have been waiting on the database for at least <paramref name="span"/> without any of
    /// them stored meanwhile: a probe that finds the database busy then means it is stuck, not merely busy.
    /// </summary>
    internal bool Stalled(TimeSpan span)
    {
        long since = Stopwatch.GetTimestamp() - (long)(span.TotalSeconds * Stopwatch.Frequency);
        return Volatile.Read(ref _pending) > 0 && Interlocked.Read(ref _lastIdle) < since && Interlocked.Read(ref _lastStored) < since;
    }

    /// <summary>Marks the journal down with <paramref name="reason"/> (the probe's or a failed write's); returns whether it was up.</summary>
    internal bool MarkDown(string reason)
    {
        lock (_lock)
        {
            var was = _status;
            _status = new JournalStatus(false, reason, was.Up ? DateTimeOffset.UtcNow : was.Since);
            _down.TrySetResult();
            return was.Up;
        }
    }

    /// <summary>Marks the journal up; returns whether it was down.</summary>
    internal bool MarkUp()
    {
        lock (_lock)
        {
            if (_status.Up) return false;
            _status = new JournalStatus(true, "reachable", DateTimeOffset.UtcNow);
            _down = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return true;
        }
    }

    /// <summary>What the probe does when a failure is reported (told whether the journal just went down).</summary>
    internal void OnFailureReported(Action<bool> reported) => _reported = reported;

    /// <inheritdoc />
    public void Dispose() => _gauge.Dispose();

    private string Describe(JournalStatus status) => status.Up
        ? $"{Target.Name} is reachable"
        : $"{Target.Name} is unreachable: {status.Reason}";
}

/// <summary>Creates the <see cref="JournalHealth"/> extension and disposes it with its actor system.</summary>
public sealed class JournalHealthProvider : ExtensionIdProvider<JournalHealth>
{
    /// <inheritdoc />
    public override JournalHealth CreateExtension(ExtendedActorSystem system)
    {
        var health = new JournalHealth(JournalTarget.Of(system.Settings.Config), JournalSettings.From(system.Settings.Config));
        system.RegisterOnTermination(health.Dispose);
        return health;
    }
}
