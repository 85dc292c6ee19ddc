using System.Buffers;

namespace Parca.Query.Arrow;

/// <summary>
/// A growable byte buffer rented from <see cref="ArrayPool{T}"/>: the Arrow writer's messages and bodies reach tens
/// of megabytes, and MemoryStream would allocate (and zero) every doubling step of each one anew.
/// </summary>
internal sealed class PooledStream : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _length;

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public void Clear() => _length = 0;

    public void Write(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Append(bytes.Length));

    public void Zeros(int count) => Append(count);

    /// <summary>Extends the written part by <paramref name="count"/> zeroed bytes and returns them.</summary>
    public Span<byte> Append(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(_length + count, _buffer.Length * 2));
            _buffer.AsSpan(0, _length).CopyTo(next);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = next;
        }

        var span = _buffer.AsSpan(_length, count);
        span.Clear();
        _length += count;
        return span;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
