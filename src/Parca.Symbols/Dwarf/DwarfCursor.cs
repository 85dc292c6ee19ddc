using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Parca.Symbols.Dwarf;

/// <summary>
/// A forward reader over one DWARF section. Every read is bounds-checked and throws <see cref="DwarfException"/>
/// on truncation, so corrupt input ends one parse with a reason instead of reading garbage or crashing.
/// </summary>
internal ref struct DwarfCursor
{
    private readonly ReadOnlySpan<byte> _data;

    public DwarfCursor(ReadOnlySpan<byte> data, int position = 0)
    {
        _data = data;
        Position = position;
    }

    public int Position { get; set; }

    public readonly int Length => _data.Length;

    public readonly bool AtEnd => Position >= _data.Length;

    public byte U8() => Take(1)[0];

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U24()
    {
        var s = Take(3);
        return s[0] | ((uint)s[1] << 8) | ((uint)s[2] << 16);
    }

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>An offset of the unit's format: 4 bytes (32-bit DWARF) or 8 (64-bit DWARF).</summary>
    public ulong Offset(int size) => size == 8 ? U64() : U32();

    /// <summary>An address of <paramref name="size"/> bytes (1, 2, 4 or 8).</summary>
    public ulong Address(int size) => size switch
    {
        8 => U64(),
        4 => U32(),
        2 => U16(),
        1 => U8(),
        _ => Fail<ulong>($"unsupported address size {size}"),
    };

    public ulong Uleb()
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            var b = U8();
            if (shift < 64)
            {
                result |= (ulong)(b & 0x7f) << shift;
            }

            if ((b & 0x80) == 0)
            {
                return result;
            }

            shift += 7;
            if (shift > 70)
            {
                Fail<ulong>("LEB128 value longer than 10 bytes");
            }
        }
    }

    public long Sleb()
    {
        long result = 0;
        var shift = 0;
        byte b;
        do
        {
            b = U8();
            if (shift < 64)
            {
                result |= (long)(b & 0x7f) << shift;
            }

            shift += 7;
            if (shift > 70)
            {
                Fail<long>("LEB128 value longer than 10 bytes");
            }
        }
        while ((b & 0x80) != 0);

        if (shift < 64 && (b & 0x40) != 0)
        {
            result |= -1L << shift;
        }

        return result;
    }

    /// <summary>A NUL-terminated string's bytes (without the NUL).</summary>
    public ReadOnlySpan<byte> CString()
    {
        var rest = _data[Math.Min(Position, _data.Length)..];
        var end = rest.IndexOf((byte)0);
        if (end < 0)
        {
            Fail<int>("unterminated string");
        }

        Position += end + 1;
        return rest[..end];
    }

    public void Skip(ulong count)
    {
        if (count > (ulong)(_data.Length - Position))
        {
            Fail<int>($"skip of {count} bytes past the end");
        }

        Position += (int)count;
    }

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || Position > _data.Length - count)
        {
            Fail<int>($"read of {count} bytes at {Position} past the end ({_data.Length} bytes)");
        }

        var s = _data.Slice(Position, count);
        Position += count;
        return s;
    }

    /// <summary>Reads an initial length; returns the offset size (4 or 8) and the unit's length.</summary>
    public (int OffsetSize, ulong Length) InitialLength()
    {
        var l = U32();
        if (l == 0xffffffff)
        {
            return (8, U64());
        }

        if (l >= 0xfffffff0)
        {
            Fail<int>($"reserved initial length 0x{l:x8}");
        }

        return (4, l);
    }

    [DoesNotReturn]
    public static T Fail<T>(string message) => throw new DwarfException(message);
}

/// <summary>Corrupt or unsupported DWARF; the message says what and where.</summary>
public sealed class DwarfException(string message) : Exception(message);
