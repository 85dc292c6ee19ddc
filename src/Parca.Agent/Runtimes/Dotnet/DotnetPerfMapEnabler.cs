using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Agent.Profiling;

namespace Parca.Agent.Runtimes.Dotnet;

/// <summary>
/// Turns on the perf map of every .NET 8+ process the agent samples (a process mapping libcoreclr.so), through the
/// runtime's diagnostics socket, so its JIT frames get names without restarting it with DOTNET_PerfMapEnabled=1.
/// The runtime then writes /tmp/perf-PID.map in the process's own /tmp: first every method already compiled, then one
/// line per method it compiles (docs/agent.md ".NET processes" has the cost). A process that was started with the
/// perf map on is left alone; one where it cannot be turned on (no socket, DOTNET_EnableDiagnostics=0, .NET 7 or
/// older, the process exiting) costs one log line. On stop the agent turns off what it turned on.
/// Runs on the process's background job (<see cref="ProcessJobs"/>): the IPC round trip blocks only that process.
/// </summary>
internal sealed partial class DotnetPerfMapEnabler
{
    /// <summary>Windows in which the socket may still be missing (the runtime creates it early in start-up) before giving up.</summary>
    private const int SocketAttempts = 3;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);

    private readonly string _procRoot;
    private readonly ProcessFiles _files;
    private readonly ILogger _logger;
    private readonly ProcessStates<State> _states = new(() => new State());
    private long _enabled;
    private long _failed;

    public DotnetPerfMapEnabler(ProcessFiles files, ILogger logger)
    {
        _files = files;
        _procRoot = files.ProcRoot;
        _logger = logger;
    }

    /// <summary>Processes whose perf map the agent turned on, since start.</summary>
    public long Enabled => Interlocked.Read(ref _enabled);

    /// <summary>.NET processes where it could not (logged once each), since start.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>True when the agent turned on <paramref name="pid"/>'s perf map (tests).</summary>
    public bool IsEnabled(int pid) => _states.TryGetValue(pid, out var s) && s.Outcome == Outcome.Enabled;

    /// <summary>Turns on the perf map of <paramref name="process"/> if it runs .NET and this was not done yet.</summary>
    public void Prepare(ProcessInfo process)
    {
        if (process.Exited || !Symbolizer.IsDotnet(process))
        {
            return;
        }

        var state = _states.For(process);
        lock (state)
        {
            if (state.Outcome != Outcome.Pending)
            {
                return;
            }

            if (AlreadyOn(process))
            {
                state.Outcome = Outcome.LeftAlone;
                return;
            }

            var socket = DiagnosticsIpc.FindSocket(_procRoot, process.Pid, process.NamespacePid);
            if (socket is null)
            {
                if (++state.Attempts >= SocketAttempts && ProcFs.IsRunning(_files, process))
                {
                    Fail(process, state, $"no diagnostics socket dotnet-diagnostic-{process.NamespacePid}-*-socket in {_procRoot}/{process.Pid}/root/tmp (DOTNET_EnableDiagnostics=0, or TMPDIR points elsewhere)");
                }

                return;
            }

            var result = DiagnosticsIpc.EnablePerfMapAsync(socket, PerfMapType.PerfMap, s_timeout).GetAwaiter().GetResult();
            if (result.Success)
            {
                state.Outcome = Outcome.Enabled;
                state.Socket = socket;
                Interlocked.Increment(ref _enabled);
                LogEnabled(_logger, process.Pid, process.Comm);
            }
            else if (ProcFs.IsRunning(_files, process))
            {
                Fail(process, state, result.Error!);
            }
            else
            {
                state.Outcome = Outcome.Gone; // exited between the sample and now: nothing to say
            }
        }
    }

    /// <summary>Forgets processes that exited.</summary>
    public void Sweep() => _states.Sweep(_files);

    /// <summary>Turns off the perf maps the agent turned on (the runtime stops writing; the file stays for other tools).</summary>
    public async Task DisableAllAsync()
    {
        var tasks = new List<Task>();
        foreach (var state in _states.States)
        {
            if (state.Outcome == Outcome.Enabled && state.Socket is { } socket)
            {
                tasks.Add(DiagnosticsIpc.DisablePerfMapAsync(socket, TimeSpan.FromSeconds(1)));
            }
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        _states.Clear();
    }

    /// <summary>True when the process was started with the perf map on (DOTNET_/COMPlus_PerfMapEnabled other than 0).</summary>
    private bool AlreadyOn(ProcessInfo process)
    {
        foreach (var entry in ProcFs.ReadEnvironment(_files, process.Pid))
        {
            if ((entry.StartsWith("DOTNET_PerfMapEnabled=", StringComparison.Ordinal) || entry.StartsWith("COMPlus_PerfMapEnabled=", StringComparison.Ordinal))
                && !entry.EndsWith("=0", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void Fail(ProcessInfo process, State state, string why)
    {
        state.Outcome = Outcome.Failed;
        Interlocked.Increment(ref _failed);
        if (_files.Log.ShouldLog(process.Pid))
        {
            LogFailed(_logger, process.Pid, process.Comm, why);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): turned on the .NET perf map through the diagnostics socket")]
    private static partial void LogEnabled(ILogger logger, int pid, string comm);

    [LoggerMessage(Level = LogLevel.Warning, Message = "process {Pid} ({Comm}): could not turn on the .NET perf map: {Reason}; its JIT frames stay unnamed (logged once per process)")]
    private static partial void LogFailed(ILogger logger, int pid, string comm, string reason);

    private enum Outcome
    {
        Pending,
        Enabled,
        LeftAlone,
        Failed,
        Gone,
    }

    private sealed class State
    {
        public Outcome Outcome { get; set; }

        public int Attempts { get; set; }

        public string? Socket { get; set; }
    }
}
