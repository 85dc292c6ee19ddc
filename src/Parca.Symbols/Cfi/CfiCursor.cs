using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Parca.Symbols.Cfi;

/// <summary>
/// A bounds-checked reader over a CFI section (.eh_frame or .debug_frame): LEB128, fixed-size integers and the
/// DW_EH_PE pointer encodings. Reading past the end throws <see cref="InvalidDataException"/> naming the offset.
/// </summary>
internal ref struct CfiCursor
{
    private readonly ReadOnlySpan<byte> _data;

    public CfiCursor(ReadOnlySpan<byte> data, int position, ulong sectionAddress)
    {
        _data = data;
        Position = position;
        SectionAddress = sectionAddress;
    }

    public int Position { get; set; }

    /// <summary>The section's virtual address: the base of pc-relative pointers.</summary>
    public ulong SectionAddress { get; }

    public readonly int Length => _data.Length;

    public readonly bool AtEnd => Position >= _data.Length;

    public byte U8()
    {
        Need(1);
        return _data[Position++];
    }

    public ushort U16()
    {
        Need(2);
        var v = BinaryPrimitives.ReadUInt16LittleEndian(_data[Position..]);
        Position += 2;
        return v;
    }

    public uint U32()
    {
        Need(4);
        var v = BinaryPrimitives.ReadUInt32LittleEndian(_data[Position..]);
        Position += 4;
        return v;
    }

    public ulong U64()
    {
        Need(8);
        var v = BinaryPrimitives.ReadUInt64LittleEndian(_data[Position..]);
        Position += 8;
        return v;
    }

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

            shift += 7;
            if ((b & 0x80) == 0)
            {
                return result;
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
        }
        while ((b & 0x80) != 0);

        if (shift < 64 && (b & 0x40) != 0)
        {
            result |= -1L << shift;
        }

        return result;
    }

    /// <summary>A NUL-terminated string (the CIE augmentation).</summary>
    public ReadOnlySpan<byte> CString()
    {
        var rest = _data[Math.Min(Position, _data.Length)..];
        var end = rest.IndexOf((byte)0);
        if (end < 0)
        {
            Throw("unterminated string");
        }

        Position += end + 1;
        return rest[..end];
    }

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (count < 0)
        {
            Throw("negative length");
        }

        Need(count);
        var v = _data.Slice(Position, count);
        Position += count;
        return v;
    }

    /// <summary>Reads a pointer in DW_EH_PE <paramref name="encoding"/>; pc-relative ones are made absolute.</summary>
    public ulong Pointer(byte encoding)
    {
        if (encoding == 0xff)
        {
            return 0; // DW_EH_PE_omit
        }

        var at = SectionAddress + (ulong)Position;
        ulong value = (encoding & 0x0f) switch
        {
            0x00 => U64(),
            0x01 => Uleb(),
            0x02 => U16(),
            0x03 => U32(),
            0x04 => U64(),
            0x09 => (ulong)Sleb(),
            0x0a => (ulong)(long)(short)U16(),
            0x0b => (ulong)(long)(int)U32(),
            0x0c => U64(),
            _ => ThrowPointer(encoding),
        };
        if (value == 0 && (encoding & 0x70) != 0x10)
        {
            return 0;
        }

        return (encoding & 0x70) switch
        {
            0x00 => value,
            0x10 => at + value, // DW_EH_PE_pcrel
            0x30 => value,      // datarel: only in .eh_frame_hdr, whose caller adds the base
            _ => ThrowPointer(encoding),
        };
    }

    /// <summary>Skips a value of the size of <paramref name="encoding"/> (for the LSDA pointer).</summary>
    public void SkipPointer(byte encoding) => _ = encoding == 0xff ? 0 : Pointer((byte)(encoding & 0x0f));

    private readonly void Need(int count)
    {
        if (Position < 0 || count > _data.Length - Position)
        {
            Throw($"truncated: {count} bytes needed at offset 0x{Position:x} of 0x{_data.Length:x}");
        }
    }

    [DoesNotReturn]
    public readonly void Throw(string what) => throw new InvalidDataException($"{what} (section offset 0x{Position:x})");

    [DoesNotReturn]
    private readonly ulong ThrowPointer(byte encoding) => throw new InvalidDataException($"unsupported pointer encoding 0x{encoding:x2} (section offset 0x{Position:x})");
}
