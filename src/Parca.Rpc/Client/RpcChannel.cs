using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcCallOptions = Grpc.Core.CallOptions;
using GrpcMethodType = Grpc.Core.MethodType;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Parca.Rpc.Client;

/// <summary>
/// Typed calls of <see cref="ParcaApi"/> methods (<c>channel.UnaryAsync(ParcaApi.QueryService.Labels, request)</c>)
/// over Grpc.Net.Client: the method descriptors the server registers are the ones clients call, so no service or
/// method name is spelled twice, and failures surface as the project's <see cref="RpcException"/> (the type handlers
/// throw), with the status, decoded message and trailers. Transport, keep-alive, bearer token, metadata, size limits
/// and retries come from <see cref="GrpcChannels"/>; idempotent methods go through a channel whose service config
/// retries UNAVAILABLE with back-off, the others through one that never resends. Thread-safe; one per target.
/// </summary>
public sealed class RpcChannel : IDisposable
{
    private const string RequestEncodingHeader = "grpc-internal-encoding-request";

    private readonly GrpcChannel _retrying;
    private readonly GrpcChannel _once;
    private readonly HttpMessageHandler? _ownedHandler;
    private readonly RpcChannelOptions _options;
    private readonly ConcurrentDictionary<object, object> _methods = new();

    private RpcChannel(string address, RpcChannelOptions options)
    {
        _options = options;
        Address = new Uri(address);
        var handler = options.Handler;
        if (handler is null)
        {
            _ownedHandler = handler = GrpcChannels.CreateHandler(options);
        }

        var shared = new RpcChannelOptions
        {
            Insecure = options.Insecure,
            InsecureSkipVerify = options.InsecureSkipVerify,
            BearerToken = options.BearerToken,
            Headers = options.Headers,
            MaxMessageSize = options.MaxMessageSize,
            MaxAttempts = options.MaxAttempts,
            InitialBackoff = options.InitialBackoff,
            MaxBackoff = options.MaxBackoff,
            Handler = handler,
        };
        _retrying = GrpcChannels.Create(address, shared, retryEveryMethod: true);
        _once = GrpcChannels.Create(address, new RpcChannelOptions
        {
            Insecure = shared.Insecure,
            BearerToken = shared.BearerToken,
            Headers = shared.Headers,
            MaxMessageSize = shared.MaxMessageSize,
            MaxAttempts = 1,
            Handler = handler,
        });
    }

    /// <summary>The server's address as a URL (<c>http://</c> for h2c, <c>https://</c> for TLS).</summary>
    public Uri Address { get; }

    /// <summary>
    /// <paramref name="address"/>: "host:port" (TLS, or h2c with <see cref="RpcChannelOptions.Insecure"/>, like Parca's
    /// --store-address), or a URL with http:// (h2c) / https:// (TLS).
    /// </summary>
    public static RpcChannel Create(string address, RpcChannelOptions? options = null)
    {
        options ??= new RpcChannelOptions();
        if (!address.Contains("://", StringComparison.Ordinal))
        {
            address = (options.Insecure ? "http://" : "https://") + address;
        }

        return new RpcChannel(address, options);
    }

    public static RpcChannel Create(Uri address, RpcChannelOptions? options = null) =>
        Create(address.GetLeftPart(UriPartial.Authority) + address.AbsolutePath.TrimEnd('/'), options);

    /// <summary>One request, one response. Idempotent methods are retried on UNAVAILABLE.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = Invoker(method).AsyncUnaryCall(GrpcMethod(method), null, Options(options), request);
        try
        {
            return await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (GrpcRpcException ex)
        {
            throw Translate(ex);
        }
    }

    /// <summary>Starts a client-streaming call: write requests, complete, then await the response.</summary>
    public ClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(Invoker(method).AsyncClientStreamingCall(GrpcMethod(method), null, Options(options)));

    /// <summary>Starts a bidirectional call (e.g. ProfileStoreService.Write): write and read concurrently.</summary>
    public DuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(Invoker(method).AsyncDuplexStreamingCall(GrpcMethod(method), null, Options(options)));

    /// <summary>One request, a stream of responses.</summary>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = Invoker(method).AsyncServerStreamingCall(GrpcMethod(method), null, Options(options), request);
        var responses = call.ResponseStream;
        while (true)
        {
            try
            {
                if (!await responses.MoveNext(CancellationToken.None).ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (GrpcRpcException ex)
            {
                throw Translate(ex);
            }

            yield return responses.Current;
        }
    }

    public void Dispose()
    {
        _retrying.Dispose();
        _once.Dispose();
        _ownedHandler?.Dispose();
    }

    /// <summary>The library's status as the project's exception: same code, message and trailers.</summary>
    internal static RpcException Translate(GrpcRpcException ex) =>
        new((StatusCode)(int)ex.StatusCode, ex.Status.Detail, ex)
        {
            Trailers = ex.Trailers.Select(static e => new KeyValuePair<string, string>(e.Key, e.IsBinary ? Convert.ToBase64String(e.ValueBytes) : e.Value)).ToArray(),
        };

    private CallInvoker Invoker<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        (method.Idempotent ? _retrying : _once).CreateCallInvoker();

    private Method<TRequest, TResponse> GrpcMethod<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        (Method<TRequest, TResponse>)_methods.GetOrAdd(method, static m =>
        {
            var rpc = (RpcMethod<TRequest, TResponse>)m;
            var type = rpc.Type switch
            {
                MethodType.Unary => GrpcMethodType.Unary,
                MethodType.ClientStreaming => GrpcMethodType.ClientStreaming,
                MethodType.ServerStreaming => GrpcMethodType.ServerStreaming,
                _ => GrpcMethodType.DuplexStreaming,
            };
            return new Method<TRequest, TResponse>(type, rpc.Service, rpc.Name, ProtobufMarshaller<TRequest>.Instance, ProtobufMarshaller<TResponse>.Instance);
        });

    private GrpcCallOptions Options(CallOptions? options)
    {
        options ??= CallOptions.Default;
        Metadata? headers = null;
        if (_options.CompressRequests || options.Headers is { Count: > 0 })
        {
            headers = [];
            if (_options.CompressRequests)
            {
                headers.Add(RequestEncodingHeader, "gzip");
            }

            foreach (var (key, value) in options.Headers ?? [])
            {
                headers.Add(key, value);
            }
        }

        DateTime? deadline = options.Timeout is { } timeout ? DateTime.UtcNow + timeout : null;
        return new GrpcCallOptions(headers, deadline, options.CancellationToken);
    }

    private static class ProtobufMarshaller<T>
        where T : class, IMessage<T>, new()
    {
        private static readonly MessageParser<T> s_parser = new(() => new T());

        public static readonly Marshaller<T> Instance = Marshallers.Create(
            static (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            static context => s_parser.ParseFrom(context.PayloadAsReadOnlySequence()));
    }
}
