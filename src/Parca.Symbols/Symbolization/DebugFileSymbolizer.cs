using Parca.Symbols.Demangling;
using Parca.Symbols.Dwarf;
using Parca.Symbols.Elf;
using Parca.Symbols.Go;

namespace Parca.Symbols.Symbolization;

/// <summary>
/// Symbolizes addresses of one ELF file (an uploaded debug file, a binary with its DWARF, or a stripped binary):
/// DWARF first (function, file, line, inlined frames), else Go's .gopclntab (function, file, line, inlined frames for
/// Go 1.18+; names for older Go), else .symtab/.dynsym by nearest
/// preceding function. Function names DWARF leaves out (rare, e.g. some compiler-made clones) come from the symbol
/// table. Everything is read into memory at open, so the file handle is not kept.
/// </summary>
public sealed class DebugFileSymbolizer
{
    private const ulong PtLoad = 1;
    private const uint PfX = 1;

    private readonly ElfFile _elf;
    private readonly DwarfFile? _dwarf;
    private readonly SymbolTable _symbols;
    private readonly GoLineTable? _go;

    private DebugFileSymbolizer(ElfFile elf, DwarfFile? dwarf, SymbolTable symbols, GoLineTable? go, DebugFileQuality quality)
    {
        _elf = elf;
        _dwarf = dwarf;
        _symbols = symbols;
        _go = go;
        Quality = quality;
    }

    public DebugFileQuality Quality { get; }

    public string? BuildId => _elf.BuildId;

    /// <summary>Memory held: DWARF sections plus the symbol table.</summary>
    public long Bytes => (_dwarf?.Bytes ?? 0) + _symbols.ApproximateBytes + (_go?.Bytes ?? 0);

    /// <summary>Whether Go inline trees were found (Go 1.18+ non-PIE binaries and their extracts).</summary>
    internal bool HasGoInlineTrees => _go?.HasInlineTrees ?? false;

    /// <summary>Problems met after open (units of corrupt DWARF skipped).</summary>
    public IReadOnlyList<string> Errors => _dwarf?.Errors ?? [];

    /// <summary>
    /// Opens <paramref name="path"/>; throws <see cref="InvalidDataException"/> (not ELF, corrupt tables) or
    /// <see cref="DwarfException"/> (corrupt DWARF) with a message naming the file and the problem.
    /// </summary>
    public static DebugFileSymbolizer Open(string path, DwarfLimits? limits = null)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var elf = ElfFile.Read(handle, path);
        var source = new FileElfSource(handle);
        var dwarf = DwarfFile.Open(elf, source, path, limits ?? DwarfLimits.Default);
        var builder = new SymbolTableBuilder();
        var hasPclntab = false;
        GoLineTable? go = null;
        var pclntab = elf.ReadSection(source, path, ".gopclntab", Debuginfo.NativeSymbols.MaxPclntabBytes);
        if (pclntab is not null && GoPclntab.IsKnown(pclntab))
        {
            var text = elf.Sections.FirstOrDefault(s => s.Name == ".text")?.Address ?? 0;
            GoPclntab.Read(pclntab, text, builder, path);
            go = GoLineTable.Create(pclntab, text, GoFuncData.Find(elf, source, pclntab, path), path);
            hasPclntab = true;
        }

        var hasSymtab = elf.AddSymbols(source, path, ElfFile.SymtabKind, builder);
        var hasDynsym = elf.AddSymbols(source, path, ElfFile.DynsymKind, builder);
        var quality = new DebugFileQuality(dwarf is not null && dwarf.UnitCount > 0, hasPclntab, hasSymtab, hasDynsym);
        return new DebugFileSymbolizer(elf, dwarf, builder.Build(), go, quality);
    }

    /// <summary>
    /// The file's virtual address for a sampled <paramref name="address"/> of a mapping (start, limit, file offset),
    /// through the executable PT_LOAD segment: pc = address − start + offset − p_offset + p_vaddr. Separate debug files
    /// (objcopy --only-keep-debug) zero the offsets of their NOBITS segments; there the offset is taken as
    /// p_vaddr − (first PT_LOAD's p_vaddr), which is how ld, gold and lld lay files out. A mapping covering the whole
    /// address space (start 0, offset 0) means the address is already a file address.
    /// </summary>
    public ulong Normalize(ulong address, ulong start, ulong limit, ulong offset) => Normalize(_elf.ProgramHeaders, address, start, limit, offset);

    /// <summary>The file's program headers (what <see cref="Normalize(ulong, ulong, ulong, ulong)"/> reads), kept with persisted answers.</summary>
    public IReadOnlyList<ProgramHeader> ProgramHeaders => _elf.ProgramHeaders;

    /// <summary><see cref="Normalize(ulong, ulong, ulong, ulong)"/> from program headers alone (a persisted cache has no file open).</summary>
    public static ulong Normalize(IReadOnlyList<ProgramHeader> headers, ulong address, ulong start, ulong limit, ulong offset)
    {
        if (start == 0 && offset == 0 && (limit == 0 || limit == ulong.MaxValue))
        {
            return address;
        }

        var fileOffset = address - start + offset;
        ulong firstVaddr = ulong.MaxValue;
        foreach (var p in headers)
        {
            if (p.Type == PtLoad)
            {
                firstVaddr = Math.Min(firstVaddr, p.VirtualAddress & ~0xfffUL);
            }
        }

        ProgramHeader? executable = null;
        foreach (var p in headers)
        {
            if (p.Type != PtLoad || (p.Flags & PfX) == 0)
            {
                continue;
            }

            var pOffset = p.FileSize == 0 ? p.VirtualAddress - firstVaddr : p.Offset;
            var size = Math.Max(p.FileSize, p.MemorySize);
            executable ??= p;
            if (fileOffset >= pOffset && fileOffset < pOffset + size)
            {
                return fileOffset - pOffset + p.VirtualAddress;
            }
        }

        if (executable is null)
        {
            return fileOffset; // ET_REL or no program headers: offsets are addresses
        }

        var o = executable.FileSize == 0 ? executable.VirtualAddress - firstVaddr : executable.Offset;
        return fileOffset - o + executable.VirtualAddress;
    }

    /// <summary>Appends the frames of file address <paramref name="pc"/> innermost first; returns how many (0: unknown).</summary>
    public int Symbolize(ulong pc, DemangleMode mode, List<SymbolizedFrame> into)
    {
        var before = into.Count;
        if (_dwarf is not null)
        {
            var frames = new List<DwarfFrame>(4);
            _dwarf.Lookup(pc, frames);
            for (var i = 0; i < frames.Count; i++)
            {
                var f = frames[i];
                var system = f.LinkageName ?? f.Name;
                if (system is null && i == frames.Count - 1 && _symbols.TryLookup(pc, out var symbol, out _))
                {
                    system = symbol;
                }

                system ??= "";
                var name = f.LinkageName is not null ? Demangler.Demangle(f.LinkageName, mode) : system;
                into.Add(new SymbolizedFrame(name, system, f.File == "??" ? "" : f.File, f.Line));
            }
        }

        if (into.Count == before && _go is not null)
        {
            _go.Lookup(pc, into);
        }

        if (into.Count == before && _symbols.TryLookup(pc, out var fallback, out _))
        {
            into.Add(new SymbolizedFrame(Demangler.Demangle(fallback, mode), fallback, "", 0));
        }

        return into.Count - before;
    }
}
