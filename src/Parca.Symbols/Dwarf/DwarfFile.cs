using Parca.Symbols.Elf;
using static Parca.Symbols.Dwarf.DwarfConstants;

namespace Parca.Symbols.Dwarf;

/// <summary>
/// Address → (function, file, line) with inlined frames from the DWARF of one ELF file (DWARF 2–5, including
/// .debug_rnglists, .debug_addr, .debug_str_offsets and .debug_line_str; 32- and 64-bit DWARF).
///
/// Written here rather than on LibObjectFile 2.3.1 (now restorable): LibObjectFile reads DWARF 4 only and partially
/// (xoofx/LibObjectFile#37), while gcc 12 on Debian 12 emits DWARF 5 by default; and it materialises every DIE of
/// the file as objects, where symbolization needs only the unit around an address. This reader indexes unit ranges
/// at open (reading one DIE per unit) and decodes a unit's functions and line table on first use.
///
/// Corrupt input throws <see cref="DwarfException"/> (at open) or marks the one unit broken (later); sizes are capped
/// by <see cref="DwarfLimits"/>. Thread-safe: lookups of one file serialize on a lock (decoding mutates the units).
/// </summary>
public sealed partial class DwarfFile
{
    private readonly DwarfSections _s;
    private readonly DwarfLimits _limits;
    private readonly List<CompileUnit> _units = [];
    private readonly Dictionary<ulong, Abbreviations> _abbrevs = [];
    private readonly Dictionary<ulong, (string? Name, string? Linkage)> _names = [];
    private readonly object _lock = new();
    private ulong[] _rangeStarts = [];
    private ulong[] _rangeEnds = [];
    private int[] _rangeUnits = [];

    private DwarfFile(DwarfSections sections, DwarfLimits limits, string name)
    {
        _s = sections;
        _limits = limits;
        Name = name;
    }

    public string Name { get; }

    /// <summary>Bytes of DWARF held in memory for this file.</summary>
    public long Bytes => _s.Bytes;

    public int UnitCount => _units.Count;

    /// <summary>The DWARF of <paramref name="elf"/>, or null when it has no .debug_info. Throws <see cref="DwarfException"/> for corrupt DWARF.</summary>
    public static DwarfFile? Open(ElfFile elf, Microsoft.Win32.SafeHandles.SafeFileHandle handle, string name, DwarfLimits? limits = null) =>
        Open(elf, new FileElfSource(handle), name, limits ?? DwarfLimits.Default);

    internal static DwarfFile? Open(ElfFile elf, ElfSource source, string name, DwarfLimits limits)
    {
        var sections = DwarfSections.Load(elf, source, name, limits);
        if (!sections.HasDebugInfo)
        {
            return null;
        }

        var file = new DwarfFile(sections, limits, name);
        try
        {
            file.IndexUnits();
        }
        catch (DwarfException e)
        {
            throw new DwarfException($"{name}: {e.Message}");
        }

        return file;
    }

    private void IndexUnits()
    {
        var c = new DwarfCursor(_s.Info);
        var ranges = new List<(ulong Start, ulong End, int Unit)>();
        var scratch = new List<(ulong, ulong)>();
        while (!c.AtEnd)
        {
            var header = UnitHeader.Read(ref c);
            if (header.IsTypeUnit)
            {
                continue;
            }

            var unit = new CompileUnit(header, AbbrevTable(header.AbbrevOffset));
            var index = _units.Count;
            _units.Add(unit);
            ReadRoot(unit, scratch);
            foreach (var (start, end) in scratch)
            {
                if (end > start && start != 0)
                {
                    ranges.Add((start, end, index));
                }
            }
        }

        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        _rangeStarts = new ulong[ranges.Count];
        _rangeEnds = new ulong[ranges.Count];
        _rangeUnits = new int[ranges.Count];
        for (var i = 0; i < ranges.Count; i++)
        {
            (_rangeStarts[i], _rangeEnds[i], _rangeUnits[i]) = ranges[i];
        }
    }

    private Abbreviations AbbrevTable(ulong offset)
    {
        if (!_abbrevs.TryGetValue(offset, out var table))
        {
            table = Abbreviations.Parse(_s.Abbrev, offset);
            _abbrevs.Add(offset, table);
        }

        return table;
    }

