namespace Parca.Rpc.Server;

/// <summary>Handler of a unary call: one request, one response (or an <see cref="RpcException"/>).</summary>
public delegate ValueTask<TResponse> UnaryHandler<in TRequest, TResponse>(TRequest request, RpcCallContext context);

/// <summary>Handler of a client-streaming call: reads the requests, returns one response.</summary>
public delegate ValueTask<TResponse> ClientStreamingHandler<TRequest, TResponse>(IAsyncEnumerable<TRequest> requests, RpcCallContext context);

/// <summary>Handler of a server-streaming call: one request, writes any number of responses.</summary>
public delegate ValueTask ServerStreamingHandler<in TRequest, TResponse>(TRequest request, IRpcStreamWriter<TResponse> responses, RpcCallContext context);

/// <summary>Handler of a bidirectional call.</summary>
public delegate ValueTask DuplexStreamingHandler<TRequest, TResponse>(IAsyncEnumerable<TRequest> requests, IRpcStreamWriter<TResponse> responses, RpcCallContext context);

/// <summary>
/// Parses a request whose <c>bytes</c> fields may alias <paramref name="data"/> (valid until the handler's task
/// completes); null means "not a shape this parser handles": the generated parser takes over.
/// </summary>
public delegate TRequest? BorrowingParser<TRequest>(ReadOnlyMemory<byte> data)
    where TRequest : class;

/// <summary>Handler of a unary call that answers with an already-encoded message (see <see cref="EncodedMessage{TMessage}"/>).</summary>
public delegate ValueTask<EncodedMessage<TResponse>> EncodedUnaryHandler<in TRequest, TResponse>(TRequest request, RpcCallContext context)
    where TResponse : class, Google.Protobuf.IMessage<TResponse>, new();
