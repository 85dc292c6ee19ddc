using Grpc.AspNetCore.Server.Model;
using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Server;

/// <summary>
/// The service type under which every registered method is mapped into Grpc.AspNetCore (<c>MapGrpcService&lt;GrpcEndpoints&gt;()</c>).
/// The methods come from the one handler table (<see cref="RpcServiceRegistry"/>) that also drives Connect and REST,
/// so they are bound through Grpc.AspNetCore's <see cref="IServiceMethodProvider{TService}"/> extension point rather
/// than through generated service bases; the handlers themselves live on the registered <see cref="IRpcService"/>s.
/// </summary>
internal sealed class GrpcEndpoints;

/// <summary>Adds each registered method, with its marshallers and invoker, to Grpc.AspNetCore's endpoints.</summary>
internal sealed class GrpcEndpointsMethodProvider(RpcServiceRegistry registry, ILoggerFactory loggers) : IServiceMethodProvider<GrpcEndpoints>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<GrpcEndpoints> context)
    {
        var logger = loggers.CreateLogger("Parca.Rpc");
        foreach (var method in registry.Methods)
        {
            method.BindGrpc(context, logger);
        }
    }
}
