using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.Win32.SafeHandles;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Cfi;

/// <summary>What building a table found.</summary>
public sealed record UnwindTableInfo(int EhFrameFdes, int DebugFrameFdes, long CfiBytes, bool FromEhFrameHdr);

/// <summary>
/// Builds the compact unwind table of one x86-64 ELF file from its .eh_frame (found through the section headers or,
/// when those are stripped, through PT_GNU_EH_FRAME and .eh_frame_hdr) and its .debug_frame for functions .eh_frame
/// does not cover. Input is bounded (<see cref="MaxSectionBytes"/>); corrupt input throws
/// <see cref="InvalidDataException"/> naming the file and the offset.
/// </summary>
public static class UnwindTableBuilder
{
    /// <summary>The largest CFI section read (libLLVM's .eh_frame is about 10 MB; 256 MB bounds a hostile file).</summary>
    public const long MaxSectionBytes = 256L << 20;

    private const uint PtLoad = 1;
    private const uint PtGnuEhFrame = 0x6474e550;
    private const ushort EmX8664 = 62;
    private const ulong ShfCompressed = 0x800;

    /// <summary>Opens <paramref name="path"/> and builds its table.</summary>
    public static UnwindRow[] Build(string path, out UnwindTableInfo info)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return Build(handle, ElfFile.Read(handle, path), path, out info);
    }

    /// <summary>Builds the table of an open, parsed ELF file; an empty table when it has no CFI or is not x86-64.</summary>
    public static UnwindRow[] Build(SafeFileHandle handle, ElfFile elf, string nameForErrors, out UnwindTableInfo info) =>
        Build(handle, elf, nameForErrors, out info, null);

    /// <summary>
    /// The same, with the .debug_frame of <paramref name="debugFile"/> (the file's separate debug file: same virtual
    /// addresses) for functions .eh_frame does not cover, used when the file itself has no .debug_frame (stripped
    /// with `strip --strip-debug`, which moves it to the debug file).
    /// </summary>
    public static UnwindRow[] Build(SafeFileHandle handle, ElfFile elf, string nameForErrors, out UnwindTableInfo info, (SafeFileHandle Handle, ElfFile Elf, string Name)? debugFile)
    {
        info = new UnwindTableInfo(0, 0, 0, false);
        if (elf.Machine != EmX8664)
        {
            return [];
        }

        try
        {
            var rows = new List<UnwindRowBuilder.Pending>();
            var starts = new HashSet<ulong>();
            var (ehFrame, ehAddress, fromHdr) = ReadEhFrame(handle, elf);
            var ehFdes = ehFrame.Length > 0 ? CfiParser.Parse(ehFrame, ehAddress, debugFrame: false, rows, null, starts) : 0;
            var debugFrame = ReadSection(handle, elf, ".debug_frame");
            string? debugSource = null;
            if (debugFrame.Length == 0 && debugFile is { } d && d.Elf.Machine == EmX8664)
            {
                debugSource = d.Name;
            }

            int debugFdes;
            try
            {
                if (debugSource is not null)
                {
                    debugFrame = ReadSection(debugFile!.Value.Handle, debugFile.Value.Elf, ".debug_frame");
                }

                debugFdes = debugFrame.Length > 0 ? CfiParser.Parse(debugFrame, 0, debugFrame: true, rows, starts, null) : 0;
            }
            catch (Exception e) when (debugSource is not null && e is InvalidDataException or OverflowException)
            {
                throw new InvalidDataException($"{debugSource}: .debug_frame: {e.Message}", e);
            }

            info = new UnwindTableInfo(ehFdes, debugFdes, ehFrame.Length + debugFrame.Length, fromHdr);
            return UnwindRowBuilder.Build(rows);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{nameForErrors}: {e.Message}", e);
        }
        catch (OverflowException e)
        {
            throw new InvalidDataException($"{nameForErrors}: CFI value out of range ({e.Message})", e);
        }
    }

    private static (byte[] Data, ulong Address, bool FromHdr) ReadEhFrame(SafeFileHandle handle, ElfFile elf)
    {
        var section = elf.Sections.FirstOrDefault(s => s.Name == ".eh_frame" && s.Type == 1);
        if (section is not null)
        {
            return (ReadBytes(handle, (long)section.Offset, section.Size), section.Address, false);
        }

        // Section headers stripped: PT_GNU_EH_FRAME points at .eh_frame_hdr, whose eh_frame_ptr points at .eh_frame;
        // its length is unknown, so read to the end of its segment (the zero terminator ends the walk).
        var hdr = elf.ProgramHeaders.FirstOrDefault(p => p.Type == PtGnuEhFrame);
        if (hdr is null || hdr.FileSize < 8)
        {
            return ([], 0, false);
        }

        var head = ReadBytes(handle, (long)hdr.Offset, Math.Min(hdr.FileSize, 64));
        if (head[0] != 1)
        {
            throw new InvalidDataException($".eh_frame_hdr version {head[0]}, expected 1");
        }

        var cursor = new CfiCursor(head, 4, hdr.VirtualAddress);
        var ehAddress = cursor.Pointer(head[1]);
        var load = elf.ProgramHeaders.FirstOrDefault(p => p.Type == PtLoad && ehAddress >= p.VirtualAddress && ehAddress < p.VirtualAddress + p.FileSize)
            ?? throw new InvalidDataException($".eh_frame_hdr points to 0x{ehAddress:x}, outside every loaded segment");
        var offset = load.Offset + (ehAddress - load.VirtualAddress);
        return (ReadBytes(handle, (long)offset, load.VirtualAddress + load.FileSize - ehAddress), ehAddress, true);
    }

    private static byte[] ReadSection(SafeFileHandle handle, ElfFile elf, string name)
    {
        var section = elf.Sections.FirstOrDefault(s => s.Name == name && s.Type == 1);
        if (section is null || section.Size == 0)
        {
            return [];
        }

        var bytes = ReadBytes(handle, (long)section.Offset, section.Size);
        if ((section.Flags & ShfCompressed) == 0)
        {
            return bytes;
        }

        // Elf64_Chdr: type (1 = zlib), reserved, uncompressed size, alignment; then the zlib stream.
        if (bytes.Length < 24 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != 1)
        {
            return [];
        }

        var size = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
        if (size > MaxSectionBytes)
        {
            throw new InvalidDataException($"{name}: {size} bytes uncompressed, above the {MaxSectionBytes} byte limit");
        }

        var output = new byte[size];
        using var zlib = new ZLibStream(new MemoryStream(bytes, 24, bytes.Length - 24), CompressionMode.Decompress);
        zlib.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
        return output;
    }

    private static byte[] ReadBytes(SafeFileHandle handle, long offset, ulong size)
    {
        var length = RandomAccess.GetLength(handle);
        if (size > MaxSectionBytes)
        {
            throw new InvalidDataException($"CFI section of {size} bytes, above the {MaxSectionBytes} byte limit");
        }

        if (offset < 0 || offset > length || (long)size > length - offset)
        {
            throw new InvalidDataException($"CFI section at file offset 0x{offset:x} (0x{size:x} bytes) runs past the end of the file (0x{length:x} bytes)");
        }

        var bytes = new byte[size];
        RandomAccess.Read(handle, bytes, offset);
        return bytes;
    }
}
