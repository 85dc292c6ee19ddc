using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// The server's own profiles, from the .NET runtime's EventPipe diagnostics on this process:
/// CPU from the sample profiler (managed-code samples only; one sample per thread per millisecond),
/// allocations from GC allocation ticks (about one per 100 KB allocated, each carrying its size),
/// lock contention from Contention events (the .NET counterpart of Go's mutex profile), blocking waits from
/// WaitHandleWait events (the counterpart of Go's block profile),
/// and thread stacks (one sample per managed thread: the counterpart of Go's goroutine profile).
/// </summary>
internal sealed class SelfProfiler
{
    /// <summary>The EventPipe sample profiler's nominal interval.</summary>
    private const long NominalPeriodNanos = 1_000_000;

    /// <summary>Sample types of Go's mutex and block profiles.</summary>
    private static readonly (string Type, string Unit)[] s_contentionTypes = [("contentions", "count"), ("delay", "nanoseconds")];

    private readonly SemaphoreSlim _threadsLock = new(1, 1);

    public static async Task<byte[]> CpuAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var trace = await EventPipeRecorder.RecordAsync(EventPipeRecorder.CpuProviders(), duration, cancellationToken);
        return Convert(trace, log =>
        {
            var period = EffectivePeriodNanos(log, duration);
            var builder = new SelfProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), period)
            {
                Time = start,
                Duration = duration,
            };
            var stacks = new TraceStacks(builder);
            Span<long> values = [1, period];
            foreach (var e in log.Events)
            {
                if (ThreadSampleKind(e) == ManagedSample && stacks.Resolve(e.CallStack()) is { } stack)
                {
                    builder.Add(stack, values);
                }
            }

