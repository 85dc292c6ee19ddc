namespace Parca.Agent;

/// <summary>
/// .NET and Java JIT code compiled within a window (docs/agent.md ".NET stacks", "Java stacks"): wiring of
/// <see cref="Runtimes.Dotnet.JitCodeWatch"/>, which reads a process's perf map again (a JVM's: asks for a new one) as
/// soon as its samples run code without unwind rows.
/// </summary>
public sealed partial class ParcaAgent
{
    private Runtimes.Dotnet.JitCodeWatch? _jitWatch;

    /// <summary>The mid-window perf map re-reads (null without JIT unwind tables, or before start).</summary>
    internal Runtimes.Dotnet.JitCodeWatch? JitWatch => _jitWatch;

    private void StartJitWatch()
    {
        if (_windows.JitUnwind is not { } jit || !_symbolizer.JitEnabled)
        {
            return;
        }

        _jitWatch = new Runtimes.Dotnet.JitCodeWatch(_processes.TryGetCaptured, jit.Covers, _windows.RereadDotnetJit, _java is null ? null : _windows.RereadJavaJit);
        _aggregator!.JitWatch = _jitWatch;
        Metrics.JitWatch = _jitWatch;
        Metrics.Java = _java;
    }

    private void StopJitWatch() => _jitWatch?.Dispose();
}
