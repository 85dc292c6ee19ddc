using System.Buffers;
using Google.Protobuf;

namespace Parca.Rpc.Server;

/// <summary>
/// A unary response already in protobuf's binary wire form (see
/// <see cref="RpcServiceBuilder.MapUnaryEncoded{TRequest, TResponse}"/>): gRPC, gRPC-Web and Connect proto callers
/// get these bytes as they are; JSON callers (Connect JSON, REST) get them parsed into a <typeparamref name="TMessage"/>
/// by the generated parser and formatted as usual, so the encoder only has to be right about the binary form.
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

    public ReadOnlyMemory<byte> Bytes => (_buffer ?? throw new ObjectDisposedException(nameof(EncodedMessage<TMessage>))).AsMemory(0, _length);

    /// <summary>The message these bytes encode (parsed on each call).</summary>
    public TMessage ToMessage()
    {
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
