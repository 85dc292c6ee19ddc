namespace Parca.Symbols.Dwarf;

/// <summary>
/// A unit header of .debug_info (DWARF 2–5): where the unit starts and ends, its version, unit type (5+), address
/// and offset sizes, its abbreviation table and where its first DIE starts. Offsets are absolute in .debug_info.
/// </summary>
internal readonly record struct UnitHeader(
    ulong Offset, ulong End, ushort Version, byte UnitType, int AddressSize, int OffsetSize, ulong AbbrevOffset, ulong FirstDie)
{
    private const byte UtCompile = 1;
    private const byte UtType = 2;
    private const byte UtPartial = 3;
    private const byte UtSkeleton = 4;
    private const byte UtSplitCompile = 5;
    private const byte UtSplitType = 6;

    /// <summary>Reads the header at the cursor and leaves the cursor at the unit's end.</summary>
    public static UnitHeader Read(ref DwarfCursor c)
    {
        var start = (ulong)c.Position;
        var (offsetSize, length) = c.InitialLength();
        var bodyStart = (ulong)c.Position;
        if (length > (ulong)(c.Length - c.Position))
        {
            return DwarfCursor.Fail<UnitHeader>($"unit at 0x{start:x} claims {length} bytes, past the end of .debug_info");
        }

        var end = bodyStart + length;
        var version = c.U16();
        if (version is < 2 or > 5)
        {
            return DwarfCursor.Fail<UnitHeader>($"unit at 0x{start:x} has unsupported DWARF version {version}");
        }

        byte unitType = UtCompile;
        int addressSize;
        ulong abbrev;
        if (version >= 5)
        {
            unitType = c.U8();
            addressSize = c.U8();
            abbrev = c.Offset(offsetSize);
            switch (unitType)
            {
                case UtSkeleton or UtSplitCompile:
                    c.Skip(8);
                    break;
                case UtType or UtSplitType:
                    c.Skip(8 + (ulong)offsetSize);
                    break;
                case UtCompile or UtPartial:
                    break;
                default:
                    return DwarfCursor.Fail<UnitHeader>($"unit at 0x{start:x} has unknown unit type {unitType}");
            }
        }
        else
        {
            abbrev = c.Offset(offsetSize);
            addressSize = c.U8();
        }

        if (addressSize is not (4 or 8))
        {
            return DwarfCursor.Fail<UnitHeader>($"unit at 0x{start:x} has address size {addressSize}");
        }

        var first = (ulong)c.Position;
        if (first > end)
        {
            return DwarfCursor.Fail<UnitHeader>($"unit at 0x{start:x}: header longer than the unit");
        }

        c.Position = (int)end;
        return new UnitHeader(start, end, version, unitType, addressSize, offsetSize, abbrev, first);
    }

    public bool IsTypeUnit => UnitType is UtType or UtSplitType;
}
