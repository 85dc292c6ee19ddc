using Parca.Agent.Interpreters;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// V8's source position table as <see cref="V8InliningReader"/> reads it: entries of (code offset delta, position
/// delta), each a zigzag VLQ number, the code delta stored as -delta - 1 for an expression position. The tables here
/// are encoded by the test from that definition; the end-to-end test reads real ones from node.
/// </summary>
public sealed class V8SourcePositionTests
{
    /// <summary>A SourcePosition: script offset in bits 1–30, inlining id + 1 in bits 31–46.</summary>
    private static long Position(int scriptOffset, int inliningId) => ((long)(inliningId + 1) << 31) | ((long)scriptOffset << 1);

    [Theory]
    [InlineData(0, 10, -1)]
    [InlineData(19, 10, -1)]
    [InlineData(20, 374, 3)]
    [InlineData(39, 374, 3)]
    [InlineData(40, 603, 0)]
    [InlineData(5000, 603, 0)]
    public void The_entry_at_or_before_the_offset_gives_the_script_offset_and_inlining_id(long offset, int scriptOffset, int inliningId)
    {
        var table = Encode((0, Position(10, -1), true), (20, Position(374, 3), false), (40, Position(603, 0), true));

        var position = V8InliningReader.PositionAt(table, offset);

        Assert.Equal(scriptOffset, (int)((position >> 1) & ((1 << 30) - 1)));
        Assert.Equal(inliningId, (int)((position >> 31) & 0xffff) - 1);
    }

    [Fact]
    public void A_table_cut_inside_a_number_is_an_error_not_a_position()
    {
        var table = Encode((0, Position(10, -1), true), (300, Position(100_000, 7), true));

        Assert.Throws<InvalidDataException>(() => V8InliningReader.PositionAt(table.AsSpan(0, table.Length - 1), 1000));
    }

    [Fact]
    public void Any_cut_of_a_table_reads_or_throws_InvalidDataException()
    {
        var random = new Random(19);
        for (var run = 0; run < 500; run++)
        {
            var bytes = new byte[random.Next(0, 40)];
            random.NextBytes(bytes);
            try
            {
                V8InliningReader.PositionAt(bytes, random.Next(0, 1000));
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    private static byte[] Encode(params (long Code, long Position, bool Statement)[] entries)
    {
        var bytes = new List<byte>();
        long code = 0, position = 0;
        foreach (var (c, p, statement) in entries)
        {
            var delta = c - code;
            Vlq(bytes, statement ? delta : -delta - 1);
            Vlq(bytes, p - position);
            code = c;
            position = p;
        }

        return [.. bytes];
    }

    private static void Vlq(List<byte> bytes, long value)
    {
        var v = (ulong)((value << 1) ^ (value >> 63));
        do
        {
            var b = (byte)(v & 0x7f);
            v >>= 7;
            bytes.Add(v != 0 ? (byte)(b | 0x80) : b);
        }
        while (v != 0);
    }
}
