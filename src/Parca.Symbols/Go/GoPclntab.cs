using System.Buffers.Binary;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Go;

/// <summary>
/// Function names and entry addresses from a Go binary's .gopclntab, which the Go runtime needs for its own
/// tracebacks and so survives `-ldflags=-s` stripping. Layouts (pcHeader magic): Go 1.16/1.17 (0xfffffffa, the
/// function table holds absolute entry addresses), Go 1.18/1.19 (0xfffffff0) and Go 1.20+ (0xfffffff1) (32-bit
/// entry offsets from the start of the text). Only the function table and the name table are read here (the
/// agent's local names); <see cref="GoLineTable"/> reads lines and inlining over the same header for the server.
/// </summary>
internal static class GoPclntab
{
    /// <summary>True when <paramref name="data"/> starts with a pcHeader magic this reader knows.</summary>
    public static bool IsKnown(ReadOnlySpan<byte> data) => PclntabHeader.IsKnown(data);

    /// <summary>
    /// Adds every function of the table to <paramref name="builder"/>. Go 1.18+ entries are offsets from the header's
    /// textStart (the first Go function: C code of cgo binaries may precede it in .text); when that is 0 (a PIE file
    /// whose copy is filled in by a relocation) <paramref name="textStart"/>, the address of .text, stands in.
    /// Throws <see cref="InvalidDataException"/> naming the file and what is out of bounds.
    /// </summary>
    public static int Read(ReadOnlySpan<byte> data, ulong textStart, SymbolTableBuilder builder, string nameForErrors)
    {
        var header = PclntabHeader.Parse(data, nameForErrors);
        var modern = header.Modern;
        var nfunc = header.FunctionCount;
        var funcnameOffset = header.FuncnameOffset;
        var pclnOffset = header.PclnOffset;
        if (modern && header.TextStart != 0)
        {
            textStart = header.TextStart;
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

    private static InvalidDataException Corrupt(string file, string what) => PclntabHeader.Corrupt(file, what);
}
