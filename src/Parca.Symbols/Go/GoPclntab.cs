using System.Buffers.Binary;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Go;

/// <summary>
/// Function names and entry addresses from a Go binary's .gopclntab, which the Go runtime needs for its own
/// tracebacks and so survives `-ldflags=-s` stripping. Layouts (pcHeader magic): Go 1.16/1.17 (0xfffffffa, the
/// function table holds absolute entry addresses), Go 1.18/1.19 (0xfffffff0) and Go 1.20+ (0xfffffff1) (32-bit
/// entry offsets from the start of the text). Only the function table and the name table are read: line tables
/// and inlining are the server's job (DWARF or pclntab there).
/// </summary>
internal static class GoPclntab
{
    private const uint Go116 = 0xfffffffa;
    private const uint Go118 = 0xfffffff0;
    private const uint Go120 = 0xfffffff1;

    /// <summary>True when <paramref name="data"/> starts with a pcHeader magic this reader knows.</summary>
    public static bool IsKnown(ReadOnlySpan<byte> data) =>
        data.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(data) is Go116 or Go118 or Go120;

    /// <summary>
    /// Adds every function of the table to <paramref name="builder"/>. <paramref name="textStart"/> is the address of
    /// .text: Go 1.18+ entries are offsets from it (the header's own copy may be unrelocated in PIE files).
    /// Throws <see cref="InvalidDataException"/> naming the file and what is out of bounds.
    /// </summary>
    public static int Read(ReadOnlySpan<byte> data, ulong textStart, SymbolTableBuilder builder, string nameForErrors)
    {
        if (data.Length < 16)
        {
            throw Corrupt(nameForErrors, $"header truncated ({data.Length} bytes)");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (magic is not (Go116 or Go118 or Go120))
        {
            throw Corrupt(nameForErrors, $"unknown pcHeader magic 0x{magic:x8} (only Go 1.16 and later are read)");
        }

        var ptrSize = data[7];
        if (ptrSize != 8 || data[4] != 0 || data[5] != 0)
        {
            throw Corrupt(nameForErrors, $"unsupported pointer size {ptrSize} or bad header padding");
        }

        var modern = magic != Go116;
        var headerWords = modern ? 10 : 9; // nfunc, nfiles, [textStart], funcname, cu, filetab, pctab, pcln offsets
        if (data.Length < 8 + (headerWords * 8))
        {
            throw Corrupt(nameForErrors, "header truncated");
        }

        var nfunc = Word(data, 0);
        var funcnameOffset = Word(data, modern ? 3 : 2);
        var pclnOffset = Word(data, modern ? 7 : 6);
        if (modern && textStart == 0)
        {
            textStart = Word(data, 2);
        }

        // (entryoff u32, funcoff u32) or (entry uintptr, funcoff uintptr); after the last function only the end address follows.
        var entrySize = modern ? 8UL : 16UL;
        if (funcnameOffset >= (ulong)data.Length || pclnOffset >= (ulong)data.Length
            || nfunc >= (ulong)data.Length / entrySize || pclnOffset + (nfunc * entrySize) + (entrySize / 2) > (ulong)data.Length)
        {
            throw Corrupt(nameForErrors, $"{nfunc} functions at offset {pclnOffset} (names at {funcnameOffset}) do not fit in {data.Length} bytes");
        }

        var functab = data[(int)pclnOffset..];
        var names = data[(int)funcnameOffset..];
        var baseOffset = builder.AddStrings(names);
        var added = 0;
        for (var i = 0; i < (int)nfunc; i++)
        {
            ulong entry, next, funcOffset;
            if (modern)
            {
                entry = textStart + BinaryPrimitives.ReadUInt32LittleEndian(functab[(i * 8)..]);
                funcOffset = BinaryPrimitives.ReadUInt32LittleEndian(functab[((i * 8) + 4)..]);
                next = textStart + BinaryPrimitives.ReadUInt32LittleEndian(functab[((i + 1) * 8)..]);
            }
            else
            {
                entry = BinaryPrimitives.ReadUInt64LittleEndian(functab[(i * 16)..]);
                funcOffset = BinaryPrimitives.ReadUInt64LittleEndian(functab[((i * 16) + 8)..]);
                next = BinaryPrimitives.ReadUInt64LittleEndian(functab[((i + 1) * 16)..]);
            }

            // _func: entry (u32 offset, or uintptr before 1.18), then nameOff (i32 into the name table).
            var nameField = funcOffset + (modern ? 4UL : 8UL);
            if (funcOffset >= (ulong)functab.Length || nameField + 4 > (ulong)functab.Length || next < entry)
            {
                throw Corrupt(nameForErrors, $"function {i}: record at {funcOffset} or range 0x{entry:x}-0x{next:x} is out of bounds");
            }

            var nameOff = BinaryPrimitives.ReadInt32LittleEndian(functab[(int)nameField..]);
            if (nameOff < 0 || nameOff >= names.Length)
            {
                throw Corrupt(nameForErrors, $"function {i}: name offset {nameOff} outside the {names.Length}-byte name table");
            }

            builder.Add(entry, next - entry, baseOffset + nameOff, 1);
            added++;
        }

        return added;
    }

    private static ulong Word(ReadOnlySpan<byte> data, int index) => BinaryPrimitives.ReadUInt64LittleEndian(data[(8 + (index * 8))..]);

    private static InvalidDataException Corrupt(string file, string what) => new($"{file}: .gopclntab: {what}");
}
