using System.Buffers.Binary;
using System.Numerics;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>
/// An iseq's instruction → line map: the first instruction index of each insns_info entry and the entry's line.
/// Ruby keeps the entries' start positions either as an array (insns_info.positions) or, once the iseq is built,
/// only as a succinct bit vector (insns_info.succ_index_table, iseq.c): a 54-position immediate part of 7-bit ranks
/// packed nine to a word, then 512-position blocks (a 32-bit rank, 9-bit ranks of seven 64-bit sub-blocks, the bits),
/// a bit set at each entry's start. Written here because no library reads Ruby's memory; the decoding follows what
/// iseq.c's succ_index_table_invert computes.
/// </summary>
internal sealed class RubyLineTable
{
    private const int MaxEntries = 1 << 16;
    private const int MaxInstructions = 1 << 20;
    private const int ImmediateSize = 54; // IMMEDIATE_TABLE_SIZE
    private const int ImmediateBytes = ImmediateSize / 9 * 8;
    private const int BlockBytes = 80;    // struct succ_dict_block: rank (4 + 4 padding), small_block_ranks, bits[8]
    private const int BlockBitsOffset = 16;

    private static readonly RubyLineTable s_empty = new([], []);

    private readonly int[] _starts;
    private readonly int[] _lines;

    private RubyLineTable(int[] starts, int[] lines)
    {
        _starts = starts;
        _lines = lines;
    }

    public int Bytes => 8 * _starts.Length;

    /// <summary>The line of the instruction at <paramref name="position"/>, or null without a table.</summary>
    public int? LineAt(int position)
    {
        var i = Array.BinarySearch(_starts, position);
        i = i >= 0 ? i : ~i - 1;
        return i >= 0 && i < _lines.Length ? _lines[i] : null;
    }

    /// <summary>Reads the table of the iseq whose body bytes are <paramref name="body"/>; empty when it cannot be read.</summary>
    public static RubyLineTable Read(int pid, RubyLayout l, ReadOnlySpan<byte> body, uint iseqSize)
    {
        var size = BinaryPrimitives.ReadUInt32LittleEndian(body[l.BodyInsnsInfoSize..]);
        var entries = BinaryPrimitives.ReadUInt64LittleEndian(body[l.BodyInsnsInfoBody..]);
        if (size is 0 or > MaxEntries || iseqSize > MaxInstructions || entries == 0)
        {
            return s_empty;
        }

        var raw = new byte[size * l.InsnInfoSize];
        if (!Libc.ReadProcessMemory(pid, entries, raw))
        {
            return s_empty;
        }

        var lines = new int[size];
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan((i * l.InsnInfoSize) + l.InsnInfoLine));
        }

        var starts = Starts(pid, l, body, (int)size, (int)iseqSize);
        return starts is null || starts.Length != lines.Length ? s_empty : new RubyLineTable(starts, lines);
    }

    private static int[]? Starts(int pid, RubyLayout l, ReadOnlySpan<byte> body, int size, int iseqSize)
    {
        if (size == 1)
        {
            return [0];
        }

        var positions = BinaryPrimitives.ReadUInt64LittleEndian(body[l.BodyInsnsInfoPositions..]);
        if (positions != 0)
        {
            var bytes = new byte[size * 4];
            if (!Libc.ReadProcessMemory(pid, positions, bytes))
            {
                return null;
            }

            var starts = new int[size];
            for (var i = 0; i < size; i++)
            {
                starts[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
            }

            return starts;
        }

        var succinct = BinaryPrimitives.ReadUInt64LittleEndian(body[l.BodyInsnsInfoSuccinct..]);
        return succinct == 0 ? null : ReadSuccinct(pid, succinct, size, iseqSize);
    }

    /// <summary>The set positions of the succinct index of an iseq of <paramref name="maxPosition"/> instructions.</summary>
    private static int[]? ReadSuccinct(int pid, ulong table, int size, int maxPosition)
    {
        var immediateWords = (maxPosition < ImmediateSize ? maxPosition + 8 : ImmediateSize) / 9;
        var blocks = maxPosition < ImmediateSize ? 0 : (maxPosition - ImmediateSize + 511) / 512;
        var bytes = new byte[blocks == 0 ? immediateWords * 8 : ImmediateBytes + (blocks * BlockBytes)];
        return Libc.ReadProcessMemory(pid, table, bytes) ? Invert(bytes, size, immediateWords, blocks) : null;
    }

    /// <summary>Decodes a succinct index read into <paramref name="table"/> (see the class comment).</summary>
    internal static int[] Invert(ReadOnlySpan<byte> table, int size, int immediateWords, int blocks)
    {
        var starts = new List<int>(size);
        var rank = -1;
        for (var word = 0; word < immediateWords; word++)
        {
            var ranks = BinaryPrimitives.ReadUInt64LittleEndian(table[(word * 8)..]);
            for (var i = 0; i < 9; i++)
            {
                var next = (int)(ranks >> (i * 7)) & 0x7f;
                if (next != rank && starts.Count < size)
                {
                    starts.Add((word * 9) + i);
                }

                rank = next;
            }
        }

        for (var block = 0; block < blocks; block++)
        {
            for (var word = 0; word < 8; word++)
            {
                var bits = BinaryPrimitives.ReadUInt64LittleEndian(table[(ImmediateBytes + (block * BlockBytes) + BlockBitsOffset + (word * 8))..]);
                while (bits != 0 && starts.Count < size)
                {
                    var bit = BitOperations.TrailingZeroCount(bits);
                    starts.Add((block * 512) + (word * 64) + bit + ImmediateSize);
                    bits &= bits - 1;
                }
            }
        }

        return [.. starts];
    }
}
