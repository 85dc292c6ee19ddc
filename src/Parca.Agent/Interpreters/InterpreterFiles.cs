using Parca.Agent.Processes;
using Parca.Symbols.Elf;

namespace Parca.Agent.Interpreters;

/// <summary>
/// What every interpreter detector shares: the walk over a process's file mappings that opens each candidate once
/// (leased from the object file pool), and where a static thread-local block lies on x86-64 glibc.
/// </summary>
internal static class InterpreterFiles
{
    private const uint PtTls = 7;

    /// <summary>
    /// The first detection <paramref name="examine"/> makes of a file mapping that <paramref name="candidate"/> accepts
    /// (by name: reading every executable's symbols for every detector would cost each new process more); default
    /// when none is an interpreter.
    /// </summary>
    public static T FirstDetection<T>(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open, Func<MemoryMapping, bool> candidate, Func<MemoryMapping, ObjectFile, T?> examine)
        where T : struct
    {
        foreach (var mapping in info.Mappings)
        {
            if (mapping.Kind != MappingKind.File || !candidate(mapping))
            {
                continue;
            }

            if (ObjectFileLease.Use(() => open(mapping), file => examine(mapping, file), null) is { } detection)
            {
                return detection;
            }
        }

        return default;
    }

    /// <summary>Whether the file has a non-empty PT_TLS segment.</summary>
    public static bool HasTls(ElfFile elf) => elf.ProgramHeaders.Any(p => p.Type == PtTls && p.MemorySize > 0);

    /// <summary>
    /// The offset from the thread pointer (fs base) of the thread-local variable at <paramref name="offset"/> in the
    /// file's TLS block, when that block is the first static one (x86-64 glibc, TLS variant II: right below the thread
    /// pointer, its size rounded up to its alignment); 0 when the file has no TLS block.
    /// </summary>
    public static long StaticTlsOffset(ElfFile elf, ulong offset)
    {
        var tls = elf.ProgramHeaders.FirstOrDefault(p => p.Type == PtTls);
        if (tls is null || tls.MemorySize == 0)
        {
            return 0;
        }

        var align = Math.Max(tls.Align, 1);
        var firstByte = (0 - (tls.VirtualAddress & (align - 1))) & (align - 1);
        var blockOffset = ((tls.MemorySize - firstByte + align - 1) / align * align) + firstByte;
        return (long)offset - (long)blockOffset;
    }
}
