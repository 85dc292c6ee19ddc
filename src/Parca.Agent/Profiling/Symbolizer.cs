using System.Collections.Concurrent;
using Parca.Agent.Processes;
using Parca.Symbols.Demangling;
using Parca.Symbols.Elf;
using Parca.Symbols.Jit;
using Parca.Symbols.Kernel;

namespace Parca.Agent.Profiling;

/// <summary>
/// Names frames in the agent: kernel frames through kallsyms, native frames through the mapped file's ELF symbols,
/// JIT frames (anonymous or memfd:doublemapper memory, or no mapping at all) through the process's perf map.
/// Return addresses (every frame but the leaf) are looked up at address - 1 so a call at a function's end
/// resolves to the caller; the profile keeps the raw address and the build id for server-side symbolization.
/// Lookups never touch a file: perf maps and ELF symbols are loaded beforehand by <see cref="ProcessJobs"/>, off
/// the window path, and what is not loaded in time stays unnamed for that window. A perf map is read incrementally
/// (only what the runtime appended since the last window) and kept while its process lives; .NET names are
/// normalized (<see cref="DotnetSymbolName"/>).
/// </summary>
internal sealed class Symbolizer
{
    private readonly KernelSymbols _kernel;
    private readonly DemangleMode _demangle;
    private readonly bool _jitEnabled;
    private readonly bool _keepDotnetTiers;
    private readonly ConcurrentDictionary<int, PerfMapState> _perfMaps = [];
    private long _window;

    public Symbolizer(KernelSymbols kernel, DemangleMode demangle, bool jitEnabled, bool keepDotnetTiers = false)
    {
        _kernel = kernel;
        _demangle = demangle;
        _jitEnabled = jitEnabled;
        _keepDotnetTiers = keepDotnetTiers;
    }

    public KernelSymbols Kernel => _kernel;

    public bool JitEnabled => _jitEnabled;

    /// <summary>Perf maps held (one per process with JIT frames seen in the last windows).</summary>
    public int PerfMaps => _perfMaps.Count;

    /// <summary>Forgets the perf maps of processes without JIT frames for three windows (exited, or idle).</summary>
    public void NewWindow()
    {
        var window = Interlocked.Increment(ref _window);
        foreach (var (pid, state) in _perfMaps)
        {
            if (window - state.LastWindow > 3)
            {
                _perfMaps.TryRemove(pid, out _);
            }
        }

        _kernel.ReloadIfChanged();
    }

    /// <summary>
    /// Reads what the process appended to its perf map since the last window (blocking: called from the process's
    /// background job); <paramref name="restart"/> reads it whole again, to its end (HotSpot rewrites its map on every request).
    /// Returns true when it read anything new. <paramref name="publish"/> false (a re-read within the window, for
    /// unwind rows): the name table is not rebuilt (it is sorted from every entry, the bulk of a re-read's cost for a
    /// process that keeps compiling) and the previous one stays; the window's read rebuilds it before names are looked up.
    /// </summary>
    public bool LoadPerfMap(ProcessFiles files, ProcessInfo process, bool restart = false, bool publish = true)
    {
        if (!_perfMaps.TryGetValue(process.Pid, out var state) || state.StartTime != process.StartTime)
        {
            Func<string, string>? rename = IsDotnet(process) ? n => DotnetSymbolName.Normalize(n, _keepDotnetTiers)
                : IsJava(process) ? JavaSymbolName.Normalize : null;
            state = new PerfMapState(process.StartTime, new PerfMapAccumulator(files.Limits.PerfMapMaxBytes, rename));
            _perfMaps[process.Pid] = state;
        }

        lock (state)
        {
            state.LastWindow = Interlocked.Read(ref _window);
            var inode = restart ? 0 : state.Inode; // another inode starts over
            var (before, offset) = (state.Map, state.Map.Offset);
            if (files.ReadPerfMapAppended(process, state.Map, ref inode, out var current, whole: restart, publish))
            {
                state.Inode = inode;
                state.Map = current;
                if (publish)
                {
                    state.Table = current.Table;
                }

                return !ReferenceEquals(before, current) || current.Offset != offset;
            }

            return false;
        }
    }

