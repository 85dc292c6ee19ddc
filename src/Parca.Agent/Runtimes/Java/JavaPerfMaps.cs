using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Agent.Profiling;

namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// Gets the JIT code of every HotSpot JVM the agent samples (a process mapping libjvm.so) named without restarting it
/// with flags: through the attach mechanism (<see cref="HotSpotAttach"/>) the agent runs `jcmd PID Compiler.perfmap`
/// (JDK 17+), which makes the JVM write every code blob it holds (compiled methods, the interpreter, stubs) into
/// /tmp/perf-NSPID.map in its own /tmp. HotSpot writes a snapshot, not a log, so the agent asks again in a window
/// whose samples hit JIT code the last snapshot does not name (newly compiled methods): at the window's end, and
/// within it from <see cref="Dotnet.JitCodeWatch"/> once the JVM's attach listener runs.
/// A JVM where this fails (attach disabled, -Xrs, JDK 16 or older) costs one log line. Runs on the process's
/// background job (<see cref="ProcessJobs"/>).
/// </summary>
internal sealed partial class JavaPerfMaps
{
    /// <summary>Windows in which a JVM may still be starting (SIGQUIT not yet caught, no reply) before giving up.</summary>
    private const int Attempts = 3;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(3);

    private readonly ProcessFiles _files;
    private readonly ILogger _logger;
    private readonly ProcessStates<State> _states = new(() => new State());
    private long _written;
    private long _writtenWithin;
    private long _failed;

    public JavaPerfMaps(ProcessFiles files, ILogger logger)
    {
        _files = files;
        _logger = logger;
    }

    /// <summary>Perf maps the JVMs wrote at the agent's request, since start.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Of <see cref="Written"/>, those asked for within a window (listenerOnly), since start.</summary>
    public long WrittenWithinWindows => Interlocked.Read(ref _writtenWithin);

    /// <summary>JVMs where it could not be done (logged once each), since start.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>How many perf maps <paramref name="pid"/> wrote at the agent's request (tests).</summary>
    public int WrittenFor(int pid) => _states.TryGetValue(pid, out var s) ? s.Written : 0;

    /// <summary>
    /// Has the JVM write a fresh perf map when <paramref name="unnamedJit"/> (the window sampled JIT code the current
    /// map does not name). True when a new map was written; <paramref name="read"/> reads it then, before another
    /// request can rewrite the file (the JVM truncates and rewrites it in place).
    /// <paramref name="listenerOnly"/> (the mid-window requests of <see cref="Dotnet.JitCodeWatch"/>): only when the
    /// JVM's attach listener already runs, so no trigger file or SIGQUIT, and a failure is not counted against the
    /// JVM (the window's end retries and logs).
    /// </summary>
    public bool Refresh(ProcessInfo process, bool unnamedJit, Action<ProcessInfo> read, bool listenerOnly = false)
    {
        if (process.Exited || !unnamedJit || !Symbolizer.IsJava(process))
        {
            return false;
        }

        var state = _states.For(process);
        lock (state)
        {
            if (state.Failed || (listenerOnly && !HotSpotAttach.ListenerRuns(_files.ProcRoot, process.Pid, process.NamespacePid)))
            {
                return false;
            }

            if (DisabledByFlag(process) is { } flag)
            {
                Fail(process, state, $"it was started with {flag}");
                return false;
            }

            try
            {
                HotSpotAttach.JcmdAsync(_files.ProcRoot, process.Pid, process.NamespacePid, "Compiler.perfmap", s_timeout).GetAwaiter().GetResult();
            }
            catch (AttachException) when (listenerOnly)
            {
                return false;
            }
            catch (AttachException e)
            {
                if (++state.Attempts >= Attempts && ProcFs.IsRunning(_files, process))
                {
                    Fail(process, state, e.Message);
                }

                return false;
            }

            if (state.Written++ == 0)
            {
                LogWritten(_logger, process.Pid, process.Comm);
            }

            Interlocked.Increment(ref _written);
            if (listenerOnly)
            {
                Interlocked.Increment(ref _writtenWithin);
            }

            read(process);
            return true;
        }
    }

    /// <summary>Forgets processes that exited.</summary>
    public void Sweep() => _states.Sweep(_files);

    /// <summary>The flag that switches attaching off, from the command line or the JDK's option variables.</summary>
    private string? DisabledByFlag(ProcessInfo process)
    {
        const string Disable = "-XX:+DisableAttachMechanism";
        if (process.Cmdline.Contains(Disable, StringComparison.Ordinal))
        {
            return Disable;
        }

        foreach (var entry in ProcFs.ReadEnvironment(_files, process.Pid))
        {
            if ((entry.StartsWith("JAVA_TOOL_OPTIONS=", StringComparison.Ordinal) || entry.StartsWith("JDK_JAVA_OPTIONS=", StringComparison.Ordinal))
                && entry.Contains(Disable, StringComparison.Ordinal))
            {
                return Disable + " in " + entry[..entry.IndexOf('=')];
            }
        }

        return null;
    }

    private void Fail(ProcessInfo process, State state, string why)
    {
        state.Failed = true;
        Interlocked.Increment(ref _failed);
        if (_files.Log.ShouldLog(process.Pid))
        {
            LogFailed(_logger, process.Pid, process.Comm, why);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): the JVM wrote its perf map (jcmd Compiler.perfmap through the attach socket)")]
    private static partial void LogWritten(ILogger logger, int pid, string comm);

    [LoggerMessage(Level = LogLevel.Warning, Message = "process {Pid} ({Comm}): could not have the JVM write its perf map: {Reason}; its Java frames stay unnamed (logged once per process)")]
    private static partial void LogFailed(ILogger logger, int pid, string comm, string reason);

    private sealed class State
    {
        public int Attempts { get; set; }

        public int Written { get; set; }

        public bool Failed { get; set; }
    }
}
