using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Parca.Symbols.Elf;

/// <summary>
/// A minimal ELF64 little-endian reader: file header, program headers, section headers, GNU build id and function
/// symbols. Written here because no obtainable .NET package reads ELF (ELFSharp, LibObjectFile do not restore).
/// Reads only the ranges it needs through positional reads, so large binaries are not loaded whole.
/// </summary>
public sealed class ElfFile
{
    private const uint PtLoad = 1;
    private const uint PtNote = 4;
    private const uint ShtSymtab = 2;
    private const uint ShtNote = 7;
    private const uint ShtDynsym = 11;
    private const uint NtGnuBuildId = 3;

    /// <summary>Symbol and string tables larger than this are refused (libxul's .symtab is ~40 MiB; a corrupt size must not allocate gigabytes).</summary>
    internal const long MaxTableBytes = 256L << 20;

    internal const uint SymtabKind = ShtSymtab;
    internal const uint DynsymKind = ShtDynsym;

    private ElfFile(ushort type, ushort machine, ProgramHeader[] programHeaders, SectionHeader[] sections)
    {
        Type = type;
        Machine = machine;
        ProgramHeaders = programHeaders;
        Sections = sections;
    }

    /// <summary>e_type: 2 = EXEC, 3 = DYN (PIE or shared object).</summary>
    public ushort Type { get; }

    public ushort Machine { get; }

    public IReadOnlyList<ProgramHeader> ProgramHeaders { get; }

    public IReadOnlyList<SectionHeader> Sections { get; }

    /// <summary>GNU build id as lower-case hex, or null when the file has none.</summary>
    public string? BuildId { get; private set; }

    /// <summary>True when a PT_INTERP-less, PT_DYNAMIC-less executable (statically linked).</summary>
    public bool IsStatic => !ProgramHeaders.Any(p => p.Type is 2 or 3);

    /// <summary>True when the file has no .symtab (only .dynsym or nothing).</summary>
    public bool IsStripped => !Sections.Any(s => s.Type == ShtSymtab);

    /// <summary>Opens and parses the headers and the build id; symbols are read by <see cref="ReadSymbols"/>.</summary>
    public static ElfFile Open(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return Read(handle, path);
    }

    /// <summary>Parses an open file; throws <see cref="InvalidDataException"/> naming the problem for non-ELF64-LE input.</summary>
    public static ElfFile Read(SafeFileHandle handle, string nameForErrors) => Read(new FileElfSource(handle), nameForErrors);

    /// <summary>Parses an ELF image held in memory (the decompressed MiniDebugInfo of .gnu_debugdata).</summary>
    internal static ElfFile Read(byte[] image, string nameForErrors) => Read(new MemoryElfSource(image), nameForErrors);

