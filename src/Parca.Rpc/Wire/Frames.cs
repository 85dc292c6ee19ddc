using System.Buffers;
using System.IO.Compression;
using Google.Protobuf;

namespace Parca.Rpc.Wire;

/// <summary>
/// Message bodies of the Connect protocol (binary unary requests), the one protocol we serve without a library:
/// gRPC and gRPC-Web framing belong to Grpc.AspNetCore and Grpc.Net.Client.
/// </summary>
internal static class Frames
{
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

/// <summary>gzip request bodies (Connect <c>content-encoding: gzip</c>) with a bound on the inflated size.</summary>
internal static class Gzip
{
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
