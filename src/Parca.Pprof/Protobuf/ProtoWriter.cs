// Hand-written protobuf wire writer over a pooled buffer (see ProtoReader for why not Google.Protobuf).
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Parca.Pprof.Protobuf;

/// <summary>Appends protobuf wire format to a buffer rented from <see cref="ArrayPool{T}.Shared"/>.</summary>
internal sealed class ProtoWriter : IDisposable
{
    private byte[] _buffer;
    private int _position;

    public ProtoWriter(int initialCapacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    public int Length => _position;

    /// <summary>Empties the writer, keeping its buffer (scratch writers for nested messages).</summary>
    public void Clear() => _position = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(ulong value) => Varint.Size(value);

    /// <summary>Size of a tag plus varint value, or 0 when the value is the default (omitted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FieldSize(int field, ulong value) => value == 0 ? 0 : VarintSize((ulong)field << 3) + VarintSize(value);

    /// <summary>Size of a tag, length prefix and <paramref name="length"/> payload bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DelimitedSize(int field, int length) => VarintSize((ulong)field << 3) + VarintSize((ulong)length) + length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarint(ulong value)
    {
        if (_buffer.Length - _position < 10)
        {
            Grow(10);
        }

        _position += Varint.Write(_buffer.AsSpan(_position), value);
    }

    /// <summary>Writes a varint field unless it is zero (proto3 default).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteField(int field, ulong value)
    {
        if (value != 0)
        {
            WriteVarint((ulong)field << 3);
            WriteVarint(value);
        }
    }

    /// <summary>Writes the tag and length of a nested message whose body follows.</summary>
    public void WriteDelimitedHeader(int field, int length)
    {
        WriteVarint(((ulong)field << 3) | 2);
        WriteVarint((ulong)length);
    }

    public void WriteString(int field, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteDelimitedHeader(field, length);
        if (_buffer.Length - _position < length)
        {
            Grow(length);
        }

        _position += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position));
    }

    /// <summary>Writes a nested message built in <paramref name="nested"/> (tag, length, body).</summary>
    public void WriteMessage(int field, ProtoWriter nested)
    {
        WriteDelimitedHeader(field, nested.Length);
        WriteRaw(nested.WrittenSpan);
    }

    /// <summary>Writes a packed repeated varint field (omitted when empty), encoding into <paramref name="scratch"/> first.</summary>
    public void WritePacked(int field, ReadOnlySpan<ulong> values, ProtoWriter scratch)
    {
        if (values.IsEmpty)
        {
            return;
        }

        scratch.Clear();
        foreach (var v in values)
        {
            scratch.WriteVarint(v);
        }

        WriteMessage(field, scratch);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        if (_buffer.Length - _position < bytes.Length)
        {
            Grow(bytes.Length);
        }

        bytes.CopyTo(_buffer.AsSpan(_position));
        _position += bytes.Length;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void Grow(int needed)
    {
        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _position + needed));
        _buffer.AsSpan(0, _position).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }
}
