using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Diagnostics.Tracing;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// The server's own profiles, from the .NET runtime's EventPipe diagnostics on this process:
/// CPU from the sample profiler (managed-code samples only; one round over all managed threads per millisecond,
/// run for a tenth of each window: see <see cref="CpuAsync"/>),
/// allocations from GC allocation ticks (about one per 100 KB allocated, each carrying its size),
/// lock contention from Contention events (the .NET counterpart of Go's mutex profile), blocking waits from
/// WaitHandleWait events (the counterpart of Go's block profile),
/// and thread stacks (one sample per managed thread: the counterpart of Go's goroutine profile).
/// Stacks are named with the process-wide <see cref="Methods"/> map instead of a rundown per window.
/// </summary>
internal sealed class SelfProfiler
{
    /// <summary>The EventPipe sample profiler's interval unless DOTNET_EventPipeThreadSamplingRate says otherwise.</summary>
    private const long DefaultIntervalNanos = 1_000_000;

    /// <summary>
    /// The part of a CPU window that is sampled at the default 1 kHz: a tenth gives as many samples per busy thread as
    /// Go's 100 Hz over the whole window, at a tenth of the sampler's cost (each round suspends the runtime).
    /// </summary>
    internal const double SampledFractionAt1kHz = 0.1;

    /// <summary>The shortest slice worth a session (session start and stop cost a few ms each).</summary>
    internal static readonly TimeSpan MinSampled = TimeSpan.FromSeconds(1);

    /// <summary>How long the thread-stack session runs: long enough for a few rounds of the sampler.</summary>
    private static readonly TimeSpan s_threadsSession = TimeSpan.FromMilliseconds(50);

    /// <summary>Sample types of Go's mutex and block profiles.</summary>
    private static readonly (string Type, string Unit)[] s_contentionTypes = [("contentions", "count"), ("delay", "nanoseconds")];

    private readonly SemaphoreSlim _threadsLock = new(1, 1);

    /// <summary>Code address → method name for this process, shared by all self-profiling sessions.</summary>
    internal static MethodMap Methods { get; } = new();

    /// <summary>
    /// The sample profiler's interval: the runtime's 1 ms, or what DOTNET_EventPipeThreadSamplingRate sets (milliseconds,
    /// hexadecimal like every CLR config value, read once at start-up for the whole process by the .NET 10 servicing
    /// runtimes that have it, such as 10.0.12, and by .NET 11).
    /// </summary>
    internal static long SamplerIntervalNanos { get; } = ReadSamplerInterval();

    /// <summary>
    /// How much of a CPU window of <paramref name="window"/> is sampled: a tenth at 1 kHz (more at a slower sampler,
    /// so the expected number of samples stays that of Go's 100 Hz), at least <see cref="MinSampled"/>, at most the window.
    /// </summary>
    internal static TimeSpan SampledSpan(TimeSpan window)
    {
        var fraction = Math.Min(1, SampledFractionAt1kHz * SamplerIntervalNanos / DefaultIntervalNanos);
        var sampled = TimeSpan.FromTicks((long)(window.Ticks * fraction));
        return sampled < MinSampled ? (window < MinSampled ? window : MinSampled) : sampled;
    }

