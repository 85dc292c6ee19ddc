using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Server;

/// <summary>
/// Middleware in front of Grpc.AspNetCore. gRPC and gRPC-Web requests (<c>application/grpc*</c>) may arrive under
/// <c>--path-prefix</c> and/or <c>/api</c> (where Parca's UI sends gRPC-Web): their path is rewritten to
/// <c>/pkg.Service/Method</c>, where Grpc.AspNetCore's endpoints are; unknown methods are answered UNIMPLEMENTED
/// here, naming what is unknown. Connect unary (<c>application/json</c>, <c>application/proto</c>) is served here
/// (no library does Connect in .NET). Everything else goes to the next middleware.
/// </summary>
internal sealed class RpcDispatcher
{
    /// <summary>Services served by library implementations (Grpc.AspNetCore.HealthChecks, Grpc.Reflection).</summary>
    internal static readonly string[] LibraryServices =
        [ParcaApi.Health.Service, ParcaApi.Reflection.ServiceV1, ParcaApi.Reflection.ServiceV1Alpha];

    private readonly RpcServiceRegistry _registry;
    private readonly RpcServerOptions _options;
    private readonly ILogger _logger;

    public RpcDispatcher(RpcServiceRegistry registry, RpcServerOptions options, ILoggerFactory loggers)
    {
        _registry = registry;
        _options = options;
        _logger = loggers.CreateLogger("Parca.Rpc");
    }

    public Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var request = http.Request;
        var contentType = request.ContentType;
        if (contentType is null || !HttpMethods.IsPost(request.Method))
        {
            return next(http);
        }

        RpcProtocol protocol;
        var json = false;
        if (contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            protocol = contentType.StartsWith("application/grpc-web-text", StringComparison.OrdinalIgnoreCase) ? RpcProtocol.GrpcWebText
                : contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase) ? RpcProtocol.GrpcWeb
                : RpcProtocol.Grpc;
        }
        else if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            protocol = RpcProtocol.Connect;
            json = true;
        }
        else if (contentType.StartsWith("application/proto", StringComparison.OrdinalIgnoreCase))
        {
            protocol = RpcProtocol.Connect;
        }
        else
        {
            return next(http);
        }

        var path = MethodPath(request.Path.Value);
        if (protocol != RpcProtocol.Connect)
        {
            if (_registry.TryGet(path, out var grpcMethod))
            {
                request.Path = grpcMethod.PathString;
                return next(http);
            }

            if (IsLibraryService(path))
            {
                request.Path = new PathString(path.ToString());
                return next(http);
            }

            return UnimplementedAsync(http, protocol, path);
        }

        if (!_registry.TryGet(path, out var method))
        {
            return next(http);
        }

        // A Connect body is bounded by MaxMessageSize in the handler.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        return method.HandleConnectAsync(http, json, _options, _logger);
    }

    private static bool IsLibraryService(ReadOnlySpan<char> path)
    {
        foreach (var service in LibraryServices)
        {
            if (path.Length > service.Length + 2 && path[0] == '/' && path[1..].StartsWith(service, StringComparison.Ordinal) && path[service.Length + 1] == '/')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Strips <c>--path-prefix</c> and <c>/api</c> from the request path.</summary>
    private ReadOnlySpan<char> MethodPath(string? value)
    {
        var path = value.AsSpan();
        var prefix = _options.PathPrefix;
        if (prefix.Length > 0 && path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length && path[prefix.Length] == '/')
        {
            path = path[prefix.Length..];
        }

        if (path.StartsWith("/api/", StringComparison.Ordinal))
        {
            path = path[4..];
        }

        return path;
    }

    private Task UnimplementedAsync(HttpContext http, RpcProtocol protocol, ReadOnlySpan<char> path)
    {
        // path is "/service/method" (or something that isn't).
        var trimmed = path.Length > 0 && path[0] == '/' ? path[1..] : path;
        var slash = trimmed.IndexOf('/');
        string detail;
        if (slash <= 0)
        {
            detail = $"malformed method name: '{path}'";
        }
        else
        {
            var service = trimmed[..slash];
            detail = _registry.HasService(service) || LibraryServices.Contains(service.ToString())
                ? $"unknown method {trimmed[(slash + 1)..]} for service {service}"
                : $"unknown service {service}";
        }

        return GrpcErrors.WriteTrailersOnlyAsync(http, protocol, new RpcException(StatusCode.Unimplemented, detail));
    }
}
