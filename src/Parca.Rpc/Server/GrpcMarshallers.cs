using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Parca.Rpc.Server;

/// <summary>
/// Marshallers for Grpc.AspNetCore: protobuf messages written straight into its buffer writer, parse errors as
/// INVALID_ARGUMENT (with what was wrong), and the two measured fast paths: requests parsed without copying their
/// <c>bytes</c> fields (<see cref="Borrowing{T}"/>) and responses that are already encoded (<see cref="Encoded{T}"/>).
/// </summary>
internal static class GrpcMarshallers
{
    public static Marshaller<T> Message<T>()
        where T : class, IMessage<T>, new() => MessageMarshaller<T>.Instance;

    /// <summary>
    /// Copies the payload once into a pooled buffer and lets <paramref name="parser"/> alias it; shapes the parser
    /// declines are parsed by the generated parser (same results and errors as <see cref="Message{T}"/>).
    /// </summary>
    public static Marshaller<BorrowedRequest<T>> Borrowing<T>(BorrowingParser<T> parser)
        where T : class, IMessage<T>, new() => new(
            static (_, _) => throw new NotSupportedException("borrowed requests are only received"),
            context =>
            {
                var payload = context.PayloadAsReadOnlySequence();
                var length = checked((int)payload.Length);
                var rented = ArrayPool<byte>.Shared.Rent(length);
                payload.CopyTo(rented);
                var data = rented.AsMemory(0, length);
                T? message;
                try
                {
                    message = parser(data);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(rented);
                    throw;
                }

                if (message is not null)
                {
                    return new BorrowedRequest<T>(message, rented);
                }

                try
                {
                    return new BorrowedRequest<T>(Parse<T>(new ReadOnlySequence<byte>(data)), null);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            });

    /// <summary>Writes the encoded bytes as they are and returns their pooled buffer (a message answer: serialized as usual).</summary>
    public static Marshaller<EncodedMessage<T>> Encoded<T>()
        where T : class, IMessage<T>, new() => new(
            static (message, context) =>
            {
                using (message)
                {
                    if (message.Message is { } plain)
                    {
                        context.SetPayloadLength(plain.CalculateSize());
                        plain.WriteTo(context.GetBufferWriter());
                        context.Complete();
                        return;
                    }

                    var bytes = message.Bytes.Span;
                    context.SetPayloadLength(bytes.Length);
                    var writer = context.GetBufferWriter();
                    writer.Write(bytes);
                    context.Complete();
                }
            },
            static _ => throw new NotSupportedException("encoded messages are only sent"));

    internal static T Parse<T>(ReadOnlySequence<byte> data)
        where T : class, IMessage<T>, new()
    {
        var message = new T();
        try
        {
            message.MergeFrom(data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GrpcRpcException(new Status(Grpc.Core.StatusCode.InvalidArgument, $"message is not a valid {message.Descriptor.FullName}: {ex.Message}"));
        }

        return message;
    }

    private static class MessageMarshaller<T>
        where T : class, IMessage<T>, new()
    {
        public static readonly Marshaller<T> Instance = new(
            static (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            static context => Parse<T>(context.PayloadAsReadOnlySequence()));
    }
}

/// <summary>A request whose <c>bytes</c> fields may alias <see cref="Rented"/>; disposing returns it to the pool.</summary>
internal sealed class BorrowedRequest<T>(T message, byte[]? rented) : IDisposable
    where T : class
{
    private byte[]? _rented = rented;

    public T Message { get; } = message;

    public byte[]? Rented => _rented;

    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref _rented, null);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
