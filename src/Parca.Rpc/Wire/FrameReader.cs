using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Parca.Rpc.Wire;

/// <summary>
/// Reads length-prefixed gRPC messages from a pipe. The size limit is checked on the 5-byte header, before any
/// of the message is buffered, so an oversized message costs nothing. Messages larger than what the pipe has
/// buffered are copied out into a pooled array so the transport's flow-control window keeps moving.
/// </summary>
internal sealed class FrameReader
{
    private readonly PipeReader _reader;
    private readonly int _maxSize;
    private readonly bool _gzip;
    private readonly bool _allowTrailers;

    public FrameReader(PipeReader reader, int maxSize, bool gzip, bool allowTrailers = false)
    {
        _reader = reader;
        _maxSize = maxSize;
        _gzip = gzip;
        _allowTrailers = allowTrailers;
    }

    /// <summary>Raw gRPC-Web trailer block, when the peer sent one (client side of gRPC-Web).</summary>
    public ReadOnlyMemory<byte> Trailers { get; private set; }

    /// <summary>The next message, or null at a clean end of stream.</summary>
    public async ValueTask<T?> ReadAsync<T>(CancellationToken cancellationToken)
        where T : class, IMessage<T>, new()
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= Frames.HeaderSize)
            {
                var (flags, length) = ReadHeader(buffer);
                if (buffer.Length >= Frames.HeaderSize + length)
                {
                    var payload = buffer.Slice(Frames.HeaderSize, length);
                    try
                    {
                        if ((flags & Frames.TrailerFlag) != 0)
                        {
                            Trailers = payload.ToArray();
                            continue;
                        }

                        return Decode<T>(payload, flags);
                    }
                    finally
                    {
                        _reader.AdvanceTo(buffer.GetPosition(Frames.HeaderSize + length));
                    }
                }

                if (result.IsCompleted)
                {
                    _reader.AdvanceTo(buffer.Start, buffer.End);
                    throw Truncated(length, buffer.Length - Frames.HeaderSize);
                }

                // Not all there yet: move it into our own buffer and release the pipe's.
                return await ReadLargeAsync<T>(buffer, flags, length, cancellationToken).ConfigureAwait(false);
            }

            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                if (buffer.Length == 0)
                {
                    return null;
                }

                throw new RpcException(StatusCode.Internal, $"truncated gRPC frame: stream ended after {buffer.Length} of the 5 header bytes");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// The next message parsed by <paramref name="parse"/> from a pooled copy of the frame, so its <c>bytes</c>
    /// fields can alias the frame instead of being copied again. The caller returns <c>Rented</c> to
    /// <see cref="ArrayPool{T}.Shared"/> once nothing uses the message's bytes any more (null when nothing is
    /// borrowed: end of stream, a compressed frame, whose inflated buffer is the GC's, or a fallback parse).
    /// </summary>
    public async ValueTask<(T? Message, byte[]? Rented)> ReadBorrowedAsync<T>(Server.BorrowingParser<T> parse, CancellationToken cancellationToken)
        where T : class, IMessage<T>, new()
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length < Frames.HeaderSize)
            {
                if (result.IsCompleted)
                {
                    _reader.AdvanceTo(buffer.End);
                    if (buffer.Length == 0)
                    {
                        return (null, null);
                    }

                    throw new RpcException(StatusCode.Internal, $"truncated gRPC frame: stream ended after {buffer.Length} of the 5 header bytes");
                }

                _reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var (flags, length) = ReadHeader(buffer);
            var array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            var keep = false;
            try
            {
                var have = (int)Math.Min(buffer.Length - Frames.HeaderSize, length);
                buffer.Slice(Frames.HeaderSize, have).CopyTo(array);
                _reader.AdvanceTo(buffer.GetPosition(Frames.HeaderSize + have));
                while (have < length)
                {
                    if (result.IsCompleted)
                    {
                        throw Truncated(length, have);
                    }

                    result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var chunk = result.Buffer;
                    var take = (int)Math.Min(chunk.Length, length - have);
                    chunk.Slice(0, take).CopyTo(array.AsSpan(have));
                    have += take;
                    _reader.AdvanceTo(chunk.GetPosition(take));
                }

                var payload = array.AsMemory(0, length);
                if ((flags & Frames.TrailerFlag) != 0)
                {
                    Trailers = payload.ToArray();
                    continue;
                }

                if ((flags & Frames.CompressedFlag) != 0)
                {
                    var inflated = Gzip.Decompress(new ReadOnlySequence<byte>(payload), _maxSize);
                    return (parse(inflated.First) ?? Frames.Parse<T>(inflated), null);
                }

                if (parse(payload) is { } message)
                {
                    keep = true;
                    return (message, array);
                }

                return (Frames.Parse<T>(new ReadOnlySequence<byte>(payload)), null);
            }
            finally
            {
                if (!keep)
                {
                    ArrayPool<byte>.Shared.Return(array);
                }
            }
        }
    }

    private async ValueTask<T?> ReadLargeAsync<T>(ReadOnlySequence<byte> buffer, byte flags, int length, CancellationToken cancellationToken)
        where T : class, IMessage<T>, new()
    {
        var array = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var have = (int)(buffer.Length - Frames.HeaderSize);
            buffer.Slice(Frames.HeaderSize).CopyTo(array);
            _reader.AdvanceTo(buffer.End);
            while (have < length)
            {
                var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var chunk = result.Buffer;
                var take = (int)Math.Min(chunk.Length, length - have);
                chunk.Slice(0, take).CopyTo(array.AsSpan(have));
                have += take;
                _reader.AdvanceTo(chunk.GetPosition(take));
                if (have < length && result.IsCompleted)
                {
                    throw Truncated(length, have);
                }
            }

            var payload = new ReadOnlySequence<byte>(array, 0, length);
            if ((flags & Frames.TrailerFlag) != 0)
            {
                Trailers = payload.ToArray();
                return await ReadAsync<T>(cancellationToken).ConfigureAwait(false);
            }

            return Decode<T>(payload, flags);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private (byte Flags, int Length) ReadHeader(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[Frames.HeaderSize];
        buffer.Slice(0, Frames.HeaderSize).CopyTo(header);
        var flags = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (flags > Frames.CompressedFlag && !(_allowTrailers && flags is Frames.TrailerFlag or (Frames.TrailerFlag | Frames.CompressedFlag)))
        {
            throw new RpcException(StatusCode.Internal, $"invalid gRPC frame flags 0x{flags:x2} (expected 0 or 1)");
        }

        if ((flags & Frames.CompressedFlag) != 0 && !_gzip && (flags & Frames.TrailerFlag) == 0)
        {
            throw new RpcException(StatusCode.Internal, "gRPC frame has the compressed flag set but the request declares no grpc-encoding");
        }

        if (length > (uint)_maxSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"received message larger than max ({length} vs. {_maxSize})");
        }

        return (flags, (int)length);
    }

    private T Decode<T>(ReadOnlySequence<byte> payload, byte flags)
        where T : class, IMessage<T>, new()
    {
        if ((flags & Frames.CompressedFlag) != 0)
        {
            payload = Gzip.Decompress(payload, _maxSize);
        }

        return Frames.Parse<T>(payload);
    }

    private static RpcException Truncated(long expected, long got) =>
        new(StatusCode.Internal, $"truncated gRPC message: frame declares {expected} bytes but the stream ended after {got}");
}
