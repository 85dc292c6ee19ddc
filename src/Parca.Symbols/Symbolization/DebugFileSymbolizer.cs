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

    /// <summary>The file's virtual address for a sampled address of a mapping (start, limit, file offset): see <see cref="FileAddress.FromMapping"/>.</summary>
    public ulong Normalize(ulong address, ulong start, ulong limit, ulong offset) => FileAddress.FromMapping(_elf.ProgramHeaders, address, start, limit, offset);

    /// <summary>The file's program headers (what <see cref="Normalize(ulong, ulong, ulong, ulong)"/> reads), kept with persisted answers.</summary>
    public IReadOnlyList<ProgramHeader> ProgramHeaders => _elf.ProgramHeaders;

    /// <summary><see cref="Normalize(ulong, ulong, ulong, ulong)"/> from program headers alone (a persisted cache has no file open).</summary>
    public static ulong Normalize(IReadOnlyList<ProgramHeader> headers, ulong address, ulong start, ulong limit, ulong offset) =>
        FileAddress.FromMapping(headers, address, start, limit, offset);

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
