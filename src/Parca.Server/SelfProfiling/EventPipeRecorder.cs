using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
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

    /// <summary>The sample profiler provider's id: its events have no parser and come through AllEvents known by this alone.</summary>
    public static readonly Guid SampleProfilerGuid = new("3c530d44-97ae-513a-1e6d-783e8f8e03a9");

    /// <summary>Runtime keywords: GC (allocation ticks), Loader + JIT (method names for stacks: <see cref="MethodMap"/>), Contention.</summary>
    public const long GcKeyword = 0x1;
    public const long LoaderKeyword = 0x8;
    public const long JitKeyword = 0x10;
    public const long ContentionKeyword = 0x4000;

    /// <summary>CompilationDiagnostic: R2RGetEntryPoint when a precompiled (ReadyToRun) method is first prepared.</summary>
    public const long CompilationDiagnosticKeyword = 0x2000000000;

    /// <summary>WaitHandleWaitStart/Stop (.NET 9+): blocking waits on wait handles and Monitor.Wait, with the waiter's stack.</summary>
    public const long WaitHandleKeyword = 0x40000000000;

    /// <summary>
    /// Records for <paramref name="duration"/> (or until cancelled; then the session is stopped and the cancellation
    /// rethrown). <paramref name="subscribe"/> registers the handlers for the events the caller needs (only those:
    /// subscribing a whole parser costs a template per event it knows, for every session); they run on the reading thread.
    /// </summary>
    public static async Task RecordAsync(IReadOnlyList<EventPipeProvider> providers, TimeSpan duration, MethodMap methods, Action<TraceLogEventSource, TraceLog> subscribe, CancellationToken cancellationToken)
    {
        methods.EnsureListening(); // before the first rundown, so that no method falls between the two
        var client = new DiagnosticsClient(Environment.ProcessId);
        using var session = await client.StartEventPipeSessionAsync(providers, requestRundown: false, circularBufferMB: 16, cancellationToken);
        var read = Task.Factory.StartNew(() =>
        {
            using var source = TraceLog.CreateFromEventPipeSession(session, TraceLog.EventPipeRundownConfiguration.None());
            methods.Attach(source.Clr);
            subscribe(source, source.TraceLog);
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

    /// <summary>
    /// The runtime provider with the method events that keep <see cref="MethodMap"/> current (they are rare once the
    /// server has warmed up) and <paramref name="keywords"/>.
    /// </summary>
    private static EventPipeProvider RuntimeWithMethodLoads(long keywords = 0) =>
        new(Runtime, EventLevel.Verbose, keywords | LoaderKeyword | JitKeyword | CompilationDiagnosticKeyword);

    public static EventPipeProvider[] CpuProviders() => [new(SampleProfiler, EventLevel.Informational), RuntimeWithMethodLoads()];

    public static EventPipeProvider[] AllocationProviders() => [RuntimeWithMethodLoads(GcKeyword)];

    public static EventPipeProvider[] BlockProviders() => [RuntimeWithMethodLoads(WaitHandleKeyword)];

    public static EventPipeProvider[] ContentionProviders() => [RuntimeWithMethodLoads(ContentionKeyword)];
}
