using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;

namespace Parca.Rpc.Wire;

/// <summary>
/// gRPC length-prefixed messages: 1 flag byte (bit 0 = compressed; 0x80 = gRPC-Web trailers), a 4-byte big-endian
/// length, then the message. Shared by the server and the client.
/// </summary>
internal static class Frames
{
    public const int HeaderSize = 5;
    public const byte CompressedFlag = 0x01;
    public const byte TrailerFlag = 0x80;

    /// <summary>Writes one message as a frame, gzip-compressed when <paramref name="gzip"/> is set.</summary>
    public static void Write(IBufferWriter<byte> output, IMessage message, bool gzip, int maxSize)
    {
        var size = message.CalculateSize();
        if (size > maxSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"message of {size} bytes exceeds the maximum of {maxSize} bytes");
        }

        if (!gzip)
        {
            var header = output.GetSpan(HeaderSize);
            header[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
            output.Advance(HeaderSize);
            if (size > 0)
            {
                message.WriteTo(output);
            }

            return;
        }

        var raw = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            message.WriteTo(raw.AsSpan(0, size));
            var compressed = Gzip.Compress(raw.AsSpan(0, size));
            var header = output.GetSpan(HeaderSize);
            header[0] = CompressedFlag;
            BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)compressed.Length);
            output.Advance(HeaderSize);
            output.Write(compressed);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Writes an already-encoded message as a frame (see <see cref="Write"/>).</summary>
    public static void WriteEncoded(IBufferWriter<byte> output, ReadOnlySpan<byte> message, bool gzip, int maxSize)
    {
        if (message.Length > maxSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"message of {message.Length} bytes exceeds the maximum of {maxSize} bytes");
        }

        var payload = gzip ? Gzip.Compress(message) : message;
        var header = output.GetSpan(HeaderSize);
        header[0] = gzip ? CompressedFlag : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)payload.Length);
        output.Advance(HeaderSize);
        output.Write(payload);
    }

    public static void WriteHeader(Span<byte> header, byte flags, int length)
    {
        header[0] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)length);
    }

    /// <summary>Parses a message from its (already decompressed) bytes; a protobuf error becomes INVALID_ARGUMENT.</summary>
    public static T Parse<T>(ReadOnlySequence<byte> data)
        where T : class, IMessage<T>, new()
    {
        var message = new T();
        try
        {
            message.MergeFrom(data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"message is not a valid {message.Descriptor.FullName}: {ex.Message}");
        }

        return message;
    }
}

/// <summary>gzip for message compression (grpc-encoding: gzip) with a bound on the inflated size.</summary>
internal static class Gzip
{
    public static byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream(data.Length / 2 + 64);
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    /// <summary>Inflates; more than <paramref name="maxSize"/> bytes is RESOURCE_EXHAUSTED, corrupt data INTERNAL.</summary>
    public static ReadOnlySequence<byte> Decompress(ReadOnlySequence<byte> data, int maxSize)
    {
        var input = data.IsSingleSegment ? new MemoryStream(data.First.ToArray()) : new MemoryStream(data.ToArray());
        using var gz = new GZipStream(input, CompressionMode.Decompress);
        var output = new ArrayBufferWriter<byte>(Math.Max(256, (int)Math.Min(data.Length * 4, maxSize)));
        try
        {
            while (true)
            {
                var span = output.GetSpan(16 * 1024);
                var n = gz.Read(span);
                if (n == 0)
                {
                    break;
                }

                output.Advance(n);
                if (output.WrittenCount > maxSize)
                {
                    throw new RpcException(StatusCode.ResourceExhausted, $"decompressed message exceeds the maximum of {maxSize} bytes");
                }
            }
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(StatusCode.Internal, $"message is not valid gzip: {ex.Message}");
        }

        return new ReadOnlySequence<byte>(output.WrittenMemory);
    }
}
