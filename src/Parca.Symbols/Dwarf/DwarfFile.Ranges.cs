namespace Parca.Symbols.Dwarf;

/// <summary>Range lists: DWARF 2–4 .debug_ranges (address pairs) and DWARF 5 .debug_rnglists (DW_RLE_* entries).</summary>
public sealed partial class DwarfFile
{
    private const byte RleEndOfList = 0;
    private const byte RleBaseAddressx = 1;
    private const byte RleStartxEndx = 2;
    private const byte RleStartxLength = 3;
    private const byte RleOffsetPair = 4;
    private const byte RleBaseAddress = 5;
    private const byte RleStartEnd = 6;
    private const byte RleStartLength = 7;

    private void ReadRangeList(CompileUnit unit, AttributeValue attr, List<(ulong, ulong)> into)
    {
        var h = unit.Header;
        if (h.Version < 5)
        {
            ReadDebugRanges(unit, attr.Value, into);
            return;
        }

        var offset = attr.Value;
        if (attr.Kind == ValueKind.RangeListIndex)
        {
            var rel = IndexedOffset(_s.RngLists, unit.RngListsBase, attr.Value, h.OffsetSize);
            if (rel == ulong.MaxValue)
            {
                DwarfCursor.Fail<int>($"range list index {attr.Value} outside .debug_rnglists");
            }

            offset = unit.RngListsBase + rel;
        }

        if (offset >= (ulong)_s.RngLists.Length)
        {
            DwarfCursor.Fail<int>($"range list offset 0x{offset:x} outside .debug_rnglists ({_s.RngLists.Length} bytes)");
        }

        var c = new DwarfCursor(_s.RngLists, (int)offset);
        var size = h.AddressSize;
        var @base = unit.BaseAddress;
        while (true)
        {
            var kind = c.U8();
            switch (kind)
            {
                case RleEndOfList:
                    return;
                case RleBaseAddressx:
                    @base = Address(unit, new AttributeValue(ValueKind.AddressIndex, c.Uleb()));
                    break;
                case RleStartxEndx:
                    {
                        var s = Address(unit, new AttributeValue(ValueKind.AddressIndex, c.Uleb()));
                        var e = Address(unit, new AttributeValue(ValueKind.AddressIndex, c.Uleb()));
                        Add(into, s, e);
                        break;
                    }

                case RleStartxLength:
                    {
                        var s = Address(unit, new AttributeValue(ValueKind.AddressIndex, c.Uleb()));
                        Add(into, s, s + c.Uleb());
                        break;
                    }

                case RleOffsetPair:
                    {
                        var s = c.Uleb();
                        var e = c.Uleb();
                        Add(into, @base + s, @base + e);
                        break;
                    }

                case RleBaseAddress:
                    @base = c.Address(size);
                    break;
                case RleStartEnd:
                    {
                        var s = c.Address(size);
                        Add(into, s, c.Address(size));
                        break;
                    }

                case RleStartLength:
                    {
                        var s = c.Address(size);
                        Add(into, s, s + c.Uleb());
                        break;
                    }

                default:
                    DwarfCursor.Fail<int>($"unknown range list entry kind {kind} at 0x{c.Position - 1:x} of .debug_rnglists");
                    break;
            }
        }
    }

    private void ReadDebugRanges(CompileUnit unit, ulong offset, List<(ulong, ulong)> into)
    {
        if (offset >= (ulong)_s.Ranges.Length)
        {
            DwarfCursor.Fail<int>($"range list offset 0x{offset:x} outside .debug_ranges ({_s.Ranges.Length} bytes)");
        }

        var c = new DwarfCursor(_s.Ranges, (int)offset);
        var size = unit.Header.AddressSize;
        var max = size == 8 ? ulong.MaxValue : uint.MaxValue;
        var @base = unit.BaseAddress;
        while (true)
        {
            var s = c.Address(size);
            var e = c.Address(size);
            if (s == 0 && e == 0)
            {
                return;
            }

            if (s == max)
            {
                @base = e;
                continue;
            }

            Add(into, @base + s, @base + e);
        }
    }

    private static void Add(List<(ulong, ulong)> into, ulong start, ulong end)
    {
        if (end > start)
        {
            into.Add((start, end));
        }
    }
}
