using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// Runs an EventPipe session on this very process through its diagnostics IPC socket (DiagnosticsClient on our own
/// pid), the same way <c>dotnet-trace</c> would from outside, and hands each event to a callback while it streams
/// (TraceEvent's real-time TraceLog: it decodes each event's stack into code addresses). No rundown and no trace file:
/// addresses are named afterwards with the long-lived <see cref="MethodMap"/>, which the session's own method-load
/// events keep current.
/// </summary>
internal static class EventPipeRecorder
{
    public const string SampleProfiler = "Microsoft-DotNETCore-SampleProfiler";
    public const string Runtime = "Microsoft-Windows-DotNETRuntime";

    /// <summary>The sample profiler provider's id (events of a provider without a parser carry only this).</summary>
    public static readonly Guid SampleProfilerGuid = new("3c530d44-97ae-513a-1e6d-783e8f8e03a9");

    /// <summary>Runtime keywords: GC (allocation ticks), Loader + JIT (method names for stacks: <see cref="MethodMap"/>), Contention.</summary>
    public const long GcKeyword = 0x1;
    public const long LoaderKeyword = 0x8;
    public const long JitKeyword = 0x10;
    public const long ContentionKeyword = 0x4000;

    /// <summary>WaitHandleWaitStart/Stop (.NET 9+): blocking waits on wait handles and Monitor.Wait, with the waiter's stack.</summary>
    public const long WaitHandleKeyword = 0x40000000000;

    /// <summary>
    /// Records for <paramref name="duration"/> (or until cancelled; then the session is stopped and the cancellation
    /// rethrown), calling <paramref name="onEvent"/> on the reading thread for every event.
    /// </summary>
    public static async Task RecordAsync(IReadOnlyList<EventPipeProvider> providers, TimeSpan duration, MethodMap methods, Action<TraceEvent, TraceLog> onEvent, CancellationToken cancellationToken)
    {
        await methods.EnsureListeningAsync().WaitAsync(cancellationToken);
        var client = new DiagnosticsClient(Environment.ProcessId);
        using var session = await client.StartEventPipeSessionAsync(providers, requestRundown: false, circularBufferMB: 16, cancellationToken);
        var read = Task.Factory.StartNew(() =>
        {
            using var source = TraceLog.CreateFromEventPipeSession(session, TraceLog.EventPipeRundownConfiguration.None());
            var log = source.TraceLog;
            // Runtime events arrive typed through the CLR parser; the sample profiler's have no parser and come
            // through AllEvents, known by the provider's id.
            source.Clr.All += e => onEvent(e, log);
            source.AllEvents += e =>
            {
                if (e.ProviderGuid == SampleProfilerGuid)
                {
                    onEvent(e, log);
                }
            };
            source.Process();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await Task.Delay(duration, cancellationToken);
        }
        finally
        {
            await session.StopAsync(CancellationToken.None);
            await read;
        }
    }

    public static EventPipeProvider[] CpuProviders() => [new(SampleProfiler, EventLevel.Informational)];

    public static EventPipeProvider[] AllocationProviders() => [new(Runtime, EventLevel.Verbose, GcKeyword)];

    public static EventPipeProvider[] BlockProviders() => [new(Runtime, EventLevel.Verbose, WaitHandleKeyword)];

    public static EventPipeProvider[] ContentionProviders() => [new(Runtime, EventLevel.Informational, ContentionKeyword)];
}
