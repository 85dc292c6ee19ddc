namespace Parca.Symbols.Dwarf;

/// <summary>One frame of an address: a function (null name when DWARF does not name it) and the source position in it.</summary>
public readonly record struct DwarfFrame(string? Name, string? LinkageName, string File, int Line);

/// <summary>Looking addresses up: unit by range, function chain by subtree walk, line by the unit's line table.</summary>
public sealed partial class DwarfFile
{
    private const int MaxInlineDepth = 64;

    /// <summary>
    /// Appends the frames of <paramref name="pc"/> (an ELF virtual address of this file) innermost first: the
    /// innermost inlined function at the line of <paramref name="pc"/>, then each caller at the call site of the
    /// function inlined into it, ending with the out-of-line function. Returns the count added (0: not covered).
    /// A unit that turns out corrupt is remembered and yields nothing (<see cref="Errors"/> says why).
    /// </summary>
    public int Lookup(ulong pc, List<DwarfFrame> into)
    {
        lock (_lock)
        {
            var unit = FindUnit(pc);
            if (unit is null || unit.Error is not null)
            {
                return 0;
            }

            try
            {
                return LookupIn(unit, pc, into);
            }
            catch (DwarfException e)
            {
                unit.Error = $"{Name}: unit at 0x{unit.Header.Offset:x}: {e.Message}";
                unit.Functions = null;
                unit.Lines = null;
                return 0;
            }
        }
    }

    /// <summary>Reasons units were given up on (corrupt DWARF found after open).</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_lock)
            {
                return _units.Where(u => u.Error is not null).Select(u => u.Error!).ToList();
            }
        }
    }

    private int LookupIn(CompileUnit unit, ulong pc, List<DwarfFrame> into)
    {
        var functions = unit.Functions ??= BuildFunctions(unit);
        var lines = unit.Lines ??= unit.StmtList == ulong.MaxValue
            ? LineTable.Empty
            : LineTable.Parse(_s, unit.StmtList, unit.CompDir, unit.Name, _limits);

        Span<int> chain = stackalloc int[MaxInlineDepth];
        var depth = functions.Chain(pc, chain);
        var hasLine = lines.TryFind(pc, out var file, out var line);
        if (depth == 0)
        {
            if (!hasLine)
            {
                return 0;
            }

            into.Add(new DwarfFrame(null, null, lines.File(file), line));
            return 1;
        }

        var fileName = hasLine ? lines.File(file) : "??";
        for (var i = depth - 1; i >= 0; i--)
        {
            var e = functions.Entries[chain[i]];
            var (name, linkage) = FunctionName(e.DieOffset);
            into.Add(new DwarfFrame(name, linkage, fileName, hasLine ? line : 0));

            // The caller's position is where this function was inlined.
            fileName = e.CallFile >= 0 ? lines.File(unit.Header.Version >= 5 ? e.CallFile : e.CallFile - 1) : "??";
            line = e.CallLine;
            hasLine = true;
        }

        return depth;
    }

    private CompileUnit? FindUnit(ulong pc)
    {
        var i = Array.BinarySearch(_rangeStarts, pc);
        if (i < 0)
        {
            i = ~i - 1;
        }

        // Unit ranges may nest or overlap: look back over the few candidates that start at or before pc.
        for (var k = i; k >= 0 && k > i - 8; k--)
        {
            if (pc < _rangeEnds[k])
            {
                return _units[_rangeUnits[k]];
            }
        }

        return null;
    }
}