    /// <summary>
    /// CPU over <paramref name="duration"/> like Go's <c>/debug/pprof/profile?seconds=N</c>, answered after the window.
    /// The sampler runs for <see cref="SampledSpan"/> of it, starting at a random offset (so periodic work, such as
    /// the scrapes at the start of each interval, is neither always in nor always out of the slice), and each managed
    /// sample is weighted window / rounds: the CPU time the slice's samples stand for, scaled to the whole window. The
    /// estimate is unbiased over windows; within one window, work that runs only outside the slice is missed and work
    /// inside it is counted as if it ran all window long.
    /// </summary>
    public static async Task<byte[]> CpuAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var sampled = SampledSpan(duration);
        var offset = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * (duration - sampled).Ticks));
        await Task.Delay(offset, cancellationToken);

        var stacks = new RawStacks(2);
        var rounds = new ThreadRounds();
        await EventPipeRecorder.RecordAsync(EventPipeRecorder.CpuProviders(), sampled, Methods, (source, log) => source.AllEvents += e =>
        {
            var kind = ThreadSampleKind(e);
            if (kind >= 0)
            {
                rounds.Count(e.ThreadID);
                if (kind == ManagedSample && stacks.Capture(e, log) is var id and >= 0)
                {
                    stacks.Add(id, [1, 0]);
                }
            }
        }, cancellationToken);

        var period = rounds.Max == 0
            ? (long)(SamplerIntervalNanos * (duration / sampled))
            : Math.Max(1, duration.Ticks * 100 / rounds.Max);
        stacks.SetProduct(target: 1, source: 0, period);
        var builder = new SelfProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), period)
        {
            Time = start,
            Duration = duration,
        };
        builder.Comments.Add(string.Create(CultureInfo.InvariantCulture,
            $"cpu: sampled {sampled.TotalSeconds:0.###} s of the {duration.TotalSeconds:0.###} s window ({rounds.Max} sampler rounds); cpu/nanoseconds = samples x {period} ns (window / rounds)"));
        await stacks.AddToAsync(builder, Methods, cancellationToken);
        var profile = builder.ToGzip();

        var rest = duration - clock.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, cancellationToken);
        }

        return profile;
    }

    public static async Task<byte[]> AllocationsAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var stacks = new RawStacks(1);
        await EventPipeRecorder.RecordAsync(EventPipeRecorder.AllocationProviders(), duration, Methods, (source, log) => source.Clr.GCAllocationTick += tick =>
        {
            if (stacks.Capture(tick, log) is var id and >= 0)
            {
                stacks.Add(id, [tick.AllocationAmount64]);
            }
        }, cancellationToken);

        var builder = new SelfProfileBuilder([("alloc_space", "bytes")], ("space", "bytes"), 0) { Time = start, Duration = duration };
        await stacks.AddToAsync(builder, Methods, cancellationToken);
        return builder.ToGzip();
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
        var scale = Math.Max(1, fraction);
        var stacks = new RawStacks(2);

        // The runtime attaches the stack to ContentionStart and the duration to ContentionStop: pair them per thread.
        var waiting = new Dictionary<int, int>();
        await EventPipeRecorder.RecordAsync(EventPipeRecorder.ContentionProviders(), duration, Methods, (source, log) =>
        {
            source.Clr.ContentionStart += begin =>
            {
                if (stacks.Capture(begin, log) is var id and >= 0)
                {
                    waiting[begin.ThreadID] = id;
                }
            };
            source.Clr.ContentionStop += stop =>
            {
                if (waiting.Remove(stop.ThreadID, out var waited) && (scale == 1 || Random.Shared.NextDouble() * scale < 1))
                {
                    stacks.Add(waited, [(long)Math.Round(scale), (long)(stop.DurationNs * scale)]);
                }
            };
        }, cancellationToken);

        var builder = new SelfProfileBuilder(s_contentionTypes, ("contentions", "count"), 1) { Time = start, Duration = duration };
        await stacks.AddToAsync(builder, Methods, cancellationToken);
        return builder.ToGzip();
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
        var stacks = new RawStacks(2);
        var waiting = new Dictionary<int, (int Stack, double StartMSec)>();
        await EventPipeRecorder.RecordAsync(EventPipeRecorder.BlockProviders(), duration, Methods, (source, log) =>
        {
            source.Clr.WaitHandleWaitStart += begin =>
            {
                if (stacks.Capture(begin, log) is var id and >= 0)
                {
                    waiting[begin.ThreadID] = (id, begin.TimeStampRelativeMSec);
                }
            };
            source.Clr.WaitHandleWaitStop += stop =>
            {
                if (!waiting.Remove(stop.ThreadID, out var wait))
                {
                    return;
                }

                var nanos = Math.Max(1, (long)((stop.TimeStampRelativeMSec - wait.StartMSec) * 1_000_000));
                if (nanos >= rateNanos)
                {
                    stacks.Add(wait.Stack, [1, nanos]);
                }
                else if (Random.Shared.NextDouble() * rateNanos < nanos)
                {
                    stacks.Add(wait.Stack, [Math.Max(1, (long)Math.Round((double)rateNanos / nanos)), rateNanos]);
                }
            };
        }, cancellationToken);

        var builder = new SelfProfileBuilder(s_contentionTypes, ("contentions", "count"), 1) { Time = start, Duration = duration };
        await stacks.AddToAsync(builder, Methods, cancellationToken);
        return builder.ToGzip();
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
            var stacks = new RawStacks(1);
            var lastPerThread = new Dictionary<int, int>();
            await EventPipeRecorder.RecordAsync(EventPipeRecorder.CpuProviders(), s_threadsSession, Methods, (source, log) => source.AllEvents += e =>
            {
                if (ThreadSampleKind(e) >= 0 && stacks.Capture(e, log) is var id and >= 0)
                {
                    lastPerThread[e.ThreadID] = id;
                }
            }, cancellationToken);

            foreach (var id in lastPerThread.Values)
            {
                stacks.Add(id, [1]);
            }

            var builder = new SelfProfileBuilder([("goroutine", "count")], ("goroutine", "count"), 1) { Time = start };
            await stacks.AddToAsync(builder, Methods, cancellationToken);
            return builder.ToGzip();
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
        if (e.EventDataLength < 4 || e.ProviderGuid != EventPipeRecorder.SampleProfilerGuid)
        {
            return -1;
        }

        return Marshal.ReadInt32(e.DataStart);
    }

    private const int ManagedSample = 2;

    private static long ReadSamplerInterval()
    {
        foreach (var name in (string[])["DOTNET_EventPipeThreadSamplingRate", "COMPlus_EventPipeThreadSamplingRate"])
        {
            // The runtime reads CLR config DWORDs as hexadecimal: "10" is 16 ms.
            if (uint.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var ms) && ms > 0)
            {
                return ms * 1_000_000L;
            }
        }

        return DefaultIntervalNanos;
    }

    /// <summary>
    /// Sampler rounds in a session: every managed thread is sampled once per round, so the thread sampled most often
    /// tells how many rounds happened (fewer than the nominal rate on a busy machine, as each round suspends the runtime).
    /// </summary>
    private sealed class ThreadRounds
    {
        private readonly Dictionary<int, int> _perThread = [];

        public int Max { get; private set; }

        public void Count(int thread)
        {
            var n = _perThread[thread] = _perThread.GetValueOrDefault(thread) + 1;
            Max = Math.Max(Max, n);
        }
    }
}