    /// <summary>Reads the root DIE: bases first (later attributes of the same DIE may depend on them), then the rest.</summary>
    private void ReadRoot(CompileUnit unit, List<(ulong, ulong)> ranges)
    {
        ranges.Clear();
        var h = unit.Header;
        var c = new DwarfCursor(_s.Info.AsSpan(0, (int)h.End), (int)h.FirstDie);
        var code = c.Uleb();
        if (code == 0)
        {
            return;
        }

        var abbrev = unit.Abbrev.Get(code);
        if (abbrev.Tag is not (TagCompileUnit or TagPartialUnit or TagSkeletonUnit))
        {
            return;
        }

        Span<AttributeValue> values = abbrev.Attributes.Length <= 64 ? stackalloc AttributeValue[abbrev.Attributes.Length] : new AttributeValue[abbrev.Attributes.Length];
        for (var i = 0; i < abbrev.Attributes.Length; i++)
        {
            var a = abbrev.Attributes[i];
            values[i] = Forms.Read(ref c, a.Form, a.ImplicitConst, h);
            switch (a.Name)
            {
                case AtStrOffsetsBase: unit.StrOffsetsBase = values[i].Value; break;
                case AtAddrBase or AtGnuAddrBase: unit.AddrBase = values[i].Value; break;
                case AtRnglistsBase: unit.RngListsBase = values[i].Value; break;
            }
        }

        if (h.Version >= 5 && unit.StrOffsetsBase == 0 && _s.StrOffsets.Length > 0)
        {
            unit.StrOffsetsBase = h.OffsetSize == 8 ? 16UL : 8UL;
        }

        AttributeValue low = default, high = default, rangesAttr = default;
        for (var i = 0; i < abbrev.Attributes.Length; i++)
        {
            var v = values[i];
            switch (abbrev.Attributes[i].Name)
            {
                case AtLowPc: low = v; break;
                case AtHighPc: high = v; break;
                case AtRanges: rangesAttr = v; break;
                case AtStmtList: unit.StmtList = v.Value; break;
                case AtCompDir: unit.CompDir = String(unit, v); break;
                case AtName: unit.Name = String(unit, v); break;
            }
        }

        unit.BaseAddress = low.Kind == ValueKind.None ? 0 : Address(unit, low);
        AddRanges(unit, low, high, rangesAttr, ranges);
    }

    /// <summary>The [start, end) ranges a DIE covers from its low_pc/high_pc or its DW_AT_ranges.</summary>
    private void AddRanges(CompileUnit unit, AttributeValue low, AttributeValue high, AttributeValue rangesAttr, List<(ulong, ulong)> into)
    {
        if (rangesAttr.Kind != ValueKind.None)
        {
            ReadRangeList(unit, rangesAttr, into);
        }
        else if (low.Kind != ValueKind.None && high.Kind != ValueKind.None)
        {
            var start = Address(unit, low);
            var end = high.Kind == ValueKind.Constant ? start + high.Value : Address(unit, high);
            if (end > start)
            {
                into.Add((start, end));
            }
        }
    }

    internal string String(CompileUnit unit, AttributeValue v) => v.Kind switch
    {
        ValueKind.StrOffset => DwarfStrings.At(_s.Str, v.Value),
        ValueKind.LineStrOffset => DwarfStrings.At(_s.LineStr, v.Value),
        ValueKind.InlineString => DwarfStrings.At(_s.Info, v.Value),
        ValueKind.StrIndex => DwarfStrings.At(_s.Str, IndexedOffset(_s.StrOffsets, unit.StrOffsetsBase, v.Value, unit.Header.OffsetSize)),
        _ => "",
    };

    internal ulong Address(CompileUnit unit, AttributeValue v)
    {
        if (v.Kind != ValueKind.AddressIndex)
        {
            return v.Value;
        }

        var size = unit.Header.AddressSize;
        var at = unit.AddrBase + (v.Value * (ulong)size);
        if (v.Value > (ulong)_s.Addr.Length || at + (ulong)size > (ulong)_s.Addr.Length)
        {
            return DwarfCursor.Fail<ulong>($"address index {v.Value} outside .debug_addr");
        }

        var c = new DwarfCursor(_s.Addr, (int)at);
        return c.Address(size);
    }

    private static ulong IndexedOffset(byte[] table, ulong @base, ulong index, int offsetSize)
    {
        var at = @base + (index * (ulong)offsetSize);
        if (index > (ulong)table.Length || at + (ulong)offsetSize > (ulong)table.Length)
        {
            return ulong.MaxValue;
        }

        var c = new DwarfCursor(table, (int)at);
        return c.Offset(offsetSize);
    }
}
