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
/// the window path, and what is not loaded in time stays unnamed for that window.
/// </summary>
internal sealed class Symbolizer
{
    private readonly KernelSymbols _kernel;
    private readonly DemangleMode _demangle;
    private readonly bool _jitEnabled;
    private readonly ConcurrentDictionary<int, SymbolTable?> _perfMaps = [];

    public Symbolizer(KernelSymbols kernel, DemangleMode demangle, bool jitEnabled)
    {
        _kernel = kernel;
        _demangle = demangle;
        _jitEnabled = jitEnabled;
    }

    public KernelSymbols Kernel => _kernel;

    public bool JitEnabled => _jitEnabled;

    /// <summary>Forgets the perf maps read in the last window (JIT code changes).</summary>
    public void NewWindow()
    {
        _perfMaps.Clear();
        _kernel.ReloadIfChanged();
    }

    /// <summary>Reads the process's perf map (blocking: called from the process's background job).</summary>
    public void LoadPerfMap(ProcessFiles files, ProcessInfo process) =>
        _perfMaps[process.Pid] = files.ReadPerfMap(process, PerfMap.Parse);

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

        if (_jitEnabled && mapping is null or { Kind: MappingKind.Jit }
            && _perfMaps.TryGetValue(pid, out var map) && map is not null && map.TryLookup(lookup, out var jitName, out _))
        {
            return jitName;
        }

        return null;
    }
}
