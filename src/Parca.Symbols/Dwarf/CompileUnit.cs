namespace Parca.Symbols.Dwarf;

/// <summary>
/// A compilation unit of .debug_info with the attributes of its root DIE that the rest of the unit needs (string,
/// address and range-list bases, base address, line program, compilation directory). The unit's functions and its
/// line table are decoded on first use.
/// </summary>
internal sealed class CompileUnit(UnitHeader header, Abbreviations abbrev)
{
    public UnitHeader Header { get; } = header;
    public Abbreviations Abbrev { get; } = abbrev;
    public ulong StrOffsetsBase { get; set; }
    public ulong AddrBase { get; set; }
    public ulong RngListsBase { get; set; }
    public ulong BaseAddress { get; set; }
    public ulong StmtList { get; set; } = ulong.MaxValue;
    public string CompDir { get; set; } = "";
    public string Name { get; set; } = "";

    /// <summary>Set when first needed, under the owning <see cref="DwarfFile"/>'s lock.</summary>
    public FunctionIndex? Functions { get; set; }

    public LineTable? Lines { get; set; }

    /// <summary>The reason decoding this unit failed, remembered so the work is not repeated per address.</summary>
    public string? Error { get; set; }
}

/// <summary>
/// The functions of one unit that cover code (DW_TAG_subprogram and DW_TAG_inlined_subroutine with pc ranges) in
/// DIE-tree pre-order, each with the index just past its subtree, so finding the chain of functions around an
/// address skips every subtree that does not contain it.
/// </summary>
internal sealed class FunctionIndex(FunctionEntry[] entries, ulong[] ranges)
{
    public FunctionEntry[] Entries { get; } = entries;

    /// <summary>[start, end) pairs; an entry owns ranges[2*RangeStart .. 2*(RangeStart+RangeCount)].</summary>
    public ulong[] Ranges { get; } = ranges;

    public bool Contains(in FunctionEntry e, ulong pc)
    {
        for (var i = e.RangeStart; i < e.RangeStart + e.RangeCount; i++)
        {
            if (pc >= Ranges[2 * i] && pc < Ranges[(2 * i) + 1])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Indexes of the entries containing <paramref name="pc"/>, outermost first.</summary>
    public int Chain(ulong pc, Span<int> chain)
    {
        var n = 0;
        var i = 0;
        var end = Entries.Length;
        while (i < end && n < chain.Length)
        {
            ref readonly var e = ref Entries[i];
            if (Contains(e, pc))
            {
                chain[n++] = i;
                end = e.SubtreeEnd;
                i++;
            }
            else
            {
                i = e.SubtreeEnd;
            }
        }

        return n;
    }
}

/// <summary>A function DIE with code: where it is (for its name), its ranges, and for inlined ones the call site.</summary>
internal record struct FunctionEntry(ulong DieOffset, int RangeStart, int RangeCount, int SubtreeEnd, int CallFile, int CallLine, bool Inlined);
