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

        // Names are looked up at the window's end, whose read publishes them: only the rows are wanted now.
        var appended = _symbolizer.LoadPerfMap(_processes.Files, info, publish: false);
        if ((appended || unmappedLeaf) && JitUnwind is { } jit)
        {
            jit.Update(info, _symbolizer.PerfMapEntries(info));
        }

        return appended;
    }

    /// <summary>
    /// A fresh perf map from a JVM within the window (<see cref="Runtimes.Dotnet.JitCodeWatch"/>): its samples ran
    /// code its last map did not list (methods compiled since). Only a JVM whose attach listener already runs is
    /// asked; starting the listener (a signal) stays with the window's end. Returns true when new methods got
    /// analysed and published.
    /// </summary>
    internal bool RereadJavaJit(ProcessInfo info, bool unmappedLeaf)
    {
        if (!_symbolizer.JitEnabled || Java is not { } java)
        {
            return false;
        }

        if (unmappedLeaf)
        {
            _processes.RefreshMappings(info);
        }

        var published = false;
        java.Refresh(info, unnamedJit: true, p => published = ReadHotSpotMap(p), listenerOnly: true);
        return published;
    }

    /// <summary>The JIT part of a process's window work: its perf map read and its JIT code's unwind rows published.</summary>
    private void PrepareJit(ProcessInfo info, HashSet<ulong> addresses)
    {
        if (Java is { } java && Symbolizer.IsJava(info))
        {
            // A JVM writes its whole map on request and it is read whole right after, under the request's lock (the
            // JVM rewrites the file in place): nothing to read between requests, only the names to keep.
            if (!java.Refresh(info, _symbolizer.HasUnnamedJit(info, addresses), p => ReadHotSpotMap(p)))
            {
                _symbolizer.KeepPerfMap(info);
            }

            return;
        }

        _symbolizer.LoadPerfMap(_processes.Files, info);
        if (JitUnwind is { } jit && Symbolizer.IsDotnet(info))
        {
            jit.Update(info, _symbolizer.PerfMapEntries(info));
        }
    }

    /// <summary>Reads the map a JVM just wrote, whole, and analyses its new methods; true when rows were published.</summary>
    private bool ReadHotSpotMap(ProcessInfo info)
    {
        _symbolizer.LoadPerfMap(_processes.Files, info, restart: true);
        JavaInterpreter?.Publish(info, _symbolizer.PerfMapEntries(info));
        if (JitUnwind is not { } hotSpot)
        {
            return false;
        }

        // The code cache commits memory as it grows: methods in the new map may lie beyond the mappings known.
        var methods = _symbolizer.PerfMapEntries(info);
        if (!AllMapped(info, methods))
        {
            _processes.RefreshMappings(info);
        }

        return hotSpot.Update(info, methods, hotSpot: true);
    }

    private static bool AllMapped(ProcessInfo info, List<(ulong Start, ulong Size, string Name, string Tag)> methods)
    {
        foreach (var m in methods)
        {
            if (MemoryMapping.Find(info.Mappings, m.Start) is null)
            {
                return false;
            }
        }

        return true;
    }
}
