using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using VarintCodec = Parca.Pprof.Protobuf.Varint;

namespace Parca.Storage.Internal;

/// <summary>Reads what <see cref="ByteWriter"/> wrote; throws <see cref="InvalidDataException"/> on truncation.</summary>
internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ByteReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly bool End => _pos >= _data.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong UVarint()
    {
        if ((uint)_pos < (uint)_data.Length)
        {
            var b = _data[_pos];
            if (b < 0x80)
            {
                _pos++;
                return b;
            }
        }

        return UVarintSlow();
    }

    private ulong UVarintSlow()
    {
        if (!VarintCodec.TryRead(_data, ref _pos, out var value))
        {
            ThrowCorrupt();
        }

        return value;
    }

    public long Varint()
    {
        var u = UVarint();
        return (long)(u >> 1) ^ -(long)(u & 1);
    }

    public int Int() => checked((int)UVarint());

    /// <summary>
    /// An element count: each element takes at least one more byte, so a count beyond the bytes left is corrupt
    /// (checked before the caller allocates an array of that size).
    /// </summary>
    public int Count()
    {
        var n = UVarint();
        if (n > (ulong)(_data.Length - _pos))
        {
            ThrowCorrupt();
        }

        return (int)n;
    }

    public uint U32()
    {
        if (_pos + 4 > _data.Length)
        {
            ThrowCorrupt();
        }

        var v = BinaryPrimitives.ReadUInt32LittleEndian(_data[_pos..]);
        _pos += 4;
        return v;
    }

    public ulong U64()
    {
        if (_pos + 8 > _data.Length)
        {
            ThrowCorrupt();
        }

        var v = BinaryPrimitives.ReadUInt64LittleEndian(_data[_pos..]);
        _pos += 8;
        return v;
    }

    public ReadOnlySpan<byte> Bytes(int n)
    {
        if (n < 0 || _pos + n > _data.Length)
        {
            ThrowCorrupt();
        }

        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public string String() => Encoding.UTF8.GetString(Bytes(Int()));

    [DoesNotReturn]
    private static void ThrowCorrupt() => throw new InvalidDataException("block section is truncated or corrupt");
}
