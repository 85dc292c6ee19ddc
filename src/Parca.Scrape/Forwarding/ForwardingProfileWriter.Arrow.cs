using Parca.Protocol.Profilestore.V1Alpha1;

namespace Parca.Scrape.Forwarding;

/// <summary>
/// v2 Arrow writes received by a forwarder (<see cref="ForwardingProfileStoreService"/>) go straight on to the store
/// with the forwarder's credentials: not queued, because the sending agent keeps its own retry and back-off, and the
/// store's answer (including a refusal naming the column) reaches the agent unchanged. The record is passed through
/// as received, so <c>--external-label</c>s are not added to it (they would mean rewriting every record).
/// </summary>
public sealed partial class ForwardingProfileWriter
{
    internal async Task ForwardArrowAsync(WriteArrowRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        try
        {
            await _client.WriteArrowAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Grpc.Core.RpcException e)
        {
            throw new global::Parca.Rpc.RpcException((global::Parca.Rpc.StatusCode)(int)e.StatusCode, "--store-address: " + e.Status.Detail);
        }
    }
}
