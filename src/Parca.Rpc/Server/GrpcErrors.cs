using System.Globalization;
using Microsoft.AspNetCore.Http;
using Parca.Rpc.Wire;

namespace Parca.Rpc.Server;

/// <summary>Answers that end a gRPC call before it reaches a handler (unknown method, bad headers).</summary>
internal static class GrpcErrors
{
    public static Task WriteTrailersOnlyAsync(HttpContext http, RpcProtocol protocol, RpcException error)
    {
        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = protocol switch
        {
            RpcProtocol.GrpcWeb => "application/grpc-web+proto",
            RpcProtocol.GrpcWebText => "application/grpc-web-text+proto",
            _ => "application/grpc",
        };
        response.Headers["grpc-accept-encoding"] = "identity,gzip";
        response.Headers["grpc-status"] = ((int)error.Status).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncoding.Encode(error.Detail);
        return Task.CompletedTask;
    }
}
