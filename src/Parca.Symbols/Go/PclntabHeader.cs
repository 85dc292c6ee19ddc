using System.Buffers.Binary;

namespace Parca.Symbols.Go;

/// <summary>
/// The pcHeader at the start of a .gopclntab, parsed and bounds-checked once so the name reader (<see cref="GoPclntab"/>,
/// used by the agent) and the line reader (<see cref="GoLineTable"/>, used by the server) agree on one layout.
/// Offsets are relative to the start of the section.
/// </summary>
internal readonly record struct PclntabHeader(
    uint Magic,
    byte PcQuantum,
    ulong FunctionCount,
    ulong TextStart,
    ulong FuncnameOffset,
    ulong CutabOffset,
    ulong FiletabOffset,
    ulong PctabOffset,
    ulong PclnOffset)
{
    public const uint Go116 = 0xfffffffa;
    public const uint Go118 = 0xfffffff0;
    public const uint Go120 = 0xfffffff1;

    /// <summary>Go 1.18 and later: 32-bit entry offsets from the text start, CU-relative file numbers.</summary>
    public bool Modern => Magic != Go116;

    /// <summary>Go 1.20 and later: _func has startLine, inlinedCall is 16 bytes with no parent index.</summary>
    public bool Go120OrLater => Magic == Go120;

    public static bool IsKnown(ReadOnlySpan<byte> data) =>
        data.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(data) is Go116 or Go118 or Go120;

    /// <summary>Parses and checks the header; throws <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    public static PclntabHeader Parse(ReadOnlySpan<byte> data, string nameForErrors)
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

        var quantum = data[6];
        var ptrSize = data[7];
        if (ptrSize != 8 || data[4] != 0 || data[5] != 0 || quantum is 0 or > 4)
        {
            throw Corrupt(nameForErrors, $"unsupported pointer size {ptrSize}, pc quantum {quantum} or bad header padding");
        }

        var modern = magic != Go116;
        var words = modern ? 10 : 9; // nfunc, nfiles, [textStart], funcname, cu, filetab, pctab, pcln offsets
        if (data.Length < 8 + (words * 8))
        {
            throw Corrupt(nameForErrors, "header truncated");
        }

        var w = modern ? 1 : 0;
        var header = new PclntabHeader(
            magic,
            quantum,
            Word(data, 0),
            modern ? Word(data, 2) : 0,
            Word(data, 2 + w),
            Word(data, 3 + w),
            Word(data, 4 + w),
            Word(data, 5 + w),
            Word(data, 6 + w));

        var length = (ulong)data.Length;
        var entrySize = header.FunctabEntrySize;
        if (header.FuncnameOffset >= length || header.CutabOffset >= length || header.FiletabOffset >= length
            || header.PctabOffset >= length || header.PclnOffset >= length
            || header.FunctionCount >= length / entrySize
            || header.PclnOffset + (header.FunctionCount * entrySize) + (entrySize / 2) > length)
        {
            throw Corrupt(nameForErrors, $"{header.FunctionCount} functions at offset {header.PclnOffset} (names at {header.FuncnameOffset}) do not fit in {data.Length} bytes");
        }

        return header;
    }

    /// <summary>Bytes per function table entry: (entryoff u32, funcoff u32), or (entry uintptr, funcoff uintptr) before Go 1.18.</summary>
    public ulong FunctabEntrySize => Modern ? 8UL : 16UL;

    public static InvalidDataException Corrupt(string file, string what) => new($"{file}: .gopclntab: {what}");

    private static ulong Word(ReadOnlySpan<byte> data, int index) => BinaryPrimitives.ReadUInt64LittleEndian(data[(8 + (index * 8))..]);
}
