using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Server;

/// <summary>Wiring: <c>services.AddParcaRpc(...)</c>, <c>services.AddRpcService&lt;T&gt;()</c>, <c>app.UseParcaRpc()</c>.</summary>
public static class RpcServerExtensions
{
    internal const string CorsPolicy = "parca-rpc";

    /// <summary>Adds the RPC dispatcher, the health and reflection services and the CORS policy.</summary>
    public static IServiceCollection AddParcaRpc(this IServiceCollection services, Action<RpcServerOptions>? configure = null)
    {
        var options = new RpcServerOptions();
        configure?.Invoke(options);
        services.AddSingleton(options);
        services.AddSingleton<RpcServiceRegistry>();
        services.AddSingleton<RpcDispatcher>();
        services.AddSingleton<IRpcService, HealthService>();
        services.AddSingleton<IRpcService, ReflectionService>();
        if (options.CorsAllowedOrigins.Count > 0)
        {
            var any = options.CorsAllowedOrigins.Contains("*");
            var origins = options.CorsAllowedOrigins.ToHashSet(StringComparer.OrdinalIgnoreCase);
            services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy => policy
                .SetIsOriginAllowed(origin => any || origins.Contains(origin))
                .AllowAnyHeader()
                .WithMethods("HEAD", "GET", "POST", "PUT", "PATCH", "DELETE")
                .AllowCredentials()
                .WithExposedHeaders("grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding")));
        }

        return services;
    }

    /// <summary>Registers a service class; its <see cref="IRpcService.Register"/> runs once when the server starts.</summary>
    public static IServiceCollection AddRpcService<TService>(this IServiceCollection services)
        where TService : class, IRpcService
    {
        services.AddSingleton<IRpcService, TService>();
        return services;
    }

    /// <summary>Registers handlers inline: <c>services.AddRpcService(b => b.MapUnary(ParcaApi.QueryService.ProfileTypes, ...))</c>.</summary>
    public static IServiceCollection AddRpcService(this IServiceCollection services, Action<RpcServiceBuilder> register)
    {
        services.AddSingleton(new RpcRegistration(register));
        return services;
    }

    /// <summary>CORS (when origins are configured) and the gRPC / gRPC-Web / Connect dispatcher. Put it early.</summary>
    public static IApplicationBuilder UseParcaRpc(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<RpcServerOptions>();
        if (options.CorsAllowedOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }

        var dispatcher = app.ApplicationServices.GetRequiredService<RpcDispatcher>();
        app.Use(next => http => dispatcher.InvokeAsync(http, next));
        return app;
    }

    /// <summary>
    /// Maps each method's REST route under <c>/api</c> of <paramref name="root"/> (which already carries
    /// --path-prefix, if any), e.g. <c>GET /api/profiles/types</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapParcaRest(this IEndpointRouteBuilder root)
    {
        var registry = root.ServiceProvider.GetRequiredService<RpcServiceRegistry>();
        var options = root.ServiceProvider.GetRequiredService<RpcServerOptions>();
        var logger = root.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Parca.Rpc");
        foreach (var method in registry.Methods)
        {
            if (method.RestRoute is not { } route || method.Type != MethodType.Unary)
            {
                continue;
            }

            var space = route.IndexOf(' ', StringComparison.Ordinal);
            var verb = route[..space];
            var pattern = "/api" + route[(space + 1)..];
            var m = method;
            root.MapMethods(pattern, [verb], (HttpContext http) => m.HandleRestAsync(http, options, logger));
        }

        return root;
    }
}
