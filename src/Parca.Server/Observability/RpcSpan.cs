using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Parca.Server.Observability;

/// <summary>
/// OpenTelemetry's RPC semantic conventions on the request span of a gRPC call: the span is named
/// <c>package.Service/Method</c> and carries <c>rpc.system</c>, <c>rpc.service</c>, <c>rpc.method</c> and
/// <c>rpc.grpc.status_code</c>; server-side failures (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
/// UNAVAILABLE, DATA_LOSS) set the span's status to error, since the HTTP status of a gRPC call is 200 either way.
/// </summary>
internal static class RpcSpan
{
    public static void Describe(Activity activity, HttpContext context)
    {
        var contentType = context.Request.ContentType;
        if (contentType is null || !contentType.StartsWith("application/grpc", StringComparison.Ordinal)
            || context.Request.Path.Value is not { Length: > 1 and < 200 } path)
        {
            return;
        }

        var slash = path.IndexOf('/', 1);
        if (slash < 0 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
        {
            return;
        }

        activity.DisplayName = path[1..];
        activity.SetTag("rpc.system", "grpc");
        activity.SetTag("rpc.service", path[1..slash]);
        activity.SetTag("rpc.method", path[(slash + 1)..]);

        // grpc-status is a trailer, or a header in a trailers-only response; gRPC-Web puts it in the body (not read).
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        if (int.TryParse(Metadata(context, trailers, "grpc-status"), NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            activity.SetTag("rpc.grpc.status_code", code);
            if (code is 2 or 4 or 12 or 13 or 14 or 15)
            {
                activity.SetStatus(ActivityStatusCode.Error, Uri.UnescapeDataString(Metadata(context, trailers, "grpc-message"))); // percent-encoded on the wire
            }
        }
    }

    private static string Metadata(HttpContext context, IHeaderDictionary? trailers, string name) =>
        trailers is not null && trailers.TryGetValue(name, out var value) && value.Count > 0 ? value.ToString() : context.Response.Headers[name].ToString();
}
