using System.Net.Http.Headers;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace Parca.Rpc.Client;

/// <summary>
/// Grpc.Net.Client channels configured the way the agent and the forwarder talk to a Parca store: "host:port"
/// addresses (TLS, or h2c with <see cref="RpcChannelOptions.Insecure"/>, like Parca's --store-address), HTTP/2
/// keep-alive pings, bearer token and extra metadata on every call, message size limits, and retries with
/// exponential back-off on UNAVAILABLE for the idempotent methods only (a WriteRaw is never sent twice by the
/// channel: its sender decides).
/// </summary>
public static class GrpcChannels
{
    /// <param name="retryEveryMethod">retry UNAVAILABLE on every method of this channel (for callers that route only
    /// idempotent calls to it) instead of only <see cref="ParcaApi.IdempotentMethods"/>.</param>
    public static GrpcChannel Create(string address, RpcChannelOptions? options = null, bool retryEveryMethod = false)
    {
        options ??= new RpcChannelOptions();
        if (!address.Contains("://", StringComparison.Ordinal))
        {
            address = (options.Insecure ? "http://" : "https://") + address;
        }

        HttpMessageHandler handler = options.Handler ?? CreateHandler(options);
        if (options.BearerToken is { Length: > 0 } || options.Headers.Count > 0)
        {
            handler = new MetadataHandler(handler, options);
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = options.Handler is null,
            MaxSendMessageSize = options.MaxMessageSize,
            MaxReceiveMessageSize = options.MaxMessageSize,
            MaxRetryAttempts = Math.Max(1, options.MaxAttempts),
            ServiceConfig = options.MaxAttempts > 1 ? Retry(options, retryEveryMethod) : null,
        });
    }

    internal static SocketsHttpHandler CreateHandler(RpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = options.EnableMultipleHttp2Connections,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        ClientTls.Configure(handler, options);

        return handler;
    }

    private static ServiceConfig Retry(RpcChannelOptions options, bool everyMethod)
    {
        var config = new MethodConfig
        {
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = options.MaxAttempts,
                InitialBackoff = options.InitialBackoff,
                MaxBackoff = options.MaxBackoff,
                BackoffMultiplier = 2,
                RetryableStatusCodes = { Grpc.Core.StatusCode.Unavailable },
            },
        };
        if (everyMethod)
        {
            config.Names.Add(MethodName.Default);
        }
        else
        {
            foreach (var (service, method) in ParcaApi.IdempotentMethods)
            {
                config.Names.Add(new MethodName { Service = service, Method = method });
            }
        }

        return new ServiceConfig { MethodConfigs = { config } };
    }

    /// <summary>Adds the bearer token and the channel's metadata to every request.</summary>
    private sealed class MetadataHandler(HttpMessageHandler inner, RpcChannelOptions options) : DelegatingHandler(inner)
    {
        private readonly AuthenticationHeaderValue? _authorization =
            options.BearerToken is { Length: > 0 } token ? new AuthenticationHeaderValue("Bearer", token) : null;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization ??= _authorization;
            foreach (var (name, value) in options.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
