using Parca.Agent.Processes;

namespace Parca.Agent.Profiling;

internal sealed partial class WindowProcessor
{
    /// <summary>
    /// A re-read of a .NET process's perf map within the window (<see cref="Runtimes.Dotnet.JitCodeWatch"/>): reads
    /// what the runtime appended and analyses the new methods, so the BPF walk gets their rows now rather than at the
    /// window's end. <paramref name="unmappedLeaf"/>: a sample ran outside every known mapping, so the maps are read
    /// again first (the runtime maps more code memory as it compiles). Turning the map on stays with the window's end
    /// (its socket attempts are counted in windows). Returns true when the map had new entries.
    /// </summary>
    internal bool RereadDotnetJit(ProcessInfo info, bool unmappedLeaf)
    {
        if (!_symbolizer.JitEnabled)
        {
            return false;
        }

        if (unmappedLeaf)
        {
            _processes.RefreshMappings(info);
        }

        var appended = _symbolizer.LoadPerfMap(_processes.Files, info);
        if ((appended || unmappedLeaf) && JitUnwind is { } jit)
        {
            jit.Update(info, _symbolizer.PerfMapEntries(info));
        }

        return appended;
    }
}
