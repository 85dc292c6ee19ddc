using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Server;

/// <summary>Wiring: <c>services.AddParcaRpc(...)</c>, <c>services.AddRpcService&lt;T&gt;()</c>, <c>app.UseParcaRpc()</c>.</summary>
public static class RpcServerExtensions
{
    internal const string CorsPolicy = "parca-rpc";

    /// <summary>
    /// Adds Grpc.AspNetCore (with every registered method bound to it), gRPC health and reflection, the Connect
    /// dispatcher and the CORS policy.
    /// </summary>
    public static IServiceCollection AddParcaRpc(this IServiceCollection services, Action<RpcServerOptions>? configure = null)
    {
        var options = new RpcServerOptions();
        configure?.Invoke(options);
        services.AddSingleton(options);
        services.AddSingleton<RpcServiceRegistry>();
        services.AddSingleton<RpcDispatcher>();
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxMessageSize;
            grpc.MaxSendMessageSize = options.MaxMessageSize;
            // Unknown services are answered by RpcDispatcher, with the messages this server has always sent.
            grpc.IgnoreUnknownServices = true;
            // Transport errors (a corrupt frame or gzip body) then say what was wrong, not only "exception was
            // thrown by handler"; handler exceptions never get here (ServerMethod turns them into a status first).
            grpc.EnableDetailedErrors = true;
            grpc.ResponseCompressionAlgorithm = "gzip";
            grpc.ResponseCompressionLevel = System.IO.Compression.CompressionLevel.Fastest;
        });
        services.AddSingleton<GrpcEndpoints>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<GrpcEndpoints>, GrpcEndpointsMethodProvider>());

        // grpc.health.v1: SERVING for the server ("") and for every registered service, NOT_FOUND otherwise
        // (what grpc_health_probe and Kubernetes' gRPC probes expect).
        // One always-healthy check: a server that answers is serving (as before); real checks can be added here.
        services.AddHealthChecks().AddCheck("rpc", static () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        services.AddGrpcHealthChecks();
        services.AddOptions<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>().Configure<RpcServiceRegistry>((health, registry) =>
        {
            foreach (var service in registry.Services)
            {
                health.Services.Map(service, _ => true);
            }
        });

        // Reflection over the .proto files compiled into Parca.Protocol (not only the services of this process'
        // types): grpcurl and reflection clients see every service the registry serves.
        services.AddSingleton(sp => new ReflectionV1(ReflectedServices(sp.GetRequiredService<RpcServiceRegistry>())));
        services.AddSingleton(sp => new ReflectionV1Alpha(ReflectedServices(sp.GetRequiredService<RpcServiceRegistry>())));
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

    /// <summary>
    /// CORS (when origins are configured), the dispatcher (Connect; gRPC paths under --path-prefix and /api), gRPC-Web,
    /// and the gRPC endpoints at the root. Put it early, before routing.
    /// </summary>
    public static WebApplication UseParcaRpc(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<RpcServerOptions>();
        if (options.CorsAllowedOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }

        var dispatcher = app.Services.GetRequiredService<RpcDispatcher>();
        app.Use(next => http => dispatcher.InvokeAsync(http, next));
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        app.MapGrpcService<GrpcEndpoints>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcService<ReflectionV1>();
        app.MapGrpcService<ReflectionV1Alpha>();
        return app;
    }

    /// <summary>The registered services, health and reflection, as descriptors from the compiled .proto files.</summary>
    private static List<Google.Protobuf.Reflection.ServiceDescriptor> ReflectedServices(RpcServiceRegistry registry)
    {
        var wanted = registry.Services.Concat(RpcDispatcher.LibraryServices).ToHashSet(StringComparer.Ordinal);
        var found = new List<Google.Protobuf.Reflection.ServiceDescriptor>();
        foreach (var file in ParcaApi.Files)
        {
            foreach (var service in file.Services)
            {
                if (wanted.Contains(service.FullName))
                {
                    found.Add(service);
                }
            }
        }

        return found;
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
