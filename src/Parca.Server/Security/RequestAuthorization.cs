using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parca.Server.Security;

/// <summary>
/// Bearer tokens for writes and for reads (<c>--auth-write-token-file</c>, <c>--auth-read-token-file</c>), as
/// ASP.NET middleware ahead of the RPC dispatcher, so gRPC, gRPC-Web, Connect and the REST routes are guarded alike
/// whatever library serves them. Writes are the profile store, debuginfo and telemetry services, OTLP profiles <c>Export</c> (gRPC and <c>/v1development/profiles</c>), <c>POST /ingest</c>
/// and their REST routes; reads are every other API call, <c>/metrics</c> and <c>/debug/pprof</c>. The web UI's
/// static files, <c>/healthz</c>, <c>/ready</c> and the gRPC health service stay open (they hold no data).
/// Off unless a token file is given.
/// </summary>
internal static class RequestAuthorization
{
    private static readonly string[] s_writePrefixes =
    [
        "/parca.profilestore.v1alpha1.ProfileStoreService/", "/parca.debuginfo.v1alpha1.DebuginfoService/",
        "/parca.telemetry.v1alpha1.TelemetryService/", "/ingest", "/api/profiles/writeraw", "/api/profiles/writearrow",
        "/api/shouldinitiateupload", "/api/initiateupload", "/api/markuploadfinished", "/api/telemetry/",
        "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/", "/v1development/profiles",
    ];

    private static readonly string[] s_readPrefixes = ["/parca.", "/api/", "/metrics", "/debug/pprof", "/grpc.reflection."];

    private static readonly string[] s_open = ["/healthz", "/ready", "/grpc.health.v1.Health/"];

    public static void Use(WebApplication app, ParcaServerOptions options)
    {
        var write = options.AuthWriteTokenFile is { } w ? new BearerTokens(w, TimeProvider.System) : null;
        var read = options.AuthReadTokenFile is { } r ? new BearerTokens(r, TimeProvider.System) : null;
        if (write is null && read is null)
        {
            return;
        }

        var prefix = options.PathPrefix;
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "/";
            if (prefix.Length > 0 && path.StartsWith(prefix, StringComparison.Ordinal))
            {
                path = path[prefix.Length..];
            }

            // gRPC-Web is served under /api as well: /api/parca.x.Service/Method is the same call as /parca.x.Service/Method.
            var call = path.StartsWith("/api/parca.", StringComparison.Ordinal) ? path[4..] : path;
            var tokens = Classify(call, path) switch
            {
                Access.Write => write,
                Access.Read => read,
                _ => null,
            };
            if (tokens is null || tokens.Accepts(Token(context.Request)))
            {
                await next(context);
                return;
            }

            var kind = tokens == write ? "write" : "read";
            await RefuseAsync(context, $"missing or wrong bearer token: this {kind} needs a token from the server's --auth-{kind}-token-file");
        });
    }

    private enum Access
    {
        Open,
        Read,
        Write,
    }

    private static Access Classify(string call, string path)
    {
        foreach (var open in s_open)
        {
            if (call.StartsWith(open, StringComparison.Ordinal))
            {
                return Access.Open;
            }
        }

        foreach (var write in s_writePrefixes)
        {
            if (call.StartsWith(write, StringComparison.Ordinal) || path.StartsWith(write, StringComparison.Ordinal))
            {
                return Access.Write;
            }
        }

        foreach (var read in s_readPrefixes)
        {
            if (call.StartsWith(read, StringComparison.Ordinal))
            {
                return Access.Read;
            }
        }

        return Access.Open; // the UI's static files
    }

    private static ReadOnlySpan<char> Token(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString().AsSpan().Trim();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : [];
    }

    /// <summary>
    /// The gRPC spec's percent-encoding of grpc-message: only bytes outside printable ASCII and '%' are escaped (every
    /// client decodes that; Uri.EscapeDataString also escapes ':' and ' ', which some clients show verbatim).
    /// </summary>
    private static string GrpcMessage(string message)
    {
        var builder = new System.Text.StringBuilder(message.Length);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>UNAUTHENTICATED in each protocol's own form: gRPC status 16, Connect's JSON error, or HTTP 401.</summary>
    internal static Task RefuseAsync(HttpContext context, string message)
    {
        var response = context.Response;
        var type = context.Request.ContentType ?? "";
        if (type.StartsWith("application/grpc", StringComparison.Ordinal))
        {
            // Trailers-only answer: status in the headers, as gRPC and gRPC-Web clients read it.
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = type.StartsWith("application/grpc-web", StringComparison.Ordinal) ? type : "application/grpc";
            response.Headers["grpc-status"] = "16";
            response.Headers["grpc-message"] = GrpcMessage(message);
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status401Unauthorized;
        response.Headers.WWWAuthenticate = "Bearer";
        if (type.StartsWith("application/json", StringComparison.Ordinal) || type.StartsWith("application/proto", StringComparison.Ordinal) || context.Request.Headers.ContainsKey("Connect-Protocol-Version"))
        {
            response.ContentType = "application/json";
            return response.WriteAsync("{\"code\":\"unauthenticated\",\"message\":\"" + message + "\"}");
        }

        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(message + "\n");
    }
}
