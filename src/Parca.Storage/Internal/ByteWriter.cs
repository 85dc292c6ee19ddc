using System.Buffers.Binary;
using System.Text;
using VarintCodec = Parca.Pprof.Protobuf.Varint;

namespace Parca.Storage.Internal;

/// <summary>A growable little-endian buffer with LEB128 varints, used by the block encoder.</summary>
internal sealed class ByteWriter
{
    private byte[] _buf;
    private int _pos;

    public ByteWriter(int capacity = 256) => _buf = new byte[Math.Max(capacity, 16)];

    public int Length => _pos;

    public ReadOnlySpan<byte> Written => _buf.AsSpan(0, _pos);

    /// <summary>The bytes written so far, writable (e.g. to fill a header reserved with <see cref="Skip"/>).</summary>
    public Span<byte> WrittenMutable => _buf.AsSpan(0, _pos);

    public void Clear() => _pos = 0;

    /// <summary>Reserves <paramref name="count"/> bytes (left as they are) to be filled in later.</summary>
    public void Skip(int count)
    {
        Ensure(count);
        _pos += count;
    }

    private void Ensure(int more)
    {
        if (_pos + more > _buf.Length)
        {
            Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _pos + more));
        }
    }

    public void UVarint(ulong v)
    {
        Ensure(10);
        _pos += VarintCodec.Write(_buf.AsSpan(_pos), v);
    }

    public void Varint(long v) => UVarint((ulong)((v << 1) ^ (v >> 63)));

    public void U32(uint v)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(_pos), v);
        _pos += 4;
    }

    public void U64(ulong v)
    {
        Ensure(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buf.AsSpan(_pos), v);
        _pos += 8;
    }

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buf.AsSpan(_pos));
        _pos += bytes.Length;
    }

    public void String(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        UVarint((ulong)n);
        Ensure(n);
        Encoding.UTF8.GetBytes(s, _buf.AsSpan(_pos));
        _pos += n;
    }

    public byte[] ToArray() => _buf.AsSpan(0, _pos).ToArray();
}
