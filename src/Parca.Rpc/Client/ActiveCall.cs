using System.IO.Pipelines;
using System.Net.Http.Headers;
using Google.Protobuf;
using Parca.Rpc.Wire;

namespace Parca.Rpc.Client;

/// <summary>One HTTP/2 exchange of a client call: response headers, message frames, trailers, status.</summary>
internal sealed class ActiveCall : IAsyncDisposable
{
    private readonly HttpRequestMessage _request;
    private readonly CancellationTokenSource? _deadline;
    private readonly CancellationToken _userToken;
    private readonly int _maxSize;
    private FrameReader? _reader;
    private PipeReader? _pipe;
    private HttpResponseHeaders? _trailersOnly;

    public ActiveCall(HttpRequestMessage request, CancellationTokenSource? deadline, CancellationToken token, CancellationToken userToken, int maxSize)
    {
        _request = request;
        _deadline = deadline;
        Token = token;
        _userToken = userToken;
        _maxSize = maxSize;
    }

    public HttpResponseMessage? Response { get; set; }

    public CancellationToken Token { get; }

    public FrameReader Reader => _reader ?? throw new InvalidOperationException("call not started");

    /// <summary>Fails fast on a non-gRPC answer or a trailers-only status; prepares the message reader.</summary>
    public void CheckHeaders()
    {
        var response = Response!;
        if (response.Headers.TryGetValues("grpc-status", out _))
        {
            _trailersOnly = response.Headers;
            ThrowIfNotOk();
        }
        else if ((int)response.StatusCode != 200)
        {
            throw new RpcException(StatusMapping.FromHttpStatus((int)response.StatusCode), $"HTTP status {(int)response.StatusCode} without grpc-status");
        }
        else if (response.Content.Headers.ContentType?.MediaType is not { } media || !media.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(StatusCode.Unknown, $"response content-type '{response.Content.Headers.ContentType}' is not application/grpc");
        }

        var gzip = response.Headers.TryGetValues("grpc-encoding", out var enc) && enc.FirstOrDefault() == "gzip";
        _pipe = PipeReader.Create(response.Content.ReadAsStream(Token), new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        _reader = new FrameReader(_pipe, _maxSize, gzip);
    }

    public async Task<T> ReadSingleAsync<T>()
        where T : class, IMessage<T>, new()
    {
        try
        {
            var message = await Reader.ReadAsync<T>(Token).ConfigureAwait(false);
            if (message is not null && _trailersOnly is null)
            {
                // Drain to the end so the trailers (and the status) arrive.
                while (await Reader.ReadAsync<T>(Token).ConfigureAwait(false) is not null)
                {
                }
            }

            ThrowIfNotOk();
            return message ?? throw new RpcException(StatusCode.Internal, "server returned OK without a response message");
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex);
        }
    }

    /// <summary>The response messages until the end of the stream, then the call's status (throws if not OK).</summary>
    public async IAsyncEnumerable<T> ReadAllAsync<T>([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, IMessage<T>, new()
    {
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(Token, cancellationToken) : null;
        var token = linked?.Token ?? Token;
        while (true)
        {
            T? message;
            try
            {
                message = await Reader.ReadAsync<T>(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not RpcException)
            {
                throw Translate(ex);
            }

            if (message is null)
            {
                ThrowIfNotOk();
                yield break;
            }

            yield return message;
        }
    }

    public void ThrowIfNotOk()
    {
        var headers = _trailersOnly ?? Response!.TrailingHeaders;
        if (!headers.TryGetValues("grpc-status", out var values))
        {
            throw new RpcException(StatusCode.Internal, "response ended without grpc-status");
        }

        var text = values.First();
        if (!int.TryParse(text, out var code))
        {
            throw new RpcException(StatusCode.Internal, $"malformed grpc-status '{text}'");
        }

        if (code == 0)
        {
            return;
        }

        var message = headers.TryGetValues("grpc-message", out var m) ? PercentEncoding.Decode(m.First()) : "";
        var trailers = new List<KeyValuePair<string, string>>();
        foreach (var (key, vals) in headers)
        {
            foreach (var v in vals)
            {
                trailers.Add(new(key, v));
            }
        }

        throw new RpcException((StatusCode)code, message, trailers);
    }

    public RpcException Translate(Exception ex)
    {
        if (ex is RpcException rpc)
        {
            return rpc;
        }

        if (_userToken.IsCancellationRequested)
        {
            return new RpcException(StatusCode.Cancelled, "call cancelled", ex);
        }

        if (_deadline is { IsCancellationRequested: true })
        {
            return new RpcException(StatusCode.DeadlineExceeded, "deadline exceeded", ex);
        }

        return ex switch
        {
            HttpProtocolException { ErrorCode: 0x7 } => new RpcException(StatusCode.Unavailable, "stream refused by the server: " + ex.Message, ex),
            HttpProtocolException { ErrorCode: 0x8 } => new RpcException(StatusCode.Cancelled, "stream cancelled by the server: " + ex.Message, ex),
            HttpProtocolException => new RpcException(StatusCode.Internal, "HTTP/2 error: " + ex.Message, ex),
            HttpRequestException => new RpcException(StatusCode.Unavailable, ex.Message, ex),
            IOException => new RpcException(StatusCode.Unavailable, ex.Message, ex),
            OperationCanceledException => new RpcException(StatusCode.Cancelled, "call cancelled", ex),
            _ => new RpcException(StatusCode.Internal, ex.Message, ex),
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (_pipe is not null)
        {
            await _pipe.CompleteAsync().ConfigureAwait(false);
        }

        Response?.Dispose();
        _request.Dispose();
        _deadline?.Dispose();
    }
}
