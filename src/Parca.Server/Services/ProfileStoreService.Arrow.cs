using Parca.Ingest.Arrow;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Server;

namespace Parca.Server.Services;

/// <summary>The Arrow handlers: thin calls into <see cref="ArrowIngest"/>, errors mapped to gRPC statuses.</summary>
internal sealed partial class ProfileStoreService
{
    private ValueTask<WriteArrowResponse> WriteArrow(WriteArrowRequest request, RpcCallContext context)
    {
        Ingest(context, () => arrow.WriteArrow(request.IpcBuffer.Memory));
        return ValueTask.FromResult(new WriteArrowResponse());
    }

    private async ValueTask Write(IAsyncEnumerable<WriteRequest> requests, IRpcStreamWriter<WriteResponse> responses, RpcCallContext context)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        limit.CancelAfter(arrow.WriteExchangeLimit);
        try
        {
            await using var incoming = requests.GetAsyncEnumerator(limit.Token);
            using var exchange = new V1Exchange(arrow);
            if (!await incoming.MoveNextAsync().ConfigureAwait(false))
            {
                throw new RpcException(StatusCode.InvalidArgument, "record: the stream ended before the sample record");
            }

            var answer = Ingest(context, () => exchange.Begin(incoming.Current.Record.Memory));
            await responses.WriteAsync(new WriteResponse { Record = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(answer) }, limit.Token).ConfigureAwait(false);
            if (!await incoming.MoveNextAsync().ConfigureAwait(false))
            {
                throw new RpcException(StatusCode.InvalidArgument, "record: the stream ended before the locations record");
            }

            Ingest(context, () => exchange.Finish(incoming.Current.Record.Memory));
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.DeadlineExceeded, context.CancellationToken.IsCancellationRequested
                ? "Write: the call's deadline passed or the client cancelled before the exchange finished"
                : $"Write: the exchange did not finish within {arrow.WriteExchangeLimit.TotalSeconds:0.#} s");
        }
    }

    private T Ingest<T>(RpcCallContext context, Func<T> ingest)
    {
        var started = DateTime.UtcNow;
        try
        {
            var result = ingest();
            agents.Record(null, context.Peer?.Address.ToString(), started, DateTime.UtcNow - started, null);
            return result;
        }
        catch (IngestError e)
        {
            agents.Record(null, context.Peer?.Address.ToString(), started, DateTime.UtcNow - started, e.Message);
            throw new RpcException(e.Status, e.Message);
        }
    }
}
