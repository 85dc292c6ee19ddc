using System.Buffers.Binary;
using System.IO.Compression;

namespace Parca.Symbols.Elf;

/// <summary>
/// Writes what server-side symbolization needs of an ELF file (--debuginfo-strip): the ELF and program headers
/// verbatim (so the server normalizes addresses with the real segment offsets), and the contents of DWARF, symbol,
/// string, note and .gopclntab sections (and, for Go, the data the inline trees need: see <see cref="Keeps"/>); every other section keeps its header (name, address, size) but becomes
/// SHT_NOBITS with no bytes. With <c>compress</c> (--debuginfo-compress), uncompressed .debug_* sections are written
/// SHF_COMPRESSED (ELFCOMPRESS_ZLIB), as <c>objcopy --compress-debug-sections</c> does.
/// Written here: no obtainable .NET package writes ELF section tables (LibObjectFile would rewrite the whole file).
/// </summary>
public static class DebugInfoExtractor
{
    private const uint ShtNobits = 8;
    private const uint ShtNote = 7;
    private const uint ShtSymtab = 2;
    private const uint ShtStrtab = 3;
    private const uint ShtDynsym = 11;
    private const ulong ShfAlloc = 0x2;
    private const ulong ShfCompressed = 0x800;

    /// <summary>
    /// Whether a section's bytes are kept (symbolization reads them). In Go binaries (<paramref name="go"/>: the file
    /// has .gopclntab) also .noptrdata (the runtime's module data, which locates the inline trees) and .rodata (where
    /// the inline trees are), and .go.module / .go.func of newer linkers, so the server can expand inlined frames.
    /// </summary>
    public static bool Keeps(SectionHeader s, int index, int shstrndx, bool go = false) =>
        index == shstrndx || (go && s.Name is ".noptrdata" or ".rodata" or ".go.func" or ".go.module") || s.Type is ShtSymtab or ShtDynsym or ShtNote
        || (s.Type == ShtStrtab && (s.Name is ".strtab" or ".dynstr"))
        || s.Name.StartsWith(".debug_", StringComparison.Ordinal) || s.Name.StartsWith(".zdebug_", StringComparison.Ordinal)
        || s.Name is ".gopclntab" or ".gnu_debuglink" or ".gnu_debugaltlink" or ".go.buildinfo";

    /// <summary>Writes the extract of <paramref name="path"/> to <paramref name="output"/>; returns the bytes written.</summary>
    public static long Write(string path, Stream output, bool compress, long maxSectionBytes = 1L << 30)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var elf = ElfFile.Read(handle, path);
        var header = new byte[64];
        RandomAccess.Read(handle, header, 0);
        var phoff = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(32));
        var shoff = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(40));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(54));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(56));
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(58));
        var shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(62));
        if (shentsize < 64 || elf.Sections.Count == 0)
        {
            throw new InvalidDataException($"{path}: no section headers to extract from");
        }

        var programHeaders = new byte[phentsize * phnum];
        if (programHeaders.Length > 0)
        {
            RandomAccess.Read(handle, programHeaders, phoff);
        }

        var sectionTable = new byte[shentsize * elf.Sections.Count];
        RandomAccess.Read(handle, sectionTable, shoff);

        // Layout: ELF header, program headers, kept section contents (8-aligned), section header table.
        var position = 64L + programHeaders.Length;
        var body = new List<(long Offset, byte[] Data)>();
        var go = elf.Sections.Any(s => s.Name == ".gopclntab" && s.Type != ShtNobits);
        for (var i = 0; i < elf.Sections.Count; i++)
        {
            var s = elf.Sections[i];
            var entry = sectionTable.AsSpan(i * shentsize, 64);
            if (i == 0)
            {
                continue;
            }

            if (!Keeps(s, i, shstrndx, go) || s.Type == ShtNobits || s.Size == 0)
            {
                if (s.Type != ShtNobits && (s.Flags & ShfAlloc) != 0)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], ShtNobits);
                }

                if (s.Type != ShtNobits && (s.Flags & ShfAlloc) == 0)
                {
                    // A non-allocated section nobody needs (.comment): empty it rather than keep a dangling offset.
                    BinaryPrimitives.WriteUInt64LittleEndian(entry[32..], 0);
                }

                BinaryPrimitives.WriteUInt64LittleEndian(entry[24..], 0);
                continue;
            }

            if (s.Size > (ulong)maxSectionBytes)
            {
                throw new InvalidDataException($"{path}: {s.Name} ({s.Size} bytes) exceeds the {maxSectionBytes} byte limit");
            }

            var data = new byte[(int)s.Size];
            if (RandomAccess.Read(handle, data, (long)s.Offset) != data.Length)
            {
                throw new InvalidDataException($"{path}: {s.Name} lies outside the file");
            }

            if (compress && (s.Flags & ShfCompressed) == 0 && s.Name.StartsWith(".debug_", StringComparison.Ordinal) && data.Length > 64)
            {
                var align = BinaryPrimitives.ReadUInt64LittleEndian(entry[48..]);
                data = Compress(data, align);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], s.Flags | ShfCompressed);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[48..], 8);
            }

            position = (position + 7) & ~7L;
            BinaryPrimitives.WriteUInt64LittleEndian(entry[24..], (ulong)position);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[32..], (ulong)data.Length);
            body.Add((position, data));
            position += data.Length;
        }

        var newShoff = (position + 7) & ~7L;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(32), programHeaders.Length > 0 ? 64 : 0);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(40), newShoff);
        var written = 0L;
        void Emit(ReadOnlySpan<byte> bytes)
        {
            output.Write(bytes);
            written += bytes.Length;
        }

        void PadTo(long offset)
        {
            Span<byte> zeros = stackalloc byte[8];
            while (written < offset)
            {
                Emit(zeros[..(int)Math.Min(8, offset - written)]);
            }
        }

        Emit(header);
        Emit(programHeaders);
        foreach (var (offset, data) in body)
        {
            PadTo(offset);
            Emit(data);
        }

        PadTo(newShoff);
        Emit(sectionTable);
        return written;
    }

    /// <summary>Elf64_Chdr (ch_type = ELFCOMPRESS_ZLIB, ch_size, ch_addralign) followed by the zlib stream.</summary>
    private static byte[] Compress(byte[] data, ulong align)
    {
        using var buffer = new MemoryStream();
        Span<byte> chdr = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(chdr, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(chdr[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(chdr[8..], (ulong)data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(chdr[16..], align == 0 ? 1 : align);
        buffer.Write(chdr);
        using (var z = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(data);
        }

        return buffer.ToArray();
    }
}
