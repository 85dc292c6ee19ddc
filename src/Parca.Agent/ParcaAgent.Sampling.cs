using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Parca.Agent;

public sealed partial class ParcaAgent
{
    /// <summary>
    /// The only thread that touches the ring buffer and the aggregator: drains the ring buffer every poll interval
    /// and closes a window every --profiling-duration (and once more when stopping).
    /// </summary>
    private void SamplingLoop()
    {
        var sampler = _sampler!;
        var aggregator = _aggregator!;
        var token = _stopping.Token;
        var windowStart = DateTimeOffset.UtcNow;
        var windowClock = Stopwatch.StartNew();
        while (true)
        {
            var stopping = token.WaitHandle.WaitOne(Options.PerfEventBufferPollInterval);
            sampler.Consume();
            if (stopping || windowClock.Elapsed >= Options.ProfilingDuration)
            {
                _watchdog.WindowClosed();
                var (stacks, names) = aggregator.Swap();
                var duration = windowClock.Elapsed;
                windowClock.Restart();
                if (stacks.Count > 0)
                {
                    // Bounded hand-off: when processing falls behind, sampling waits here (the ring buffer absorbs it).
                    _closedWindows.Writer.WriteAsync(new Window(stacks, names, windowStart, duration), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }
                else
                {
                    aggregator.Return(stacks, names);
                }

                windowStart = DateTimeOffset.UtcNow;
            }

            if (stopping)
            {
                return;
            }
        }
    }

    private async Task ProcessWindowsAsync()
    {
        await foreach (var window in _closedWindows.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            _watchdog.ProcessingStarted();
            try
            {
                var profiles = await _windows.ProcessAsync(window.Stacks, window.ThreadNames, window.Start, window.Duration).ConfigureAwait(false);
                foreach (var profile in profiles)
                {
                    foreach (var store in _stores)
                    {
                        try
                        {
                            await store.WriteAsync(profile, CancellationToken.None).ConfigureAwait(false);
                        }
                        // InvalidOperationException: the remote store's bounded buffer refused a profile larger than its bound.
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
                        {
                            Metrics.ProfileWriteFailed();
                            LogStoreFailed(_logger, store.GetType().Name, e.Message);
                        }
                    }

                    Metrics.ProfileWritten();
                }

                _latest.EndWindow();
                _unwinder?.Touch(window.Stacks);
                _unwinder?.Sweep();
                _dotnet?.Sweep();
                _java?.Sweep();
                _windows.JavaInterpreter?.Sweep();
                _windows.JitUnwind?.Sweep(pid => _unwinder?.HasProcess(pid) == true);
                _interpreters?.Sweep();
                Metrics.WindowClosed();
                // Between windows the agent is idle: a compacting, decommitting collection gives back the gen0 budget
                // the window's allocations committed (otherwise ~15-20 MB of RSS above the live heap on this
                // machine) at the cost of one small full GC per window; then the native memory freed (file reads, zlib).
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                _ = Interop.Libc.MallocTrim(0);
                LogWindow(_logger, window.Stacks.TotalSamples, profiles.Count);
            }
            finally
            {
                _watchdog.ProcessingFinished();
                _aggregator!.Return(window.Stacks, window.ThreadNames);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "window closed: {Samples} samples, {Profiles} profiles")]
    private static partial void LogWindow(ILogger logger, long samples, int profiles);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Store} failed to write a profile: {Error}")]
    private static partial void LogStoreFailed(ILogger logger, string store, string error);
}
