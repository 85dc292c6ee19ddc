using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Google.Protobuf;
using Parca.Rpc.Wire;

namespace Parca.Rpc.Client;

/// <summary>
/// A gRPC client connection pool to one server over HTTP/2 (h2c with prior knowledge, or TLS with ALPN), on
/// <see cref="SocketsHttpHandler"/>: keep-alive pings, deadlines, retries with exponential back-off for idempotent
/// methods, bearer token, gzip. Thread-safe; create one per target and reuse it.
/// </summary>
public sealed partial class RpcChannel : IDisposable
{
    private static readonly ProductInfoHeaderValue s_userAgent = new("parca-dotnet-grpc", "0.1");
    private readonly HttpMessageInvoker _invoker;
    private readonly RpcChannelOptions _options;
    private readonly string _baseAddress;
    private readonly AuthenticationHeaderValue? _authorization;

    private RpcChannel(Uri address, RpcChannelOptions options)
    {
        _options = options;
        _baseAddress = address.GetLeftPart(UriPartial.Authority) + address.AbsolutePath.TrimEnd('/');
        _authorization = options.BearerToken is { Length: > 0 } token ? new AuthenticationHeaderValue("Bearer", token) : null;
        var handler = options.Handler ?? CreateHandler(options);
        _invoker = new HttpMessageInvoker(handler, disposeHandler: options.Handler is null);
    }

    /// <summary>The server's address, as given (<c>https://host:port</c>, <c>http://host:port</c> or <c>host:port</c>).</summary>
    public Uri Address => new(_baseAddress);

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

        return new RpcChannel(new Uri(address), options);
    }

    public static RpcChannel Create(Uri address, RpcChannelOptions? options = null) => new(address, options ?? new RpcChannelOptions());

    /// <summary>One request, one response. Idempotent methods are retried on UNAVAILABLE.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        options ??= CallOptions.Default;
        var deadline = options.Timeout is { } t ? DateTime.UtcNow + t : (DateTime?)null;
        var attempts = method.Idempotent ? Math.Max(1, _options.MaxAttempts) : 1;
        var backoff = _options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await UnaryOnceAsync(method, request, options, deadline).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.Status == StatusCode.Unavailable && attempt < attempts)
            {
                // Full jitter keeps many agents that lost the same server from retrying in lockstep.
                var delay = TimeSpan.FromTicks((long)(backoff.Ticks * Random.Shared.NextDouble()));
                if (deadline is { } d && DateTime.UtcNow + delay >= d)
                {
                    throw;
                }

                await Task.Delay(delay, options.CancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>Starts a client-streaming call: write requests, complete, then await the response.</summary>
    public ClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        options ??= CallOptions.Default;
        var requests = Channel.CreateBounded<TRequest>(new BoundedChannelOptions(4) { SingleReader = true });
        var deadline = options.Timeout is { } t ? DateTime.UtcNow + t : (DateTime?)null;
        var response = StreamingCallAsync(method, requests, options, deadline);
        return new ClientStreamingCall<TRequest, TResponse>(requests.Writer, response);
    }

    /// <summary>Starts a bidirectional call (e.g. ProfileStoreService.Write): write and read concurrently.</summary>
    public DuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        options ??= CallOptions.Default;
        var requests = Channel.CreateBounded<TRequest>(new BoundedChannelOptions(4) { SingleReader = true });
        var deadline = options.Timeout is { } t ? DateTime.UtcNow + t : (DateTime?)null;
        var content = new StreamingContent<TRequest>(requests.Reader, _options.CompressRequests, _options.MaxMessageSize);
        var call = StartAsync(method.Path, content, options, deadline);
        _ = call.ContinueWith(static (t, state) => ((ChannelWriter<TRequest>)state!).TryComplete(), requests.Writer,
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return new DuplexStreamingCall<TRequest, TResponse>(requests.Writer, call, content);
    }

    /// <summary>One request, a stream of responses.</summary>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        options ??= CallOptions.Default;
        var deadline = options.Timeout is { } t ? DateTime.UtcNow + t : (DateTime?)null;
        using var content = new MessageContent(request, _options.CompressRequests, _options.MaxMessageSize);
        await using var call = await StartAsync(method.Path, content, options, deadline).ConfigureAwait(false);
        await foreach (var message in call.ReadAllAsync<TResponse>().ConfigureAwait(false))
        {
            yield return message;
        }
    }

    public void Dispose() => _invoker.Dispose();

    private async Task<TResponse> UnaryOnceAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, TRequest request, CallOptions options, DateTime? deadline)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var content = new MessageContent(request, _options.CompressRequests, _options.MaxMessageSize);
        await using var call = await StartAsync(method.Path, content, options, deadline).ConfigureAwait(false);
        return await call.ReadSingleAsync<TResponse>().ConfigureAwait(false);
    }

    private async Task<TResponse> StreamingCallAsync<TRequest, TResponse>(RpcMethod<TRequest, TResponse> method, Channel<TRequest> requests, CallOptions options, DateTime? deadline)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        await Task.Yield();
        try
        {
            using var content = new StreamingContent<TRequest>(requests.Reader, _options.CompressRequests, _options.MaxMessageSize);
            await using var call = await StartAsync(method.Path, content, options, deadline).ConfigureAwait(false);
            return await call.ReadSingleAsync<TResponse>().ConfigureAwait(false);
        }
        finally
        {
            // The call is over: writers waiting on a full channel must not hang.
            requests.Writer.TryComplete();
        }
    }

    private async Task<ActiveCall> StartAsync(string path, HttpContent content, CallOptions options, DateTime? deadline)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _baseAddress + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TE.ParseAdd("trailers");
        headers.UserAgent.Add(s_userAgent);
        headers.TryAddWithoutValidation("grpc-accept-encoding", "identity,gzip");
        if (_options.CompressRequests)
        {
            headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        }

        if (_authorization is not null)
        {
            headers.Authorization = _authorization;
        }

        foreach (var (key, value) in _options.Headers)
        {
            headers.TryAddWithoutValidation(key, value);
        }

        if (options.Headers is { } extra)
        {
            foreach (var (key, value) in extra)
            {
                headers.TryAddWithoutValidation(key, value);
            }
        }

        CancellationTokenSource? cts = null;
        var token = options.CancellationToken;
        if (deadline is { } d)
        {
            var remaining = d - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                request.Dispose();
                throw new RpcException(StatusCode.DeadlineExceeded, "deadline exceeded before the call started");
            }

            headers.TryAddWithoutValidation(GrpcTimeout.HeaderName, GrpcTimeout.Format(remaining));
            cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            cts.CancelAfter(remaining);
            token = cts.Token;
        }

        var call = new ActiveCall(request, cts, token, options.CancellationToken, _options.MaxMessageSize);
        try
        {
            call.Response = await _invoker.SendAsync(request, token).ConfigureAwait(false);
            call.CheckHeaders();
            return call;
        }
        catch (Exception ex)
        {
            await call.DisposeAsync().ConfigureAwait(false);
            if (ex is RpcException)
            {
                throw;
            }

            throw call.Translate(ex);
        }
    }

    private static SocketsHttpHandler CreateHandler(RpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = options.EnableMultipleHttp2Connections,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        ClientTls.Configure(handler, options);

        return handler;
    }

    internal static string StatusText(StatusCode code) => ((int)code).ToString(CultureInfo.InvariantCulture);
}
