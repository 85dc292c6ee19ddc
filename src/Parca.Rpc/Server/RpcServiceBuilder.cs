using Google.Protobuf;

namespace Parca.Rpc.Server;

/// <summary>
/// Collects handlers: <c>builder.MapUnary(ParcaApi.QueryService.ProfileTypes, handler)</c>. Each call creates a typed
/// dispatcher entry once, at start-up; serving a call looks the path up and invokes the delegate.
/// </summary>
public sealed class RpcServiceBuilder
{
    internal List<ServerMethod> Methods { get; } = [];

    public RpcServiceBuilder MapUnary<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, UnaryHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        Expect(method, MethodType.Unary);
        Methods.Add(new ServerMethod<TRequest, TResponse>(method, handler));
        return this;
    }

    /// <summary>
    /// A unary method whose gRPC / gRPC-Web requests are parsed by <paramref name="borrowingParser"/> (see
    /// <see cref="BorrowingParsers"/>): its <c>bytes</c> fields alias a pooled buffer that is reused once the
    /// handler's task completes, so the handler must not keep them. Connect and REST requests take the normal path.
    /// </summary>
    public RpcServiceBuilder MapUnary<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, UnaryHandler<TRequest, TResponse> handler, BorrowingParser<TRequest> borrowingParser)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        Expect(method, MethodType.Unary);
        Methods.Add(new ServerMethod<TRequest, TResponse>(method, handler, borrowingParser));
        return this;
    }

    /// <summary>
    /// A unary method whose handler returns its response already encoded (<see cref="EncodedMessage{TMessage}"/>):
    /// for large responses that a hand-written writer produces faster than building and serializing messages.
    /// </summary>
    public RpcServiceBuilder MapUnaryEncoded<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, EncodedUnaryHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        Expect(method, MethodType.Unary);
        Methods.Add(new ServerMethod<TRequest, TResponse>(method, handler));
        return this;
    }

    public RpcServiceBuilder MapClientStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, ClientStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        Expect(method, MethodType.ClientStreaming);
        Methods.Add(new ServerMethod<TRequest, TResponse>(method, handler));
        return this;
    }

    public RpcServiceBuilder MapServerStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, ServerStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        Expect(method, MethodType.ServerStreaming);
        Methods.Add(new ServerMethod<TRequest, TResponse>(method, handler));
        return this;
    }

    public RpcServiceBuilder MapDuplexStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, DuplexStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        Expect(method, MethodType.DuplexStreaming);
        Methods.Add(new ServerMethod<TRequest, TResponse>(method, handler));
        return this;
    }

    private static void Expect<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, MethodType type)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        if (method.Type != type)
        {
            throw new ArgumentException($"{method.Path} is {method.Type}, not {type}", nameof(method));
        }
    }
}

/// <summary>A class that serves RPCs; registered with <c>services.AddRpcService&lt;T&gt;()</c>, resolved from DI.</summary>
public interface IRpcService
{
    void Register(RpcServiceBuilder builder);
}
