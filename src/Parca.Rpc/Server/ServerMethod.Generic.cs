using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Parca.Rpc.Server;

/// <summary>A method with its message types and handler; the generic code path means no reflection per call.</summary>
internal sealed partial class ServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly MessageDescriptor s_requestDescriptor = new TRequest().Descriptor;
    private static readonly MessageDescriptor s_responseDescriptor = new TResponse().Descriptor;

    private readonly UnaryHandler<TRequest, TResponse>? _unary;
    private readonly ClientStreamingHandler<TRequest, TResponse>? _clientStreaming;
    private readonly ServerStreamingHandler<TRequest, TResponse>? _serverStreaming;
    private readonly DuplexStreamingHandler<TRequest, TResponse>? _duplex;
    private readonly BorrowingParser<TRequest>? _borrowingParser;
    private readonly EncodedUnaryHandler<TRequest, TResponse>? _encodedUnary;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, UnaryHandler<TRequest, TResponse> handler, BorrowingParser<TRequest>? borrowingParser = null)
        : base(method.Service, method.Name, MethodType.Unary, method.RestRoute)
    {
        _unary = handler;
        _borrowingParser = borrowingParser;
    }

    public ServerMethod(RpcMethod<TRequest, TResponse> method, EncodedUnaryHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.Unary, method.RestRoute) => _encodedUnary = handler;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, ClientStreamingHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.ClientStreaming, null) => _clientStreaming = handler;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, ServerStreamingHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.ServerStreaming, null) => _serverStreaming = handler;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, DuplexStreamingHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.DuplexStreaming, null) => _duplex = handler;

    public override MessageDescriptor RequestDescriptor => s_requestDescriptor;

    public override MessageDescriptor ResponseDescriptor => s_responseDescriptor;

    private async ValueTask<Reply> InvokeUnaryAsync(TRequest request, RpcCallContext context) =>
        _encodedUnary is not null
            ? new Reply(null, await _encodedUnary(request, context).ConfigureAwait(false))
            : new Reply(await _unary!(request, context).ConfigureAwait(false), null);

    /// <summary>A unary handler's answer: a message, or its encoded form (JSON callers get it parsed).</summary>
    private readonly record struct Reply(TResponse? Message, EncodedMessage<TResponse>? Encoded) : IDisposable
    {
        public TResponse AsMessage() => Message ?? Encoded!.ToMessage();

        public void Dispose() => Encoded?.Dispose();
    }
}