    internal static ElfFile Read(ElfSource handle, string nameForErrors)
    {
        Span<byte> h = stackalloc byte[64];
        if (handle.Read(h, 0) < 64 || h[0] != 0x7f || h[1] != (byte)'E' || h[2] != (byte)'L' || h[3] != (byte)'F')
        {
            throw new InvalidDataException($"{nameForErrors}: not an ELF file (bad magic)");
        }

        if (h[4] != 2 || h[5] != 1)
        {
            throw new InvalidDataException($"{nameForErrors}: only 64-bit little-endian ELF is supported (class {h[4]}, data {h[5]})");
        }

        var type = BinaryPrimitives.ReadUInt16LittleEndian(h[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(h[18..]);
        var phoff = BinaryPrimitives.ReadInt64LittleEndian(h[32..]);
        var shoff = BinaryPrimitives.ReadInt64LittleEndian(h[40..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[56..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[58..]);
        var shnum = BinaryPrimitives.ReadUInt16LittleEndian(h[60..]);
        var shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(h[62..]);
        var length = handle.Length;

        var phs = new ProgramHeader[phoff > 0 && phentsize >= 56 ? phnum : 0];
        if (phs.Length > 0)
        {
            var table = ReadRange(handle, phoff, phentsize * phs.Length, length, nameForErrors, "program headers");
            for (var i = 0; i < phs.Length; i++)
            {
                var e = table.AsSpan(i * phentsize);
                phs[i] = new ProgramHeader(
                    BinaryPrimitives.ReadUInt32LittleEndian(e),
                    BinaryPrimitives.ReadUInt32LittleEndian(e[4..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[8..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[16..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[32..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[40..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[48..]));
            }
        }

        var sections = new SectionHeader[shoff > 0 && shentsize >= 64 ? shnum : 0];
        if (sections.Length > 0)
        {
            var table = ReadRange(handle, shoff, shentsize * sections.Length, length, nameForErrors, "section headers");
            var raw = new (uint Name, uint Type, ulong Flags, ulong Addr, ulong Offset, ulong Size, uint Link, ulong EntSize)[sections.Length];
            for (var i = 0; i < sections.Length; i++)
            {
                var e = table.AsSpan(i * shentsize);
                raw[i] = (BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), BinaryPrimitives.ReadUInt64LittleEndian(e[16..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(e[24..]), BinaryPrimitives.ReadUInt64LittleEndian(e[32..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(e[40..]), BinaryPrimitives.ReadUInt64LittleEndian(e[56..]));
            }

            byte[] names = [];
            if (shstrndx < raw.Length && raw[shstrndx].Type != 8)
            {
                names = ReadRange(handle, (long)raw[shstrndx].Offset, (int)Math.Min(raw[shstrndx].Size, int.MaxValue), length, nameForErrors, "section name table");
            }

            for (var i = 0; i < raw.Length; i++)
            {
                var r = raw[i];
                sections[i] = new SectionHeader(CString(names, r.Name), r.Type, r.Flags, r.Addr, r.Offset, r.Size, r.Link, r.EntSize);
            }
        }

        var elf = new ElfFile(type, machine, phs, sections);
        elf.BuildId = elf.FindBuildId(handle, length, nameForErrors);
        return elf;
    }

    /// <summary>Function symbols from .symtab, or from .dynsym when the file is stripped.</summary>
    public SymbolTable ReadSymbols(SafeFileHandle handle, string nameForErrors)
    {
        var builder = new SymbolTableBuilder();
        if (!AddSymbols(new FileElfSource(handle), nameForErrors, ShtSymtab, builder))
        {
            AddSymbols(new FileElfSource(handle), nameForErrors, ShtDynsym, builder);
        }

        return builder.Build();
    }

    /// <summary>True when the file has a .symtab (its own full symbol table).</summary>
    public bool HasSymtab => Sections.Any(s => s.Type == ShtSymtab && s.Size > 0);

    /// <summary>Adds the FUNC symbols of .symtab (<paramref name="kind"/> 2) or .dynsym (11) to <paramref name="builder"/>; false when there is no such table.</summary>
    internal bool AddSymbols(ElfSource source, string nameForErrors, uint kind, SymbolTableBuilder builder)
    {
        var table = Sections.FirstOrDefault(s => s.Type == kind);
        if (table is null || table.Link >= Sections.Count || table.Size == 0)
        {
            return false;
        }

        var strings = Sections[(int)table.Link];
        if (table.Size > MaxTableBytes || strings.Size > MaxTableBytes)
        {
            throw new InvalidDataException($"{nameForErrors}: {table.Name} ({table.Size} bytes) or {strings.Name} ({strings.Size} bytes) exceeds the {MaxTableBytes >> 20} MiB limit");
        }

        var symbols = ReadRange(source, (long)table.Offset, (int)table.Size, source.Length, nameForErrors, table.Name);
        var strtab = ReadRange(source, (long)strings.Offset, (int)strings.Size, source.Length, nameForErrors, strings.Name);
        builder.AddElf(symbols, strtab);
        return true;
    }

    /// <summary>The bytes of the first section named <paramref name="name"/> (null when absent or NOBITS), at most <paramref name="maxBytes"/>.</summary>
    internal byte[]? ReadSection(ElfSource source, string nameForErrors, string name, long maxBytes)
    {
        var section = Sections.FirstOrDefault(s => s.Name == name);
        if (section is null || section.Type == 8 || section.Size == 0)
        {
            return null;
        }

        if (section.Size > (ulong)maxBytes)
        {
            throw new InvalidDataException($"{nameForErrors}: {name} ({section.Size} bytes) exceeds the {maxBytes} byte limit");
        }

        return ReadRange(source, (long)section.Offset, (int)section.Size, source.Length, nameForErrors, name);
    }

    /// <summary>Translates a file offset inside an executable PT_LOAD segment to the ELF virtual address (for symbol lookup).</summary>
    public bool TryFileOffsetToAddress(ulong fileOffset, out ulong address)
    {
        foreach (var p in ProgramHeaders)
        {
            if (p.Type == PtLoad && fileOffset >= p.Offset && fileOffset < p.Offset + p.FileSize)
            {
                address = fileOffset - p.Offset + p.VirtualAddress;
                return true;
            }
        }

        address = 0;
        return false;
    }

    private string? FindBuildId(ElfSource handle, long length, string name)
    {
        foreach (var s in Sections)
        {
            if (s.Type == ShtNote && s.Size is > 0 and < 1 << 20)
            {
                var id = ParseBuildIdNote(ReadRange(handle, (long)s.Offset, (int)s.Size, length, name, s.Name));
                if (id is not null)
                {
                    return id;
                }
            }
        }

        foreach (var p in ProgramHeaders)
        {
            if (p.Type == PtNote && p.FileSize is > 0 and < 1 << 20)
            {
                var id = ParseBuildIdNote(ReadRange(handle, (long)p.Offset, (int)p.FileSize, length, name, "PT_NOTE"));
                if (id is not null)
                {
                    return id;
                }
            }
        }

        return null;
    }

    /// <summary>Walks ELF notes (namesz, descsz, type, name padded to 4, desc padded to 4) for NT_GNU_BUILD_ID "GNU".</summary>
    internal static string? ParseBuildIdNote(ReadOnlySpan<byte> notes)
    {
        while (notes.Length >= 12)
        {
            // 64-bit sizes: garbage (a PT_NOTE pointing into an extract's rearranged bytes) must not overflow the check.
            long nameSize = BinaryPrimitives.ReadUInt32LittleEndian(notes);
            long descSize = BinaryPrimitives.ReadUInt32LittleEndian(notes[4..]);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(notes[8..]);
            var namePadded = (nameSize + 3) & ~3L;
            var descPadded = (descSize + 3) & ~3L;
            if (12 + namePadded + descPadded > notes.Length)
            {
                return null;
            }

            var noteName = notes.Slice(12, (int)nameSize);
            if (type == NtGnuBuildId && noteName.SequenceEqual("GNU\0"u8))
            {
                return Convert.ToHexStringLower(notes.Slice(12 + (int)namePadded, (int)descSize));
            }

            notes = notes[(int)(12 + namePadded + descPadded)..];
        }

        return null;
    }

    private static byte[] ReadRange(ElfSource handle, long offset, int count, long fileLength, string name, string what)
    {
        if (offset < 0 || count < 0 || offset > fileLength - count)
        {
            throw new InvalidDataException($"{name}: {what} at offset {offset} (+{count}) lies outside the file ({fileLength} bytes)");
        }

        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = handle.Read(buffer.AsSpan(read), offset + read);
            if (n <= 0)
            {
                throw new InvalidDataException($"{name}: short read of {what}");
            }

            read += n;
        }

        return buffer;
    }

    private static string CString(byte[] table, uint offset)
    {
        if (offset >= table.Length)
        {
            return "";
        }

        var span = table.AsSpan((int)offset);
        var end = span.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}

/// <summary>An ELF program header (segment).</summary>
public sealed record ProgramHeader(uint Type, uint Flags, ulong Offset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, ulong Align = 0);

/// <summary>An ELF section header with its name resolved.</summary>
public sealed record SectionHeader(string Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size, uint Link, ulong EntrySize);
