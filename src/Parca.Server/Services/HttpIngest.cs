using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Parca.Pprof;

namespace Parca.Server.Services;

/// <summary>
/// <c>POST /ingest?name=process_cpu&amp;job=x&amp;instance=y</c> with a raw or gzipped pprof body: every query
/// parameter but <c>name</c> becomes a label. So
/// <c>curl -H 'Content-Type: application/octet-stream' --data-binary @cpu.pb.gz 'http://localhost:7070/ingest?name=process_cpu&amp;job=app'</c>
/// works. 200 with the number of samples stored; 400 (413 for limits, 415 for a simple content type) with the reason.
/// </summary>
internal static class HttpIngest
{
    public static void Map(IEndpointRouteBuilder root) => root.MapPost("/ingest", (Delegate)Ingest);

    private static async Task<IResult> Ingest(HttpContext http)
    {
        if (RefuseCrossSite(http.Request) is { } refused)
        {
            return refused;
        }

        var writer = http.RequestServices.GetRequiredService<ProfileWriter>();
        var limits = http.RequestServices.GetRequiredService<IngestLimits>();
        var query = http.Request.Query;
        var name = query["name"].ToString();
        if (name.Length == 0)
        {
            return Results.Text("missing query parameter 'name' (the profile name, e.g. ?name=process_cpu)\n", statusCode: 400);
        }

        var labels = new List<KeyValuePair<string, string>> { new("__name__", name) };
        foreach (var (key, values) in query)
        {
            if (key != "name")
            {
                labels.Add(new(key, values.ToString()));
            }
        }

        var max = limits.MaxMessageSize;
        if (http.Request.ContentLength > max)
        {
            return TooLarge(max);
        }

        byte[] body;
        int length;
        try
        {
            (body, length) = await ReadBodyAsync(http.Request.Body, max, http.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            // The client's fault (aborted upload, too slow, malformed chunking): an answer, not a server error log.
            return Results.Text($"reading the request body failed: {e.Message}\n", statusCode: e.StatusCode);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client is gone
        }

        try
        {
            if (length > max)
            {
                return TooLarge(max);
            }

            if (length == 0)
            {
                return Results.Text("empty body: send a pprof profile (raw or gzipped), e.g. curl --data-binary @cpu.pb.gz\n", statusCode: 400);
            }

            var stored = writer.Write([new WriteSeries(labels, [new WriteSample(body.AsMemory(0, length), null)])]);
            return Results.Text(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{\"samples\":{stored}}}\n"), "application/json", Encoding.UTF8);
        }
        catch (IngestError e)
        {
            return Results.Text(e.Message + "\n", statusCode: e.Kind switch
            {
                IngestErrorKind.DiskFull => 507,
                IngestErrorKind.Busy or IngestErrorKind.Unavailable => 503,
                _ => e.IsLimit ? 413 : 400,
            });
        }
        finally
        {
            PprofBuffers.Return(body);
        }
    }

    private static IResult TooLarge(int max) =>
        Results.Text($"request body exceeds the limit of {max} bytes (--grpc-max-message-size)\n", statusCode: 413);

    /// <summary>
    /// A web page can POST to any origin without asking (no CORS preflight) only with a CORS-safelisted content type
    /// (form encodings, text/plain) or none at all, and without an Authorization header. Refusing exactly those
    /// requests means no page a user visits can inject profiles through the user's browser.
    /// </summary>
    private static IResult? RefuseCrossSite(HttpRequest request)
    {
        if (request.Headers.Authorization.Count > 0)
        {
            return null;
        }

        var type = request.ContentType;
        var simple = string.IsNullOrEmpty(type);
        if (!simple && MediaTypeHeaderValue.TryParse(type, out var media))
        {
            simple = media.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) ||
                media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase) ||
                media.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase);
        }

        return simple
            ? Results.Text($"POST /ingest needs a non-form Content-Type such as application/octet-stream (got '{type}'): browsers send form and text/plain posts cross-site without asking, so they are refused; curl: -H 'Content-Type: application/octet-stream'\n", statusCode: 415)
            : null;
    }

    /// <summary>Reads at most <paramref name="max"/> + 1 bytes into a buffer the caller gives back (pooled only when small).</summary>
    internal static async Task<(byte[] Body, int Length)> ReadBodyAsync(Stream stream, int max, CancellationToken cancellationToken)
    {
        var buffer = PprofBuffers.Rent(64 * 1024);
        var length = 0;
        try
        {
            while (length <= max)
            {
                if (length == buffer.Length)
                {
                    var grown = PprofBuffers.Rent((int)Math.Min(buffer.Length * 2L, max + 1L));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    PprofBuffers.Return(buffer);
                    buffer = grown;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length, (int)Math.Min(buffer.Length - length, max + 1L - length)), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return (buffer, length);
        }
        catch
        {
            PprofBuffers.Return(buffer);
            throw;
        }
    }
}
