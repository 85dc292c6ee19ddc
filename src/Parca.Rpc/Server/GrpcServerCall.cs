using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Parca.Rpc.Wire;

namespace Parca.Rpc.Server;

/// <summary>
/// The transport side of one gRPC or gRPC-Web call on the server: request framing and decompression, deadline,
/// response headers, message frames, and the final status (HTTP/2 trailers, a gRPC-Web trailer frame, or
/// "trailers-only" headers when the call fails before any message).
/// </summary>
internal sealed class GrpcServerCall : IDisposable
{
    public const string AcceptEncoding = "identity,gzip";

    private readonly HttpContext _http;
    private readonly RpcProtocol _protocol;
    private readonly RpcServerOptions _options;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly SemaphoreSlim? _writeLock;
    private ArrayBufferWriter<byte>? _textBuffer;
    private bool _headersSent;
    private bool _finished;

    public GrpcServerCall(HttpContext http, RpcProtocol protocol, RpcServerOptions options, string method)
    {
        _http = http;
        _protocol = protocol;
        _options = options;
        var headers = http.Request.Headers;

        var encoding = headers["grpc-encoding"].ToString();
        RequestGzip = encoding switch
        {
            "" or "identity" => false,
            "gzip" => true,
            _ => throw new RpcException(StatusCode.Unimplemented, $"grpc-encoding '{encoding}' is not supported (supported: {AcceptEncoding})"),
        };
        ResponseGzip = RequestGzip && options.CompressResponsesLikeRequests
            && headers["grpc-accept-encoding"].ToString().Contains("gzip", StringComparison.Ordinal);

        var token = http.RequestAborted;
        DateTime? deadline = null;
        var timeoutHeader = headers[GrpcTimeout.HeaderName].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader, out var timeout))
            {
                throw new RpcException(StatusCode.Internal, $"malformed grpc-timeout header '{timeoutHeader}'");
            }

            deadline = DateTime.UtcNow + timeout;
            _deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(token);
            _deadlineCts.CancelAfter(timeout);
            token = _deadlineCts.Token;
            _writeLock = new SemaphoreSlim(1, 1);
        }

        Context = new RpcCallContext(http, method, protocol, deadline, token);

        var body = http.Request.BodyReader;
        if (protocol == RpcProtocol.GrpcWebText)
        {
            body = PipeReader.Create(new CryptoStream(http.Request.Body, new FromBase64Transform(FromBase64TransformMode.IgnoreWhiteSpaces), CryptoStreamMode.Read));
        }

        Reader = new FrameReader(body, options.MaxMessageSize, RequestGzip);
    }

    public RpcCallContext Context { get; }

    public FrameReader Reader { get; }

    public bool RequestGzip { get; }

    public bool ResponseGzip { get; }

    public bool DeadlineExpired => _deadlineCts is { IsCancellationRequested: true } && !_http.RequestAborted.IsCancellationRequested;

    public bool HasDeadline => _deadlineCts is not null;

    private string ContentType => _protocol switch
    {
        RpcProtocol.GrpcWeb => "application/grpc-web+proto",
        RpcProtocol.GrpcWebText => "application/grpc-web-text+proto",
        _ => "application/grpc",
    };

    public ValueTask WriteMessageAsync(IMessage message, bool flush) => WriteAsync(message, default, flush);

    /// <summary>A unary reply: the message, or when <paramref name="encoded"/> is set, its already-encoded bytes.</summary>
    public ValueTask WriteReplyAsync(IMessage? message, ReadOnlyMemory<byte>? encoded) =>
        encoded is { } bytes ? WriteAsync(null, bytes, flush: false) : WriteAsync(message!, default, flush: false);

    private async ValueTask WriteAsync(IMessage? message, ReadOnlyMemory<byte> encoded, bool flush)
    {
        if (_writeLock is not null)
        {
            await _writeLock.WaitAsync(Context.CancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (_finished)
            {
                throw new RpcException(StatusCode.DeadlineExceeded, "deadline exceeded");
            }

            SendHeaders();
            if (!_http.Response.HasStarted && !HttpProtocol.IsHttp2(_http.Request.Protocol))
            {
                // Kestrel's HTTP/1.1 chunked writer needs the response started before Advance.
                await _http.Response.StartAsync(Context.CancellationToken).ConfigureAwait(false);
            }

            if (_protocol == RpcProtocol.GrpcWebText)
            {
                WriteFrame(_textBuffer ??= new ArrayBufferWriter<byte>(), message, encoded);
                return;
            }

            WriteFrame(_http.Response.BodyWriter, message, encoded);
            if (flush)
            {
                await _http.Response.BodyWriter.FlushAsync(Context.CancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock?.Release();
        }
    }

    private void WriteFrame(IBufferWriter<byte> output, IMessage? message, ReadOnlyMemory<byte> encoded)
    {
        if (message is not null)
        {
            Frames.Write(output, message, ResponseGzip, _options.MaxMessageSize);
        }
        else
        {
            Frames.WriteEncoded(output, encoded.Span, ResponseGzip, _options.MaxMessageSize);
        }
    }

    /// <summary>Ends the call with a status; a second call (deadline racing the handler) does nothing.</summary>
    public async ValueTask FinishAsync(StatusCode status, string detail, IReadOnlyList<KeyValuePair<string, string>>? extra)
    {
        if (_writeLock is not null)
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
        }

        try
        {
            if (_finished)
            {
                return;
            }

            _finished = true;
            if (_http.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            var statusText = ((int)status).ToString(CultureInfo.InvariantCulture);
            var message = PercentEncoding.Encode(detail);
            if (!_headersSent)
            {
                // Trailers-only response: the status travels in the headers.
                var response = _http.Response;
                response.StatusCode = 200;
                response.ContentType = ContentType;
                response.Headers["grpc-accept-encoding"] = AcceptEncoding;
                response.Headers["grpc-status"] = statusText;
                if (message.Length > 0)
                {
                    response.Headers["grpc-message"] = message;
                }

                AppendAll(response.Headers, extra);
                AppendAll(response.Headers, Context.ResponseTrailers);
                _headersSent = true;
                return;
            }

            if (_protocol == RpcProtocol.Grpc)
            {
                var response = _http.Response;
                response.AppendTrailer("grpc-status", statusText);
                if (message.Length > 0)
                {
                    response.AppendTrailer("grpc-message", message);
                }

                AppendTrailers(response, extra);
                AppendTrailers(response, Context.ResponseTrailers);
                return;
            }

            // gRPC-Web: the trailers are a frame with flag 0x80 at the end of the body.
            var sb = new StringBuilder();
            sb.Append("grpc-status:").Append(statusText).Append("\r\n");
            if (message.Length > 0)
            {
                sb.Append("grpc-message:").Append(message).Append("\r\n");
            }

            AppendText(sb, extra);
            AppendText(sb, Context.ResponseTrailers);
            var trailerBytes = Encoding.ASCII.GetBytes(sb.ToString());
            IBufferWriter<byte> output = _protocol == RpcProtocol.GrpcWebText ? (_textBuffer ??= new()) : _http.Response.BodyWriter;
            var header = output.GetSpan(Frames.HeaderSize);
            Frames.WriteHeader(header, Frames.TrailerFlag, trailerBytes.Length);
            output.Advance(Frames.HeaderSize);
            output.Write(trailerBytes);
            if (_protocol == RpcProtocol.GrpcWebText)
            {
                var text = Convert.ToBase64String(_textBuffer!.WrittenSpan);
                await _http.Response.BodyWriter.WriteAsync(Encoding.ASCII.GetBytes(text)).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock?.Release();
        }
    }

    /// <summary>Sends the response now (used when the deadline fires while the handler still runs).</summary>
    public Task CompleteResponseAsync() => _http.Response.CompleteAsync();

    public void Dispose()
    {
        _deadlineCts?.Dispose();
        _writeLock?.Dispose();
    }

    private void SendHeaders()
    {
        if (_headersSent)
        {
            return;
        }

        _headersSent = true;
        var response = _http.Response;
        response.StatusCode = 200;
        response.ContentType = ContentType;
        response.Headers["grpc-accept-encoding"] = AcceptEncoding;
        if (ResponseGzip)
        {
            response.Headers["grpc-encoding"] = "gzip";
        }

        if (_protocol == RpcProtocol.Grpc)
        {
            // HTTP/2 only: make sure Kestrel sends trailers even for an empty body.
            _http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        }
    }

    private static void AppendAll(IHeaderDictionary headers, IReadOnlyList<KeyValuePair<string, string>>? pairs)
    {
        if (pairs is null)
        {
            return;
        }

        foreach (var (key, value) in pairs)
        {
            headers.Append(key, value);
        }
    }

    private static void AppendTrailers(HttpResponse response, IReadOnlyList<KeyValuePair<string, string>>? pairs)
    {
        if (pairs is null)
        {
            return;
        }

        foreach (var (key, value) in pairs)
        {
            response.AppendTrailer(key, value);
        }
    }

    private static void AppendText(StringBuilder sb, IReadOnlyList<KeyValuePair<string, string>>? pairs)
    {
        if (pairs is null)
        {
            return;
        }

        foreach (var (key, value) in pairs)
        {
            sb.Append(key.ToLowerInvariant()).Append(':').Append(value).Append("\r\n");
        }
    }
}
