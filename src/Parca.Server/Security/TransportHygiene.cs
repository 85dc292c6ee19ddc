using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Parca.Server.Security;

/// <summary>
/// HTTP-level protections that hold whatever RPC library serves the calls behind them, because they run as ASP.NET
/// middleware before it: the <c>Host</c> allow-list (<c>--http-allowed-hosts</c>, against DNS rebinding) and CORS per
/// <c>--cors-allowed-origins</c>, where <c>*</c> answers <c>Access-Control-Allow-Origin: *</c> without credentials
/// instead of reflecting the caller's origin with credentials (which would let any site act with a user's cookies).
/// </summary>
internal static class TransportHygiene
{
    private const string CorsPolicy = "parca";

    public static void AddServices(IServiceCollection services, ParcaServerOptions options)
    {
        var origins = options.CorsAllowedOrigins;
        if (origins.Count == 0)
        {
            return;
        }

        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin(); // never with credentials: the framework refuses that pair, and so do we
            }
            else
            {
                policy.WithOrigins([.. origins]).AllowCredentials();
            }

            policy.AllowAnyHeader()
                .WithMethods("HEAD", "GET", "POST", "PUT", "PATCH", "DELETE")
                .WithExposedHeaders("grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding");
        }));
    }

    public static void Use(WebApplication app, ParcaServerOptions options)
    {
        if (options.AllowedHosts.Count > 0)
        {
            var allowed = options.AllowedHosts.ToHashSet(StringComparer.OrdinalIgnoreCase);
            app.Use(async (context, next) =>
            {
                var host = context.Request.Host;
                if (!host.HasValue || !(allowed.Contains(host.Host) || allowed.Contains(host.Value)))
                {
                    context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                    await context.Response.WriteAsync($"host '{host.Value}' is not served here (--http-allowed-hosts)\n");
                    return;
                }

                await next(context);
            });
        }

        if (options.CorsAllowedOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }
    }
}
