using System.Buffers;
using Google.Protobuf;

namespace Parca.Rpc.Server;

/// <summary>
/// A unary response already in protobuf's binary wire form (see
/// <see cref="RpcServiceBuilder.MapUnaryEncoded{TRequest, TResponse}"/>): gRPC, gRPC-Web and Connect proto callers
/// get these bytes as they are; JSON callers (Connect JSON, REST) get them parsed into a <typeparamref name="TMessage"/>
/// by the generated parser and formatted as usual, so the encoder only has to be right about the binary form.
/// A handler that encodes only some of its answers returns the others as messages (<see cref="Of"/>): gRPC writes
/// those with the generated serializer, as a plain unary method would, with no extra copy.
/// Disposing returns a pooled buffer; the RPC layer disposes it once the response is written.
/// </summary>
public sealed class EncodedMessage<TMessage> : IDisposable
    where TMessage : class, IMessage<TMessage>, new()
{
    private readonly int _length;
    private readonly bool _pooled;
    private byte[]? _buffer;

    /// <param name="buffer">Holds the message in its first <paramref name="length"/> bytes.</param>
    /// <param name="length">The message's size in bytes.</param>
    /// <param name="pooled">Return <paramref name="buffer"/> to <see cref="ArrayPool{T}.Shared"/> on dispose.</param>
    public EncodedMessage(byte[] buffer, int length, bool pooled)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length);
        _buffer = buffer;
        _length = length;
        _pooled = pooled;
    }

    private EncodedMessage(TMessage message)
    {
        Message = message;
        _buffer = [];
    }

    /// <summary>A response given as a message, not encoded (null for encoded ones).</summary>
    public TMessage? Message { get; }

    /// <summary>An answer that is a message after all: written by the generated serializer.</summary>
    public static EncodedMessage<TMessage> Of(TMessage message) => new(message);

    /// <summary>The encoded bytes (a message answer is serialized on each call).</summary>
    public ReadOnlyMemory<byte> Bytes
    {
        get
        {
            var buffer = _buffer ?? throw new ObjectDisposedException(nameof(EncodedMessage<TMessage>));
            return Message is null ? buffer.AsMemory(0, _length) : Message.ToByteArray();
        }
    }

    /// <summary>The message these bytes encode (parsed on each call; the message itself when given one).</summary>
    public TMessage ToMessage()
    {
        if (Message is not null)
        {
            return Message;
        }

        var message = new TMessage();
        message.MergeFrom(Bytes.Span);
        return message;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = null;
        if (_pooled && buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
