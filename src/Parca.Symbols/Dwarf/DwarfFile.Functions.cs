using static Parca.Symbols.Dwarf.DwarfConstants;

namespace Parca.Symbols.Dwarf;

/// <summary>Decoding a unit's DIE tree into its <see cref="FunctionIndex"/>, and naming functions by DIE offset.</summary>
public sealed partial class DwarfFile
{
    private FunctionIndex BuildFunctions(CompileUnit unit)
    {
        var h = unit.Header;
        var c = new DwarfCursor(_s.Info.AsSpan(0, (int)h.End), (int)h.FirstDie);
        var entries = new List<FunctionEntry>();
        var ranges = new List<ulong>();
        var scratch = new List<(ulong, ulong)>();

        // open[d] = index of the recorded entry at tree depth d, or -1; closing a depth ends that entry's subtree.
        var open = new List<int>();
        while (!c.AtEnd)
        {
            var dieOffset = (ulong)c.Position;
            var code = c.Uleb();
            if (code == 0)
            {
                if (open.Count == 0)
                {
                    continue; // padding after the root's children
                }

                Close(entries, open[^1]);
                open.RemoveAt(open.Count - 1);
                continue;
            }

            var abbrev = unit.Abbrev.Get(code);
            var isFunction = abbrev.Tag is TagSubprogram or TagInlinedSubroutine;
            AttributeValue low = default, high = default, rangesAttr = default;
            var callFile = -1;
            var callLine = 0;
            foreach (var a in abbrev.Attributes)
            {
                var v = Forms.Read(ref c, a.Form, a.ImplicitConst, h);
                if (!isFunction)
                {
                    continue;
                }

                switch (a.Name)
                {
                    case AtLowPc: low = v; break;
                    case AtHighPc: high = v; break;
                    case AtRanges: rangesAttr = v; break;
                    case AtCallFile: callFile = (int)Math.Min(v.Value, int.MaxValue); break;
                    case AtCallLine: callLine = (int)Math.Min(v.Value, int.MaxValue); break;
                }
            }

            var recorded = -1;
            if (isFunction)
            {
                scratch.Clear();
                AddRanges(unit, low, high, rangesAttr, scratch);
                if (scratch.Count > 0)
                {
                    recorded = entries.Count;
                    var first = ranges.Count / 2;
                    foreach (var (s, e) in scratch)
                    {
                        ranges.Add(s);
                        ranges.Add(e);
                    }

                    entries.Add(new FunctionEntry(dieOffset, first, scratch.Count, recorded + 1, callFile, callLine, abbrev.Tag == TagInlinedSubroutine));
                }
            }

            if (abbrev.HasChildren)
            {
                if (open.Count >= _limits.MaxDieDepth)
                {
                    DwarfCursor.Fail<int>($"DIE tree of unit at 0x{h.Offset:x} nests deeper than {_limits.MaxDieDepth}");
                }

                open.Add(recorded);
            }
        }

        while (open.Count > 0)
        {
            Close(entries, open[^1]);
            open.RemoveAt(open.Count - 1);
        }

        return new FunctionIndex([.. entries], [.. ranges]);

        static void Close(List<FunctionEntry> entries, int index)
        {
            if (index >= 0)
            {
                var e = entries[index];
                entries[index] = e with { SubtreeEnd = entries.Count };
            }
        }
    }

    /// <summary>
    /// The name (DW_AT_name) and linkage name of the function DIE at <paramref name="dieOffset"/>, following
    /// abstract_origin and specification (inlined instances and out-of-line definitions name their declaration).
    /// </summary>
    internal (string? Name, string? Linkage) FunctionName(ulong dieOffset)
    {
        if (_names.TryGetValue(dieOffset, out var cached))
        {
            return cached;
        }

        string? name = null, linkage = null;
        var at = dieOffset;
        for (var hop = 0; hop < _limits.MaxNameHops && (name is null || linkage is null); hop++)
        {
            var unit = UnitAt(at);
            if (unit is null)
            {
                break;
            }

            var c = new DwarfCursor(_s.Info.AsSpan(0, (int)unit.Header.End), (int)at);
            var code = c.Uleb();
            if (code == 0)
            {
                break;
            }

            var abbrev = unit.Abbrev.Get(code);
            ulong next = ulong.MaxValue;
            foreach (var a in abbrev.Attributes)
            {
                var v = Forms.Read(ref c, a.Form, a.ImplicitConst, unit.Header);
                switch (a.Name)
                {
                    case AtName: name ??= NonEmpty(String(unit, v)); break;
                    case AtLinkageName or AtMipsLinkageName: linkage ??= NonEmpty(String(unit, v)); break;
                    case AtAbstractOrigin or AtSpecification when v.Kind == ValueKind.Reference: next = v.Value; break;
                }
            }

            if (next == ulong.MaxValue || next == at)
            {
                break;
            }

            at = next;
        }

        _names[dieOffset] = (name, linkage);
        return (name, linkage);

        static string? NonEmpty(string s) => s.Length == 0 ? null : s;
    }

    private CompileUnit? UnitAt(ulong dieOffset)
    {
        int lo = 0, hi = _units.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var h = _units[mid].Header;
            if (dieOffset < h.FirstDie)
            {
                hi = mid - 1;
            }
            else if (dieOffset >= h.End)
            {
                lo = mid + 1;
            }
            else
            {
                return _units[mid];
            }
        }

        return null;
    }
}
