using System.Runtime.CompilerServices;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using GrpcMethodType = Grpc.Core.MethodType;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Parca.Rpc.Server;

/// <summary>
/// Native gRPC and gRPC-Web: Grpc.AspNetCore does the transport (framing, compression, deadlines, status, trailers);
/// this part binds the method to it and adapts its call context to the handler's <see cref="RpcCallContext"/>.
/// </summary>
internal sealed partial class ServerMethod<TRequest, TResponse>
{
    private static readonly WriteOptions s_noCompress = new(WriteFlags.NoCompress);

    public override void BindGrpc(ServiceMethodProviderContext<GrpcEndpoints> context, ILogger logger)
    {
        var metadata = new List<object>();
        var requests = GrpcMarshallers.Message<TRequest>();
        var responses = GrpcMarshallers.Message<TResponse>();
        switch (Type)
        {
            case MethodType.Unary when _borrowingParser is not null:
                context.AddUnaryMethod(
                    new Method<BorrowedRequest<TRequest>, TResponse>(GrpcMethodType.Unary, Service, Name, GrpcMarshallers.Borrowing(_borrowingParser), responses),
                    metadata,
                    (_, request, call) => UnaryBorrowedAsync(request, call, logger));
                break;
            case MethodType.Unary when _encodedUnary is not null:
                context.AddUnaryMethod(
                    new Method<TRequest, EncodedMessage<TResponse>>(GrpcMethodType.Unary, Service, Name, requests, GrpcMarshallers.Encoded<TResponse>()),
                    metadata,
                    (_, request, call) => RunAsync(call, logger, request, static (r, c, m) => m._encodedUnary!(r, c)));
                break;
            case MethodType.Unary:
                context.AddUnaryMethod(
                    new Method<TRequest, TResponse>(GrpcMethodType.Unary, Service, Name, requests, responses),
                    metadata,
                    (_, request, call) => RunAsync(call, logger, request, static (r, c, m) => m._unary!(r, c)));
                break;
            case MethodType.ClientStreaming:
                context.AddClientStreamingMethod(
                    new Method<TRequest, TResponse>(GrpcMethodType.ClientStreaming, Service, Name, requests, responses),
                    metadata,
                    (_, reader, call) => RunAsync(call, logger, reader, static (r, c, m) => m._clientStreaming!(ReadAll(r, c.CancellationToken), c)));
                break;
            case MethodType.ServerStreaming:
                context.AddServerStreamingMethod(
                    new Method<TRequest, TResponse>(GrpcMethodType.ServerStreaming, Service, Name, requests, responses),
                    metadata,
                    (_, request, writer, call) => RunAsync(call, logger, (request, writer), static async (a, c, m) =>
                    {
                        await m._serverStreaming!(a.request, new StreamWriter(a.writer), c).ConfigureAwait(false);
                        return true;
                    }));
                break;
            default:
                context.AddDuplexStreamingMethod(
                    new Method<TRequest, TResponse>(GrpcMethodType.DuplexStreaming, Service, Name, requests, responses),
                    metadata,
                    (_, reader, writer, call) => RunAsync(call, logger, (reader, writer), static async (a, c, m) =>
                    {
                        await m._duplex!(ReadAll(a.reader, c.CancellationToken), new StreamWriter(a.writer), c).ConfigureAwait(false);
                        return true;
                    }));
                break;
        }
    }

    private async Task<TResponse> UnaryBorrowedAsync(BorrowedRequest<TRequest> request, ServerCallContext call, ILogger logger)
    {
        // The request's bytes fields alias a pooled buffer: it goes back only after the handler is done with them.
        using (request)
        {
            return await RunAsync(call, logger, request.Message, static (r, c, m) => m._unary!(r, c)).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a handler with our context; its errors keep the codes and messages the handler chose.</summary>
    private async Task<TResult> RunAsync<TArg, TResult>(ServerCallContext call, ILogger logger, TArg arg, Func<TArg, RpcCallContext, ServerMethod<TRequest, TResponse>, ValueTask<TResult>> handler)
    {
        var context = CreateContext(call);
        try
        {
            var result = await handler(arg, context, this).ConfigureAwait(false);
            CopyTrailers(context, call);
            return result;
        }
        catch (RpcException ex)
        {
            RpcLog.CallFailed(logger, Path, ex.Status, ex.Detail);
            CopyTrailers(context, call);
            throw new GrpcRpcException(new Status((Grpc.Core.StatusCode)ex.Status, ex.Detail), ToMetadata(ex.Trailers));
        }
        catch (Exception ex) when (ex is GrpcRpcException || call.CancellationToken.IsCancellationRequested)
        {
            // Deadline passed or the caller went away: Grpc.AspNetCore reports (or drops) the call itself.
            throw;
        }
        catch (Exception ex)
        {
            RpcLog.HandlerFailed(logger, Path, ex);
            throw new GrpcRpcException(new Status(Grpc.Core.StatusCode.Unknown, "exception in handler: " + ex.Message));
        }
    }

    private RpcCallContext CreateContext(ServerCallContext call)
    {
        var http = call.GetHttpContext();
        var contentType = http.Request.ContentType ?? "";
        var protocol = contentType.StartsWith("application/grpc-web-text", StringComparison.OrdinalIgnoreCase) ? RpcProtocol.GrpcWebText
            : contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase) ? RpcProtocol.GrpcWeb
            : RpcProtocol.Grpc;

        // Responses are compressed only when the request was (as before): large QueryRange answers to an
        // uncompressed caller on the same host would otherwise pay gzip for nothing.
        if (!string.Equals(http.Request.Headers["grpc-encoding"].ToString(), "gzip", StringComparison.Ordinal))
        {
            call.WriteOptions = s_noCompress;
        }

        DateTime? deadline = call.Deadline == DateTime.MaxValue ? null : call.Deadline;
        return new RpcCallContext(http, Path, protocol, deadline, call.CancellationToken);
    }

    private static void CopyTrailers(RpcCallContext context, ServerCallContext call)
    {
        if (context.ResponseTrailers is { } trailers)
        {
            foreach (var (key, value) in trailers)
            {
                AddEntry(call.ResponseTrailers, key, value);
            }
        }
    }

    private static Metadata ToMetadata(IReadOnlyList<KeyValuePair<string, string>> entries)
    {
        var metadata = new Metadata();
        foreach (var (key, value) in entries)
        {
            AddEntry(metadata, key, value);
        }

        return metadata;
    }

    /// <summary>Binary ("-bin") entries travel base64-encoded in our string form; Grpc.Core wants their bytes.</summary>
    private static void AddEntry(Metadata metadata, string key, string value)
    {
        if (key.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.OrdinalIgnoreCase))
        {
            metadata.Add(key, Convert.FromBase64String(value));
        }
        else
        {
            metadata.Add(key, value);
        }
    }

    private static async IAsyncEnumerable<TRequest> ReadAll(IAsyncStreamReader<TRequest> reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }

    private sealed class StreamWriter(IServerStreamWriter<TResponse> writer) : IRpcStreamWriter<TResponse>
    {
        public ValueTask WriteAsync(TResponse message, CancellationToken cancellationToken = default) =>
            new(writer.WriteAsync(message, cancellationToken));
    }
}
