using System.Globalization;

namespace Parca.Agent;

/// <summary>
/// Tells /healthy whether the window loop still makes progress: the sampling thread must close a window every
/// --profiling-duration and the processing task must finish building a window's profiles; either one silent for
/// longer than <see cref="Threshold"/> is a stall, reported with what is stuck and for how long.
/// </summary>
internal sealed class WindowWatchdog
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _duration;
    private long _lastClosed;
    private long _processingSince = -1;

    public WindowWatchdog(TimeSpan duration, TimeProvider time)
    {
        _duration = duration;
        _time = time;
        // Three windows, but never less than a window plus 5 s: short test windows must not flap.
        Threshold = TimeSpan.FromTicks(Math.Max(duration.Ticks * 3, (duration + TimeSpan.FromSeconds(5)).Ticks));
        _lastClosed = time.GetTimestamp();
    }

    public TimeSpan Threshold { get; }

    /// <summary>Sampling started (the clock starts now).</summary>
    public void Started() => Volatile.Write(ref _lastClosed, _time.GetTimestamp());

    /// <summary>The sampling thread closed a window.</summary>
    public void WindowClosed() => Volatile.Write(ref _lastClosed, _time.GetTimestamp());

    public void ProcessingStarted() => Volatile.Write(ref _processingSince, _time.GetTimestamp());

    public void ProcessingFinished() => Volatile.Write(ref _processingSince, -1);

    /// <summary>Null while healthy, else why the window loop counts as stalled.</summary>
    public string? Stall()
    {
        var now = _time.GetTimestamp();
        var sinceClosed = _time.GetElapsedTime(Volatile.Read(ref _lastClosed), now);
        if (sinceClosed > Threshold)
        {
            return string.Create(CultureInfo.InvariantCulture, $"window loop stalled: no profiling window closed for {sinceClosed.TotalSeconds:0} s (one is due every {_duration.TotalSeconds:0.#} s)");
        }

        var processing = Volatile.Read(ref _processingSince);
        if (processing >= 0 && _time.GetElapsedTime(processing, now) is var busy && busy > Threshold)
        {
            return string.Create(CultureInfo.InvariantCulture, $"window loop stalled: building the profiles of one window has taken {busy.TotalSeconds:0} s (limit {Threshold.TotalSeconds:0} s)");
        }

        return null;
    }
}
