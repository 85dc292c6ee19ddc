namespace Parca.Symbols.Dwarf;

/// <summary>
/// A decoded .debug_line program of one unit (versions 2–5): rows sorted by address, each the file and line of the
/// code starting there; an end-of-sequence row marks where covered code stops. Rows at the same address keep the
/// last one emitted (as binutils' addr2line does), so answers match it.
/// </summary>
internal sealed partial class LineTable
{
    private const int EndOfSequence = int.MinValue;

    private readonly ulong[] _addresses;
    private readonly int[] _files;
    private readonly int[] _lines;

    private LineTable(ulong[] addresses, int[] files, int[] lines, string[] fileNames)
    {
        _addresses = addresses;
        _files = files;
        _lines = lines;
        FileNames = fileNames;
    }

    public static LineTable Empty { get; } = new([], [], [], []);

    /// <summary>Full paths indexed by the unit's file numbers (DW_AT_call_file and the rows use these numbers).</summary>
    public string[] FileNames { get; }

    public string File(int index) => (uint)index < (uint)FileNames.Length ? FileNames[index] : "??";

    /// <summary>File and line of the code at <paramref name="pc"/>; false when no sequence covers it.</summary>
    public bool TryFind(ulong pc, out int file, out int line)
    {
        var i = Array.BinarySearch(_addresses, pc);
        if (i < 0)
        {
            i = ~i - 1;
        }
        else
        {
            while (i + 1 < _addresses.Length && _addresses[i + 1] == pc)
            {
                i++;
            }
        }

        if (i < 0 || _files[i] == EndOfSequence)
        {
            file = line = 0;
            return false;
        }

        file = _files[i];
        line = _lines[i];
        return true;
    }

    public static LineTable Parse(DwarfSections s, ulong offset, string compDir, string? unitName, DwarfLimits limits)
    {
        if (offset >= (ulong)s.Line.Length)
        {
            return DwarfCursor.Fail<LineTable>($".debug_line offset 0x{offset:x} outside the section ({s.Line.Length} bytes)");
        }

        var c = new DwarfCursor(s.Line, (int)offset);
        var (offsetSize, length) = c.InitialLength();
        if (length > (ulong)(c.Length - c.Position))
        {
            return DwarfCursor.Fail<LineTable>($".debug_line unit at 0x{offset:x} claims {length} bytes past the end");
        }

        var end = c.Position + (int)length;
        var version = c.U16();
        if (version is < 2 or > 5)
        {
            return DwarfCursor.Fail<LineTable>($".debug_line unit at 0x{offset:x} has unsupported version {version}");
        }

        var addressSize = 8;
        if (version >= 5)
        {
            addressSize = c.U8();
            c.U8(); // segment selector size
        }

        var headerLength = c.Offset(offsetSize);
        var programStart = (ulong)c.Position + headerLength;
        var minInst = c.U8();
        if (version >= 4)
        {
            c.U8(); // maximum operations per instruction (VLIW only)
        }

        c.U8(); // default_is_stmt: binutils does not filter rows by is_stmt, nor do we
        var lineBase = (sbyte)c.U8();
        var lineRange = c.U8();
        var opcodeBase = c.U8();
        if (lineRange == 0 || opcodeBase == 0)
        {
            return DwarfCursor.Fail<LineTable>($".debug_line unit at 0x{offset:x}: line_range or opcode_base is 0");
        }

        var opLengths = c.Take(opcodeBase - 1).ToArray();
        var header = new UnitHeader(0, 0, version, 0, addressSize is 4 or 8 ? addressSize : 8, offsetSize, 0, 0);
        var files = version >= 5 ? ReadV5Files(ref c, s, header, compDir) : ReadV4Files(ref c, compDir, unitName);
        if (programStart > (ulong)end)
        {
            return DwarfCursor.Fail<LineTable>($".debug_line unit at 0x{offset:x}: header_length past the unit");
        }

        c.Position = (int)programStart;
        return Run(ref c, end, version, minInst, lineBase, lineRange, opcodeBase, opLengths, files, limits, offset);
    }

