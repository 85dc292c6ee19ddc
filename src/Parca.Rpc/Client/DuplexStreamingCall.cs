using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;

namespace Parca.Rpc.Client;

/// <summary>
/// A bidirectional call in progress (ProfileStoreService.Write): write requests and read responses concurrently,
/// <see cref="CompleteRequests"/> when done writing; <see cref="ReadAllAsync"/> ends with the call's status.
/// Dispose to release the HTTP/2 stream.
/// </summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : IAsyncDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly ChannelWriter<TRequest> _requests;
    private readonly Task<ActiveCall> _call;
    private readonly HttpContent _content;

    internal DuplexStreamingCall(ChannelWriter<TRequest> requests, Task<ActiveCall> call, HttpContent content)
    {
        _requests = requests;
        _call = call;
        _content = content;
    }

    public async ValueTask WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        try
        {
            await _requests.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            var call = await _call.ConfigureAwait(false);
            call.ThrowIfNotOk();
            throw new RpcException(StatusCode.FailedPrecondition, "request stream already completed");
        }
    }

    public void CompleteRequests() => _requests.TryComplete();

    /// <summary>The responses; throws <see cref="RpcException"/> if the call ends with a non-OK status.</summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = await _call.ConfigureAwait(false);
        await foreach (var message in call.ReadAllAsync<TResponse>(cancellationToken).ConfigureAwait(false))
        {
            yield return message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _requests.TryComplete();
        try
        {
            var call = await _call.ConfigureAwait(false);
            await call.DisposeAsync().ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The call failed to start; its status was (or will be) reported by ReadAllAsync.
        }

        _content.Dispose();
    }
}
