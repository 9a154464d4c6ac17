using Akka.Actor;
using Akka.Event;

namespace VLink.Cluster.Journal;

/// <summary>
/// Probes the node's journal database every <see cref="JournalSettings.ProbeInterval"/> and keeps
/// <see cref="JournalHealth"/> up to date; a write failure the journal plugin reports makes it probe at once. When the
/// database comes back, the driver's pooled connections (broken by the restart) are dropped before writes resume.
/// </summary>
public sealed class JournalProbe : ReceiveActor, IWithTimers
{
    /// <summary>The probe's actor name.</summary>
    public const string Name = "vlink-journal-probe";

    private const string TickTimer = "probe";

    // Probes in a row that find the database busy (no answer in time, its lock held) before it counts as down while no
    // write waits on it.
    private const int BusyProbesForDown = 3;
    private readonly JournalHealth _health;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _probing;
    private int _busyInARow;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the probe of <paramref name="health"/>'s journal.</summary>
    public static Props Props(JournalHealth health) => Akka.Actor.Props.Create(() => new JournalProbe(health));

    /// <summary>Creates the probe.</summary>
    public JournalProbe(JournalHealth health)
    {
        _health = health;
        Receive<Tick>(_ => Probe());
        Receive<FailureReported>(reported =>
        {
            if (reported.WentDown) WentDown();
            Probe();
        });
        Receive<Probed>(OnProbed);
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        var self = Self;
        _health.OnFailureReported(wentDown => self.Tell(new FailureReported(wentDown)));
        if (_health.Target.Kind != JournalKind.Unprobed) Self.Tell(Tick.Instance);
    }

    private void Probe()
    {
        if (_probing || _health.Target.Kind == JournalKind.Unprobed) return;
        _probing = true;
        Timers.Cancel(TickTimer);
        _health.Target.ProbeAsync(_health.Settings.ProbeTimeout).ContinueWith(
            t => new Probed(t.IsCompletedSuccessfully ? null
                : t.Exception?.GetBaseException() is { } e and not TimeoutException ? e
                : new TimeoutException("no answer to a probe in time")),
            TaskScheduler.Default).PipeTo(Self);
    }

    private void OnProbed(Probed probed)
    {
        _probing = false;
        if (probed.Error is null)
        {
            _busyInARow = 0;
            if (!_health.IsUp)
            {
                // Connections pooled before the outage are broken: dropped before the gate opens, so no write finds out.
                _health.Target.ClearPools();
                if (_health.MarkUp()) _log.Warning("{0} is reachable again; writes are accepted", _health.Target.Name);
            }
        }
        else if (_health.IsUp && JournalTarget.IsLocked(probed.Error) && !_health.Stalled(_health.Settings.WriteTimeout))
        {
            // SQLite's lock held: most often by this node's own snapshot or a large journal write, which can hold it for
            // seconds under a bulk load, so it counts as down only once this node's writes have waited a whole write
            // timeout on it without any being stored (a bulk load of 300K points was refused as "unreachable" before).
            _busyInARow = 0;
            Probe();
            return;
        }
        else if (_health.IsUp && JournalTarget.IsBusy(probed.Error) && !JournalTarget.IsLocked(probed.Error) && ++_busyInARow < BusyProbesForDown)
        {
            // Busy, not necessarily gone (a loaded machine): the journal counts as down when it stays so probe after probe.
            Probe();
            return;
        }
        else if (_health.MarkDown(JournalTarget.Reason(probed.Error)))
        {
            WentDown();
        }
        Timers.StartSingleTimer(TickTimer, Tick.Instance, _health.Settings.ProbeInterval);
    }

    private void WentDown()
    {
        _health.Target.ClearPools();
        _log.Error("{0}; writes are refused until it answers, reads go on from memory", _health.Describe());
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Probed(Exception? Error);

    private sealed record FailureReported(bool WentDown);
}
