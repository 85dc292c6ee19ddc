using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Server;

/// <summary>A registered method, independent of its message types, as the dispatcher sees it.</summary>
internal abstract class ServerMethod
{
    protected ServerMethod(string service, string name, MethodType type, string? restRoute)
    {
        Service = service;
        Name = name;
        Type = type;
        RestRoute = restRoute;
        Path = "/" + service + "/" + name;
        PathString = new PathString(Path);
    }

    public string Service { get; }

    public string Name { get; }

    public string Path { get; }

    public PathString PathString { get; }

    public MethodType Type { get; }

    public string? RestRoute { get; }

    public abstract MessageDescriptor RequestDescriptor { get; }

    public abstract MessageDescriptor ResponseDescriptor { get; }

    /// <summary>Native gRPC and gRPC-Web (binary and text): served by Grpc.AspNetCore, bound here.</summary>
    public abstract void BindGrpc(ServiceMethodProviderContext<GrpcEndpoints> context, ILogger logger);

    /// <summary>Connect unary, JSON or binary protobuf.</summary>
    public abstract Task HandleConnectAsync(HttpContext http, bool json, RpcServerOptions options, ILogger logger);

    /// <summary>grpc-gateway style REST/JSON.</summary>
    public abstract Task HandleRestAsync(HttpContext http, RpcServerOptions options, ILogger logger);
}
