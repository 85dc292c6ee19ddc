namespace Parca.Agent.Tests;

/// <summary>When /healthy turns 503: the stall rules of the window loop, on a clock the test moves.</summary>
public sealed class WindowWatchdogTests
{
    [Fact]
    public void No_window_closed_for_three_windows_is_a_stall_and_a_closed_window_ends_it()
    {
        var clock = new ManualClock();
        var watchdog = new WindowWatchdog(TimeSpan.FromSeconds(10), clock);
        watchdog.Started();
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(watchdog.Stall());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("window loop stalled: no profiling window closed for 31 s (one is due every 10 s)", watchdog.Stall());
        watchdog.WindowClosed();
        Assert.Null(watchdog.Stall());
    }

    [Fact]
    public void Building_one_window_for_too_long_is_a_stall_even_while_sampling_goes_on()
    {
        var clock = new ManualClock();
        var watchdog = new WindowWatchdog(TimeSpan.FromSeconds(10), clock);
        watchdog.ProcessingStarted();
        for (var i = 0; i < 4; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            watchdog.WindowClosed();
        }

        Assert.Equal("window loop stalled: building the profiles of one window has taken 40 s (limit 30 s)", watchdog.Stall());
        watchdog.ProcessingFinished();
        Assert.Null(watchdog.Stall());
    }

    [Fact]
    public void Short_windows_get_at_least_five_seconds_of_slack()
    {
        var watchdog = new WindowWatchdog(TimeSpan.FromSeconds(1), new ManualClock());
        Assert.Equal(TimeSpan.FromSeconds(6), watchdog.Threshold);
    }

    /// <summary>A clock moved by the test (no wall-clock waits).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