    /// <summary>Keeps the perf map read for <paramref name="process"/> for three more windows without reading it.</summary>
    public void KeepPerfMap(ProcessInfo process)
    {
        if (_perfMaps.TryGetValue(process.Pid, out var state) && state.StartTime == process.StartTime)
        {
            state.LastWindow = Interlocked.Read(ref _window);
        }
    }

    /// <summary>Every perf map entry read for <paramref name="process"/> so far (start, size, name, tier tag; empty when none).</summary>
    public List<(ulong Start, ulong Size, string Name, string Tag)> PerfMapEntries(ProcessInfo process)
    {
        var ranges = new List<(ulong Start, ulong Size, string Name, string Tag)>();
        if (_perfMaps.TryGetValue(process.Pid, out var state) && state.StartTime == process.StartTime)
        {
            lock (state)
            {
                state.Map.CopyEntries(ranges);
            }
        }

        return ranges;
    }

    /// <summary>True when one of <paramref name="addresses"/> lies in JIT memory (or none) and the process's perf map does not name it.</summary>
    public bool HasUnnamedJit(ProcessInfo process, HashSet<ulong> addresses)
    {
        var table = _perfMaps.TryGetValue(process.Pid, out var state) && state.StartTime == process.StartTime ? state.Table : null;
        foreach (var address in addresses)
        {
            if (MemoryMapping.Find(process.Mappings, address) is null or { Kind: MappingKind.Jit }
                && (table is null || !table.TryLookup(address - 1, out _, out _)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A process running HotSpot (it maps libjvm.so): its perf map is HotSpot's, written on request.</summary>
    public static bool IsJava(ProcessInfo process)
    {
        foreach (var m in process.Mappings)
        {
            if (m.Kind == MappingKind.File && m.Path.EndsWith("/libjvm.so", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A .NET assembly mapped from its file (ReadyToRun code: the precompiled framework). Its methods are in the perf
    /// map as [PreJIT] entries (the runtime lists those that ran when the map is turned on, and each one it starts
    /// using later), not in any ELF table.
    /// </summary>
    public static bool IsManagedImage(MemoryMapping? mapping) =>
        mapping is { Kind: MappingKind.File } && mapping.Path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);

    /// <summary>A process running the .NET runtime (its perf map names get <see cref="DotnetSymbolName"/>).</summary>
    public static bool IsDotnet(ProcessInfo process)
    {
        foreach (var m in process.Mappings)
        {
            if (m.Kind == MappingKind.File && m.Path.EndsWith("/libcoreclr.so", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public string? KernelFrame(ulong address, bool leaf) => _kernel.Lookup(leaf ? address : address - 1);

    /// <summary>The function name of a user frame, or null when unknown.</summary>
    public string? UserFrame(int pid, MemoryMapping? mapping, ObjectFile? file, ulong address, bool leaf)
    {
        var lookup = leaf ? address : address - 1;
        if (mapping is { Kind: MappingKind.File } && file?.Elf is { } elf)
        {
            var fileOffset = lookup - mapping.Start + mapping.Offset;
            if (elf.TryFileOffsetToAddress(fileOffset, out var vaddr) && file.TryGetLoadedSymbols() is { } symbols && symbols.TryLookup(vaddr, out var name, out _))
            {
                return Demangler.Demangle(name, _demangle);
            }

            return null;
        }

        if (_jitEnabled && (mapping is null or { Kind: MappingKind.Jit } || IsManagedImage(mapping))
            && _perfMaps.TryGetValue(pid, out var state) && state.Table is { } map && map.TryLookup(lookup, out var jitName, out _))
        {
            return jitName;
        }

        return null;
    }

    private sealed class PerfMapState(ulong startTime, PerfMapAccumulator map)
    {
        public ulong StartTime { get; } = startTime;

        public PerfMapAccumulator Map { get; set; } = map;

        public SymbolTable? Table { get; set; }

        public ulong Inode { get; set; }

        public long LastWindow { get; set; }
    }
}