            return builder.ToGzip();
        });
    }

    public static async Task<byte[]> AllocationsAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var trace = await EventPipeRecorder.RecordAsync(EventPipeRecorder.AllocationProviders(), duration, cancellationToken);
        return Convert(trace, log =>
        {
            var builder = new SelfProfileBuilder([("alloc_space", "bytes")], ("space", "bytes"), 0)
            {
                Time = start,
                Duration = duration,
            };
            var stacks = new TraceStacks(builder);
            Span<long> values = [0];
            foreach (var e in log.Events)
            {
                if (e is GCAllocationTickTraceData tick && stacks.Resolve(tick.CallStack()) is { } stack)
                {
                    values[0] = tick.AllocationAmount64;
                    builder.Add(stack, values);
                }
            }

            return builder.ToGzip();
        });
    }

    /// <summary>
    /// Lock contention (Go's mutex profile): ContentionStart carries the stack, ContentionStop the wait. Like Go's
    /// <c>SetMutexProfileFraction(n)</c>, one contention event in <paramref name="fraction"/> is kept on average and
    /// the kept ones are scaled by it; 0 or less records nothing.
    /// </summary>
    public static async Task<byte[]> ContentionAsync(TimeSpan duration, double fraction, CancellationToken cancellationToken)
    {
        if (fraction <= 0)
        {
            return Disabled(s_contentionTypes, "mutex profiling is off: start parca with --mutex-profile-fraction=N to record lock contention");
        }

        var start = DateTimeOffset.UtcNow;
        var trace = await EventPipeRecorder.RecordAsync(EventPipeRecorder.ContentionProviders(), duration, cancellationToken);
        var scale = Math.Max(1, fraction);
        return Convert(trace, log =>
        {
            var builder = new SelfProfileBuilder(s_contentionTypes, ("contentions", "count"), 1) { Time = start, Duration = duration };
            var stacks = new TraceStacks(builder);
            Span<long> values = [0, 0];

            // The runtime attaches the stack to ContentionStart and the duration to ContentionStop: pair them per thread.
            var waiting = new Dictionary<int, ulong[]>();
            foreach (var e in log.Events)
            {
                if (e is ContentionStartTraceData begin && stacks.Resolve(begin.CallStack()) is { } stack)
                {
                    waiting[begin.ThreadID] = stack;
                }
                else if (e is ContentionStopTraceData stop && waiting.Remove(stop.ThreadID, out var waited)
                    && (scale == 1 || Random.Shared.NextDouble() * scale < 1))
                {
                    values[0] = (long)Math.Round(scale);
                    values[1] = (long)(stop.DurationNs * scale);
                    builder.Add(waited, values);
                }
            }

            return builder.ToGzip();
        });
    }

    /// <summary>
    /// Blocking waits (the counterpart of Go's block profile): .NET 9+'s WaitHandleWaitStart (with the waiter's stack)
    /// and WaitHandleWaitStop events, raised for waits on wait handles and <c>Monitor.Wait</c> (so also
    /// <c>ManualResetEventSlim</c>, <c>Task.Wait</c>, <c>SemaphoreSlim.Wait</c> once they stop spinning). Sampled as
    /// Go's <c>SetBlockProfileRate(rate)</c>: a wait of at least <paramref name="rateNanos"/> is always kept, a shorter
    /// wait of d ns with probability d/rate and then counted rate/d times with rate ns of delay (unbiased); 0 or less
    /// records nothing. Only waits that start and end inside the window are counted.
    /// </summary>
    public static async Task<byte[]> BlockAsync(TimeSpan duration, long rateNanos, CancellationToken cancellationToken)
    {
        if (rateNanos <= 0)
        {
            return Disabled(s_contentionTypes, "block profiling is off: start parca with --block-profile-rate=N to record blocking waits");
        }

        var start = DateTimeOffset.UtcNow;
        var trace = await EventPipeRecorder.RecordAsync(EventPipeRecorder.BlockProviders(), duration, cancellationToken);
        return Convert(trace, log =>
        {
            var builder = new SelfProfileBuilder(s_contentionTypes, ("contentions", "count"), 1) { Time = start, Duration = duration };
            var stacks = new TraceStacks(builder);
            Span<long> values = [0, 0];
            var waiting = new Dictionary<int, (ulong[] Stack, double StartMSec)>();
            foreach (var e in log.Events)
            {
                if (e is WaitHandleWaitStartTraceData begin)
                {
                    if (stacks.Resolve(begin.CallStack()) is { } stack)
                    {
                        waiting[begin.ThreadID] = (stack, begin.TimeStampRelativeMSec);
                    }
                }
                else if (e is WaitHandleWaitStopTraceData stop && waiting.Remove(stop.ThreadID, out var wait))
                {
                    var nanos = Math.Max(1, (long)((stop.TimeStampRelativeMSec - wait.StartMSec) * 1_000_000));
                    if (nanos >= rateNanos)
                    {
                        values[0] = 1;
                        values[1] = nanos;
                    }
                    else if (Random.Shared.NextDouble() * rateNanos < nanos)
                    {
                        values[0] = Math.Max(1, (long)Math.Round((double)rateNanos / nanos));
                        values[1] = rateNanos;
                    }
                    else
                    {
                        continue;
                    }

                    builder.Add(wait.Stack, values);
                }
            }

            return builder.ToGzip();
        });
    }

    /// <summary>A valid profile without samples, like Go serves while the rate is 0, saying why in a comment.</summary>
    private static byte[] Disabled((string Type, string Unit)[] types, string why)
    {
        var builder = new SelfProfileBuilder(types, ("contentions", "count"), 1);
        builder.Comments.Add(why);
        return builder.ToGzip();
    }

    /// <summary>One sample per managed thread with its current stack, taken from a short sample-profiler session.</summary>
    public async Task<byte[]> ThreadsAsync(CancellationToken cancellationToken)
    {
        await _threadsLock.WaitAsync(cancellationToken);
        try
        {
            var start = DateTimeOffset.UtcNow;
            var trace = await EventPipeRecorder.RecordAsync(EventPipeRecorder.CpuProviders(), TimeSpan.FromMilliseconds(100), cancellationToken);
            return Convert(trace, log =>
            {
                var builder = new SelfProfileBuilder([("goroutine", "count")], ("goroutine", "count"), 1) { Time = start };
                var stacks = new TraceStacks(builder);
                var lastPerThread = new Dictionary<int, TraceCallStack>();
                foreach (var e in log.Events)
                {
                    if (ThreadSampleKind(e) >= 0 && e.CallStack() is { } stack)
                    {
                        lastPerThread[e.ThreadID] = stack;
                    }
                }

                Span<long> one = [1];
                foreach (var stack in lastPerThread.Values)
                {
                    if (stacks.Resolve(stack) is { } resolved)
                    {
                        builder.Add(resolved, one);
                    }
                }

                return builder.ToGzip();
            });
        }
        finally
        {
            _threadsLock.Release();
        }
    }

    /// <summary>
    /// For a sample-profiler event, its kind (1 = thread in native code or waiting, 2 = running managed code);
    /// -1 for other events. TraceEvent keeps the typed payload class internal, so the one int32 field is read directly.
    /// </summary>
    private static int ThreadSampleKind(TraceEvent e)
    {
        if (e.ProviderName != EventPipeRecorder.SampleProfiler || e.EventDataLength < 4)
        {
            return -1;
        }

        return BitConverter.ToInt32(e.EventData(), 0);
    }

    private const int ManagedSample = 2;

    /// <summary>
    /// The time one sample stands for. The profiler aims at one round per millisecond but each round suspends the
    /// runtime, so on a busy machine it achieves fewer; every managed thread is sampled in every round, so the
    /// thread sampled most often tells how many rounds happened in the window.
    /// </summary>
    private static long EffectivePeriodNanos(TraceLog log, TimeSpan duration)
    {
        var perThread = new Dictionary<int, int>();
        var rounds = 0;
        foreach (var e in log.Events)
        {
            if (ThreadSampleKind(e) >= 0)
            {
                var n = perThread[e.ThreadID] = perThread.GetValueOrDefault(e.ThreadID) + 1;
                rounds = Math.Max(rounds, n);
            }
        }

        return rounds == 0 ? NominalPeriodNanos : Math.Max(NominalPeriodNanos, (long)(duration.Ticks * 100 / rounds));
    }

    private static byte[] Convert(string nettrace, Func<TraceLog, byte[]> build)
    {
        var etlx = Path.ChangeExtension(nettrace, ".etlx");
        try
        {
            TraceLog.CreateFromEventPipeDataFile(nettrace, etlx);
            using var log = new TraceLog(etlx);
            return build(log);
        }
        finally
        {
            File.Delete(nettrace);
            File.Delete(etlx);
        }
    }
}
