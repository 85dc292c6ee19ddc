using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using OpenTelemetry.Proto.Collector.Profiles.V1Development;
using Parca.Ingest.Otlp;
using Parca.Pprof;
using Parca.Rpc;

namespace Parca.Server.Services;

/// <summary>
/// OTLP/HTTP with binary protobuf: <c>POST /v1development/profiles</c>, <c>Content-Type: application/x-protobuf</c>,
/// optionally <c>Content-Encoding: gzip</c>. Success is 200 with an empty <c>ExportProfilesServiceResponse</c>;
/// a refusal is 400 (bad input), 413 (a limit) or 503/507 (storage) with a <c>google.rpc.Status</c> body whose
/// message names the field or flag, as the OTLP/HTTP specification asks. JSON is refused with 415.
/// </summary>
internal static class OtlpHttp
{
    public const string Path = "/v1development/profiles";
    private const string Protobuf = "application/x-protobuf";

    public static void Map(IEndpointRouteBuilder root) => root.MapPost(Path, (Delegate)Export);

    private static async Task Export(HttpContext http)
    {
        var limits = http.RequestServices.GetRequiredService<IngestLimits>();
        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var media) || !media.MediaType.Equals(Protobuf, StringComparison.OrdinalIgnoreCase))
        {
            await Refuse(http, 415, StatusCode.InvalidArgument, $"Content-Type '{http.Request.ContentType}' is not supported: send {Protobuf} (OTLP/HTTP JSON is not served)");
            return;
        }

        var max = limits.MaxMessageSize;
        byte[]? body = null;
        try
        {
            int length;
            try
            {
                (body, length) = await HttpIngest.ReadBodyAsync(http.Request.Body, max, http.RequestAborted);
                if (length <= max && IsGzip(http.Request))
                {
                    // Inflated through the same bounded reader: a bomb stops at the message limit.
                    using var gzip = new GZipStream(new MemoryStream(body, 0, length, writable: false), CompressionMode.Decompress);
                    var compressed = body;
                    (body, length) = await HttpIngest.ReadBodyAsync(gzip, max, http.RequestAborted);
                    PprofBuffers.Return(compressed);
                }
            }
            catch (InvalidDataException e)
            {
                await Refuse(http, 400, StatusCode.InvalidArgument, $"body: Content-Encoding gzip, but the body is not gzip: {e.Message}");
                return;
            }
            catch (BadHttpRequestException e)
            {
                await Refuse(http, e.StatusCode, StatusCode.InvalidArgument, $"reading the request body failed: {e.Message}");
                return;
            }

            if (length > max)
            {
                await Refuse(http, 413, StatusCode.ResourceExhausted, $"body: more than the limit of {max} bytes (--grpc-max-message-size)");
                return;
            }

            ExportProfilesServiceRequest request;
            try
            {
                request = ExportProfilesServiceRequest.Parser.ParseFrom(body.AsSpan(0, length));
            }
            catch (InvalidProtocolBufferException e)
            {
                await Refuse(http, 400, StatusCode.InvalidArgument, $"body: not an ExportProfilesServiceRequest: {e.Message}");
                return;
            }

            var ingest = http.RequestServices.GetRequiredService<OtlpIngest>();
            try
            {
                ingest.Export(request);
            }
            catch (IngestError e)
            {
                var status = e.Kind switch
                {
                    IngestErrorKind.DiskFull => 507,
                    IngestErrorKind.Busy or IngestErrorKind.Unavailable => 503,
                    _ => e.IsLimit ? 413 : 400,
                };
                await Refuse(http, status, e.Status, e.Message);
                return;
            }

            http.Response.ContentType = Protobuf;
            await http.Response.Body.WriteAsync(new ExportProfilesServiceResponse().ToByteArray(), http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // the client is gone
        }
        finally
        {
            if (body is not null)
            {
                PprofBuffers.Return(body);
            }
        }
    }

    private static bool IsGzip(HttpRequest request) =>
        request.Headers.ContentEncoding.ToString().Trim().Equals("gzip", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes a <c>google.rpc.Status</c> {code = 1, message = 2} (encoded here: only two scalar fields).</summary>
    private static async Task Refuse(HttpContext http, int httpStatus, StatusCode code, string message)
    {
        var buffer = new byte[CodedOutputStream.ComputeInt32Size((int)code) + CodedOutputStream.ComputeStringSize(message) + 2];
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt32((int)code);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(message);
        output.Flush();
        http.Response.StatusCode = httpStatus;
        http.Response.ContentType = Protobuf;
        await http.Response.Body.WriteAsync(buffer.AsMemory(0, (int)output.Position), http.RequestAborted);
    }
}
