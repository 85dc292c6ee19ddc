using Grpc.Core;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Parca.Rpc.Client;

/// <summary>
/// A client-streaming call in progress: <see cref="WriteAsync"/> each request, <see cref="CompleteRequests"/>,
/// then await <see cref="ResponseAsync"/>. If the server answers early (an error), writes fail with its status.
/// </summary>
public sealed class ClientStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly AsyncClientStreamingCall<TRequest, TResponse> _call;

    internal ClientStreamingCall(AsyncClientStreamingCall<TRequest, TResponse> call)
    {
        _call = call;
        ResponseAsync = ResponseOrStatusAsync(call);
    }

    public Task<TResponse> ResponseAsync { get; }

    public async ValueTask WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        try
        {
            await _call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcRpcException ex)
        {
            throw RpcChannel.Translate(ex);
        }
        catch (InvalidOperationException)
        {
            // The call already ended: surface its status rather than the stream's state.
            await ResponseAsync.ConfigureAwait(false);
            throw new RpcException(StatusCode.FailedPrecondition, "request stream already completed");
        }
    }

    /// <summary>No more requests: the server sees the end of the stream.</summary>
    public void CompleteRequests() => _ = _call.RequestStream.CompleteAsync();

    public void Dispose() => _call.Dispose();

    private static async Task<TResponse> ResponseOrStatusAsync(AsyncClientStreamingCall<TRequest, TResponse> call)
    {
        try
        {
            return await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (GrpcRpcException ex)
        {
            throw RpcChannel.Translate(ex);
        }
    }
}
