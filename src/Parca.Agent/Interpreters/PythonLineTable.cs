namespace Parca.Agent.Interpreters;

/// <summary>
/// The source line of an instruction from a code object's line table, in the three formats CPython 3.8–3.13 use
/// (Objects/lnotab_notes.txt of 3.8–3.10, Objects/locations.md of 3.11+). A truncated or corrupt table yields the
/// last line decoded (never an exception): the table is read from a live process and can be torn.
/// </summary>
internal static class PythonLineTable
{
    /// <summary>The line of instruction <paramref name="instruction"/> (code units), or <paramref name="firstLine"/> when the table has none.</summary>
    public static int Line(PythonLineFormat format, ReadOnlySpan<byte> table, int firstLine, int instruction)
    {
        if (instruction < 0)
        {
            return firstLine; // the frame has not run its first instruction yet
        }

        return format switch
        {
            PythonLineFormat.Lnotab => Lnotab(table, firstLine, instruction * 2),
            PythonLineFormat.Linetable310 => Linetable310(table, firstLine, instruction * 2),
            _ => Locations(table, firstLine, instruction),
        };
    }

    /// <summary>3.8/3.9: (unsigned address delta, signed line delta) pairs; the line applies from its address on.</summary>
    private static int Lnotab(ReadOnlySpan<byte> table, int line, int offset)
    {
        var address = 0;
        for (var i = 0; i + 1 < table.Length; i += 2)
        {
            address += table[i];
            if (address > offset)
            {
                break;
            }

            line += (sbyte)table[i + 1];
        }

        return line;
    }

    /// <summary>3.10: (unsigned length in bytes, signed line delta) pairs, each covering [start, start + length); -128 = no line.</summary>
    private static int Linetable310(ReadOnlySpan<byte> table, int firstLine, int offset)
    {
        int start = 0, line = firstLine;
        for (var i = 0; i + 1 < table.Length; i += 2)
        {
            var end = start + table[i];
            var delta = (sbyte)table[i + 1];
            if (delta != -128)
            {
                line += delta;
            }

            if (offset >= start && offset < end)
            {
                return delta == -128 ? firstLine : line;
            }

            start = end;
        }

        return line;
    }

    /// <summary>
    /// 3.11+: entries of a first byte 1CCCCLLL (code C, length L + 1 code units) and code-specific operands: 15 no
    /// location, 14 long form (svarint line delta, then end line, column, end column varints), 13 no columns
    /// (svarint line delta), 10–12 one-line form (line delta C − 10, two column bytes), 0–9 short form (one byte).
    /// </summary>
    private static int Locations(ReadOnlySpan<byte> table, int firstLine, int instruction)
    {
        int i = 0, address = 0, line = firstLine;
        while (i < table.Length)
        {
            var first = table[i++];
            if ((first & 0x80) == 0)
            {
                break; // not an entry start: corrupt or torn
            }

            var code = (first >> 3) & 15;
            var length = (first & 7) + 1;
            var hasLine = true;
            switch (code)
            {
                case 15:
                    hasLine = false;
                    break;
                case 14:
                    line += SignedVarint(table, ref i);
                    _ = Varint(table, ref i);
                    _ = Varint(table, ref i);
                    _ = Varint(table, ref i);
                    break;
                case 13:
                    line += SignedVarint(table, ref i);
                    break;
                case >= 10:
                    line += code - 10;
                    i += 2;
                    break;
                default:
                    i += 1;
                    break;
            }

            if (instruction < address + length)
            {
                return hasLine ? line : firstLine;
            }

            address += length;
        }

        return line;
    }

    private static int Varint(ReadOnlySpan<byte> table, ref int i)
    {
        int value = 0, shift = 0;
        while (i < table.Length && shift < 30)
        {
            var b = table[i++];
            value |= (b & 63) << shift;
            shift += 6;
            if ((b & 64) == 0)
            {
                break;
            }
        }

        return value;
    }

    private static int SignedVarint(ReadOnlySpan<byte> table, ref int i)
    {
        var value = Varint(table, ref i);
        return (value & 1) != 0 ? -(value >> 1) : value >> 1;
    }
}
