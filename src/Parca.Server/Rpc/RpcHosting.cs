using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Parca.Rpc.Server;

namespace Parca.Server.Rpc;

/// <summary>
/// The server's RPC wiring in one place: one Kestrel port for HTTP/1.1 and h2c (preface detection), gRPC and
/// gRPC-Web on Grpc.AspNetCore, the Connect dispatcher, REST routes under [--path-prefix]/api (CORS is
/// Security.TransportHygiene's middleware, ahead of all of them).
/// Service implementations register with <c>services.AddRpcService&lt;T&gt;()</c>.
/// </summary>
internal static class RpcHosting
{
    /// <param name="secure">Configures TLS on the endpoint instead of cleartext HTTP/1.1 + h2c (null: cleartext).</param>
    public static void ConfigureKestrel(KestrelServerOptions kestrel, IPEndPoint endPoint, Action<ListenOptions>? secure = null)
    {
        Action<ListenOptions> listen = secure ?? (static l => l.UseHttp2PrefaceDetection());
        // h2c connections look like TLS to Kestrel (see Http2PrefaceDetection) while their requests say :scheme http.
        kestrel.AllowAlternateSchemes = true;
        ConfigureHttp2Windows(kestrel);
        if (endPoint.Address.Equals(IPAddress.IPv6Any))
        {
            kestrel.ListenAnyIP(endPoint.Port, listen);
        }
        else
        {
            kestrel.Listen(endPoint, listen);
        }
    }

    /// <summary>
    /// Larger HTTP/2 receive windows than Kestrel's defaults (768 KiB stream, 1 MiB connection): pprof uploads and
    /// debuginfo chunks are often 1 MiB+, and a window smaller than the message costs a round trip per window.
    /// </summary>
    public static void ConfigureHttp2Windows(KestrelServerOptions kestrel)
    {
        kestrel.Limits.Http2.InitialStreamWindowSize = 4 * 1024 * 1024;
        kestrel.Limits.Http2.InitialConnectionWindowSize = 8 * 1024 * 1024;
    }

    public static void AddServices(IServiceCollection services, ParcaServerOptions options) =>
        services.AddParcaRpc(rpc =>
        {
            rpc.MaxMessageSize = options.MaxMessageSize;
            rpc.PathPrefix = options.PathPrefix;
            // CORS is Security.TransportHygiene's (ASP.NET middleware ahead of any RPC library), not the dispatcher's.
        });

    /// <summary>RPC first (Connect and the gRPC path rewrite need no routing), then routing for everything else.</summary>
    public static void UseMiddleware(WebApplication app)
    {
        app.UseParcaRpc();
        app.UseRouting();
    }

    public static void MapEndpoints(IEndpointRouteBuilder root) => root.MapParcaRest();
}
