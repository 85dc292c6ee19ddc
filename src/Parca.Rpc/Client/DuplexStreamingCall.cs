using System.Runtime.CompilerServices;
using Grpc.Core;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Parca.Rpc.Client;

/// <summary>
/// A bidirectional call in progress (ProfileStoreService.Write): write requests and read responses concurrently,
/// <see cref="CompleteRequests"/> when done writing; <see cref="ReadAllAsync"/> ends with the call's status.
/// Dispose to release the HTTP/2 stream.
/// </summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<TRequest, TResponse> _call;

    internal DuplexStreamingCall(AsyncDuplexStreamingCall<TRequest, TResponse> call) => _call = call;

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
            throw new RpcException(StatusCode.FailedPrecondition, "request stream already completed");
        }
    }

    public void CompleteRequests() => _ = _call.RequestStream.CompleteAsync();

    /// <summary>The responses; throws <see cref="RpcException"/> if the call ends with a non-OK status.</summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var responses = _call.ResponseStream;
        while (true)
        {
            try
            {
                if (!await responses.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (GrpcRpcException ex)
            {
                throw RpcChannel.Translate(ex);
            }

            yield return responses.Current;
        }
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        return ValueTask.CompletedTask;
    }
}
