using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Server;

namespace Parca.Scrape.Forwarding;

/// <summary>
/// The ProfileStoreService of <c>--mode=forwarder</c>/<c>scraper-only</c> (as Parca's forwarder proxies it): agents
/// pointed at the forwarder have their v2 <c>WriteArrow</c> requests passed on to <c>--store-address</c>.
/// </summary>
internal sealed class ForwardingProfileStoreService(ForwardingProfileWriter forwarder) : IRpcService
{
    public void Register(RpcServiceBuilder builder) => builder.MapUnary(ParcaApi.ProfileStore.WriteArrow, WriteArrow);

    private async ValueTask<WriteArrowResponse> WriteArrow(WriteArrowRequest request, RpcCallContext context)
    {
        await forwarder.ForwardArrowAsync(request, context.Deadline, context.CancellationToken).ConfigureAwait(false);
        return new WriteArrowResponse();
    }
}
