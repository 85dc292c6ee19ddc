namespace Parca.Symbols.Elf;

/// <summary>
/// The one conversion from a process address to the ELF file's own virtual address (the address DWARF, .symtab and
/// addr2line use). The agent applies it before shipping v2 Arrow frames (Parca's v2 convention: native frames carry
/// file addresses and no mapping range) and the server applies it to WriteRaw frames (pprof mappings carry the
/// range), so both paths name the same address the same way.
/// </summary>
public static class FileAddress
{
    private const uint PtLoad = 1;
    private const uint PfX = 1;

    /// <summary>
    /// pc = address − start + offset − p_offset + p_vaddr through the executable PT_LOAD segment holding the file
    /// offset. Separate debug files (objcopy --only-keep-debug) zero the offsets of their NOBITS segments; there the
    /// offset is taken as p_vaddr − (first PT_LOAD's page-aligned p_vaddr), which is how ld, gold and lld lay files
    /// out. A mapping covering the whole address space (start 0, offset 0, limit 0 or all ones) means the address is
    /// already a file address, as in Parca.
    /// </summary>
    public static ulong FromMapping(IReadOnlyList<ProgramHeader> headers, ulong address, ulong start, ulong limit, ulong offset)
    {
        if (start == 0 && offset == 0 && (limit == 0 || limit == ulong.MaxValue))
        {
            return address;
        }

        var fileOffset = address - start + offset;
        var firstVaddr = ulong.MaxValue;
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
}