    private static LineTable Run(ref DwarfCursor c, int end, ushort version, byte minInst, sbyte lineBase, byte lineRange, byte opcodeBase, byte[] opLengths, List<string> files, DwarfLimits limits, ulong offset)
    {
        var rows = new List<(ulong Address, int File, int Line)>();
        var sequences = new List<(int Start, int Count)>();
        var seqStart = 0;
        ulong address = 0;
        var file = 1;
        var line = 1;

        void Emit(List<(ulong, int, int)> rows, ulong address, int file, int line, bool endSequence)
        {
            if (rows.Count >= limits.MaxLineRows)
            {
                DwarfCursor.Fail<int>($".debug_line unit at 0x{offset:x} has more than {limits.MaxLineRows} rows");
            }

            var row = (address, endSequence ? EndOfSequence : file, line);
            if (rows.Count > seqStart && rows[^1].Item1 == address)
            {
                rows[^1] = row;
            }
            else
            {
                rows.Add(row);
            }
        }

        while (c.Position < end)
        {
            var op = c.U8();
            if (op >= opcodeBase)
            {
                var adj = op - opcodeBase;
                address += (ulong)(adj / lineRange * minInst);
                line += lineBase + (adj % lineRange);
                Emit(rows, address, file, line, false);
                continue;
            }

            switch (op)
            {
                case 0:
                    {
                        var len = c.Uleb();
                        if (len == 0 || len > (ulong)(end - c.Position))
                        {
                            return DwarfCursor.Fail<LineTable>($".debug_line unit at 0x{offset:x}: extended opcode length {len} past the unit");
                        }

                        var next = c.Position + (int)len;
                        var sub = c.U8();
                        if (sub == 1)
                        {
                            Emit(rows, address, file, line, true);
                            if (rows.Count > seqStart)
                            {
                                sequences.Add((seqStart, rows.Count - seqStart));
                            }

                            seqStart = rows.Count;
                            address = 0;
                            file = 1;
                            line = 1;
                        }
                        else if (sub == 2)
                        {
                            address = c.Address((int)len - 1);
                        }
                        else if (sub == 3)
                        {
                            var name = System.Text.Encoding.UTF8.GetString(c.CString());
                            c.Uleb();
                            c.Uleb();
                            c.Uleb();
                            files.Add(name);
                        }

                        c.Position = next;
                        break;
                    }

                case 1: Emit(rows, address, file, line, false); break;
                case 2: address += c.Uleb() * minInst; break;
                case 3: line += (int)c.Sleb(); break;
                case 4: file = (int)Math.Min(c.Uleb(), int.MaxValue); break;
                case 5: c.Uleb(); break;
                case 8: address += (ulong)((255 - opcodeBase) / lineRange * minInst); break;
                case 9: address += c.U16(); break;
                case 6 or 7 or 10 or 11: break;
                default:
                    for (var i = 0; i < opLengths[op - 1]; i++)
                    {
                        c.Uleb();
                    }

                    break;
            }
        }

        return Build(rows, sequences, version, files);
    }

    private static LineTable Build(List<(ulong Address, int File, int Line)> rows, List<(int Start, int Count)> sequences, ushort version, List<string> files)
    {
        // Sequences of code the linker discarded keep address 0 (GNU ld's tombstone): they would shadow real code.
        sequences.RemoveAll(q => rows[q.Start].Address == 0);
        sequences.Sort((a, b) => rows[a.Start].Address.CompareTo(rows[b.Start].Address));
        var n = 0;
        foreach (var q in sequences)
        {
            n += q.Count;
        }

        var addresses = new ulong[n];
        var fileIds = new int[n];
        var lines = new int[n];
        var k = 0;
        ulong last = 0;
        foreach (var q in sequences)
        {
            for (var i = q.Start; i < q.Start + q.Count; i++)
            {
                var r = rows[i];
                if (r.Address < last)
                {
                    continue; // overlapping sequence: keep the table sorted, the earlier one wins
                }

                addresses[k] = last = r.Address;
                fileIds[k] = r.File == EndOfSequence ? EndOfSequence : version >= 5 ? r.File : r.File - 1;
                lines[k] = r.Line;
                k++;
            }
        }

        return new LineTable(addresses[..k], fileIds[..k], lines[..k], [.. files]);
    }
}
