namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// HotSpot's compressed line-number table (it follows a method's bytecodes in its ConstMethod): pairs of
/// (bytecode index, line) as deltas from the previous pair, starting at (0, 0). A byte 1..254 holds a bci delta
/// below 32 (high 5 bits) and a line delta below 8 (low 3 bits); 0xFF is followed by both deltas as signed
/// UNSIGNED5 numbers (zigzag); 0 ends the table. The UNSIGNED5 form is JDK 17's (bytes below 192 end a number,
/// each byte adds 6 bits); JDK 21 excludes the zero byte from it, which this does not decode.
/// </summary>
internal static class HotSpotLineTable
{
    private const int Low = 192;

    public static (int Bci, int Line)[] Decode(ReadOnlySpan<byte> table)
    {
        var pairs = new List<(int, int)>();
        int bci = 0, line = 0, at = 0;
        while (at < table.Length && pairs.Count < 65_536)
        {
            var b = table[at++];
            if (b == 0)
            {
                break;
            }

            if (b == 0xff)
            {
                if (!TrySigned(table, ref at, out var db) || !TrySigned(table, ref at, out var dl))
                {
                    break;
                }

                bci += db;
                line += dl;
            }
            else
            {
                bci += b >> 3;
                line += b & 7;
            }

            pairs.Add((bci, line));
        }

        return [.. pairs];
    }

    private static bool TrySigned(ReadOnlySpan<byte> table, ref int at, out int value)
    {
        value = 0;
        uint sum = 0;
        var shift = 0;
        for (var i = 0; i < 5; i++)
        {
            if (at >= table.Length)
            {
                return false;
            }

            uint b = table[at++];
            sum += b << shift;
            shift += 6;
            if (b < Low)
            {
                break;
            }
        }

        value = (int)(sum >> 1) ^ -(int)(sum & 1);
        return true;
    }
}
