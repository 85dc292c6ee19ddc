using System.Buffers;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Server;

/// <summary>A method with its message types and handler; the generic code path means no reflection per call.</summary>
internal sealed partial class ServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly MessageDescriptor s_requestDescriptor = new TRequest().Descriptor;
    private static readonly MessageDescriptor s_responseDescriptor = new TResponse().Descriptor;

    private readonly UnaryHandler<TRequest, TResponse>? _unary;
    private readonly ClientStreamingHandler<TRequest, TResponse>? _clientStreaming;
    private readonly ServerStreamingHandler<TRequest, TResponse>? _serverStreaming;
    private readonly DuplexStreamingHandler<TRequest, TResponse>? _duplex;
    private readonly BorrowingParser<TRequest>? _borrowingParser;
    private readonly EncodedUnaryHandler<TRequest, TResponse>? _encodedUnary;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, UnaryHandler<TRequest, TResponse> handler, BorrowingParser<TRequest>? borrowingParser = null)
        : base(method.Service, method.Name, MethodType.Unary, method.RestRoute)
    {
        _unary = handler;
        _borrowingParser = borrowingParser;
    }

    public ServerMethod(RpcMethod<TRequest, TResponse> method, EncodedUnaryHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.Unary, method.RestRoute) => _encodedUnary = handler;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, ClientStreamingHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.ClientStreaming, null) => _clientStreaming = handler;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, ServerStreamingHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.ServerStreaming, null) => _serverStreaming = handler;

    public ServerMethod(RpcMethod<TRequest, TResponse> method, DuplexStreamingHandler<TRequest, TResponse> handler)
        : base(method.Service, method.Name, MethodType.DuplexStreaming, null) => _duplex = handler;

    public override MessageDescriptor RequestDescriptor => s_requestDescriptor;

    public override MessageDescriptor ResponseDescriptor => s_responseDescriptor;

    public override async Task HandleGrpcAsync(HttpContext http, RpcProtocol protocol, RpcServerOptions options, ILogger logger)
    {
        GrpcServerCall call;
        try
        {
            call = new GrpcServerCall(http, protocol, options, Path);
        }
        catch (RpcException ex)
        {
            await GrpcErrors.WriteTrailersOnlyAsync(http, protocol, ex).ConfigureAwait(false);
            return;
        }

        using (call)
        {
            var work = RunGrpcAsync(call, logger);
            if (call.HasDeadline && !work.IsCompleted)
            {
                // Enforce the deadline even when a handler ignores its cancellation token.
                var deadline = Task.Delay(Timeout.Infinite, call.Context.CancellationToken);
                if (await Task.WhenAny(work, deadline).ConfigureAwait(false) != work && call.DeadlineExpired)
                {
                    await call.FinishAsync(StatusCode.DeadlineExceeded, "deadline exceeded", null).ConfigureAwait(false);
                    await call.CompleteResponseAsync().ConfigureAwait(false);
                }
            }

            await work.ConfigureAwait(false);
        }
    }

    private async Task RunGrpcAsync(GrpcServerCall call, ILogger logger)
    {
        var context = call.Context;
        try
        {
            switch (Type)
            {
                case MethodType.Unary when _borrowingParser is not null:
                    {
                        // The request's bytes fields alias a pooled frame buffer: return it only after the handler.
                        var (request, rented) = await call.Reader.ReadBorrowedAsync(_borrowingParser, context.CancellationToken).ConfigureAwait(false);
                        Reply reply;
                        try
                        {
                            reply = await InvokeUnaryAsync(request ?? throw NoMessage(), context).ConfigureAwait(false);
                        }
                        finally
                        {
                            if (rented is not null)
                            {
                                ArrayPool<byte>.Shared.Return(rented);
                            }
                        }

                        using (reply)
                        {
                            await call.WriteReplyAsync(reply.Message, reply.Encoded?.Bytes).ConfigureAwait(false);
                        }

                        break;
                    }

                case MethodType.Unary:
                    {
                        var request = await ReadSingleAsync(call).ConfigureAwait(false);
                        using var reply = await InvokeUnaryAsync(request, context).ConfigureAwait(false);
                        await call.WriteReplyAsync(reply.Message, reply.Encoded?.Bytes).ConfigureAwait(false);
                        break;
                    }

                case MethodType.ClientStreaming:
                    {
                        var response = await _clientStreaming!(ReadAll(call, context.CancellationToken), context).ConfigureAwait(false);
                        await call.WriteMessageAsync(response, flush: false).ConfigureAwait(false);
                        break;
                    }

                case MethodType.ServerStreaming:
                    {
                        var request = await ReadSingleAsync(call).ConfigureAwait(false);
                        await _serverStreaming!(request, new StreamWriter(call), context).ConfigureAwait(false);
                        break;
                    }

                default:
                    await _duplex!(ReadAll(call, context.CancellationToken), new StreamWriter(call), context).ConfigureAwait(false);
                    break;
            }

            await call.FinishAsync(StatusCode.OK, "", null).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            RpcLog.CallFailed(logger, Path, ex.Status, ex.Detail);
            await call.FinishAsync(ex.Status, ex.Detail, ex.Trailers).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (call.DeadlineExpired)
        {
            await call.FinishAsync(StatusCode.DeadlineExceeded, "deadline exceeded", null).ConfigureAwait(false);
        }
        catch (Exception) when (call.Context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away (RST_STREAM or a closed connection): nobody is left to answer.
        }
        catch (Exception ex)
        {
            RpcLog.HandlerFailed(logger, Path, ex);
            await call.FinishAsync(StatusCode.Unknown, "exception in handler: " + ex.Message, null).ConfigureAwait(false);
        }
    }

    private static async ValueTask<TRequest> ReadSingleAsync(GrpcServerCall call)
    {
        var request = await call.Reader.ReadAsync<TRequest>(call.Context.CancellationToken).ConfigureAwait(false);
        return request ?? throw NoMessage();
    }

    private async ValueTask<Reply> InvokeUnaryAsync(TRequest request, RpcCallContext context) =>
        _encodedUnary is not null
            ? new Reply(null, await _encodedUnary(request, context).ConfigureAwait(false))
            : new Reply(await _unary!(request, context).ConfigureAwait(false), null);

    private static RpcException NoMessage() =>
        new(StatusCode.Internal, "request stream ended without a message (a unary call needs exactly one)");

    private static async IAsyncEnumerable<TRequest> ReadAll(GrpcServerCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await call.Reader.ReadAsync<TRequest>(cancellationToken).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>A unary handler's answer: a message, or its encoded form (JSON callers get it parsed).</summary>
    private readonly record struct Reply(TResponse? Message, EncodedMessage<TResponse>? Encoded) : IDisposable
    {
        public TResponse AsMessage() => Message ?? Encoded!.ToMessage();

        public void Dispose() => Encoded?.Dispose();
    }

    private sealed class StreamWriter(GrpcServerCall call) : IRpcStreamWriter<TResponse>
    {
        public ValueTask WriteAsync(TResponse message, CancellationToken cancellationToken = default) =>
            call.WriteMessageAsync(message, flush: true);
    }
}
