using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// Records an EventPipe trace of this very process through its diagnostics IPC socket (DiagnosticsClient on our own
/// pid), the same way <c>dotnet-trace</c> would from outside, into a <c>.nettrace</c> file.
/// </summary>
internal static class EventPipeRecorder
{
    public const string SampleProfiler = "Microsoft-DotNETCore-SampleProfiler";
    public const string Runtime = "Microsoft-Windows-DotNETRuntime";

    /// <summary>Runtime keywords: GC (allocation ticks), Loader + JIT (method names for stacks), Contention.</summary>
    public const long GcKeyword = 0x1;
    public const long LoaderKeyword = 0x8;
    public const long JitKeyword = 0x10;
    public const long ContentionKeyword = 0x4000;

    /// <summary>WaitHandleWaitStart/Stop (.NET 9+): blocking waits on wait handles and Monitor.Wait, with the waiter's stack.</summary>
    public const long WaitHandleKeyword = 0x40000000000;

    /// <summary>Records for <paramref name="duration"/> (or until cancelled) and returns the path of the trace file.</summary>
    public static async Task<string> RecordAsync(IReadOnlyList<EventPipeProvider> providers, TimeSpan duration, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"parca-self-{Environment.ProcessId}-{Guid.NewGuid():N}.nettrace");
        var client = new DiagnosticsClient(Environment.ProcessId);
        using var session = await client.StartEventPipeSessionAsync(providers, requestRundown: true, circularBufferMB: 64, cancellationToken);
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            var copy = session.EventStream.CopyToAsync(file, CancellationToken.None);
            try
            {
                await Task.Delay(duration, cancellationToken);
            }
            finally
            {
                // Stopping makes the runtime write the rundown (names of every JIT-compiled method) and end the stream.
                await session.StopAsync(CancellationToken.None);
                await copy;
            }
        }
        catch
        {
            File.Delete(path);
            throw;
        }

        return path;
    }

    public static EventPipeProvider[] CpuProviders() =>
    [
        new(SampleProfiler, EventLevel.Informational),
        new(Runtime, EventLevel.Informational, LoaderKeyword | JitKeyword),
    ];

    public static EventPipeProvider[] AllocationProviders() =>
    [
        new(Runtime, EventLevel.Verbose, GcKeyword | LoaderKeyword | JitKeyword),
    ];

    public static EventPipeProvider[] BlockProviders() =>
    [
        new(Runtime, EventLevel.Verbose, WaitHandleKeyword | LoaderKeyword | JitKeyword),
    ];

    public static EventPipeProvider[] ContentionProviders() =>
    [
        new(Runtime, EventLevel.Informational, ContentionKeyword | LoaderKeyword | JitKeyword),
    ];
}
