using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Scrape.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Server;

namespace Parca.Scrape;

/// <summary>
/// <c>parca.scrape.v1alpha1.ScrapeService/Targets</c> (also <c>GET /api/targets</c>): the scrape targets per job with
/// health, last error, last scrape time and duration, as the UI's targets page shows them.
/// </summary>
internal sealed class ScrapeService(ScrapeManager manager) : IRpcService
{
    public void Register(RpcServiceBuilder builder) => builder.MapUnary(ParcaApi.Scrape.Targets, Targets);

    private ValueTask<TargetsResponse> Targets(TargetsRequest request, RpcCallContext context)
    {
        var state = request.State;
        var response = new TargetsResponse();
        if (state is TargetsRequest.Types.State.AnyUnspecified or TargetsRequest.Types.State.Active)
        {
            foreach (var (job, targets) in manager.ActiveTargets())
            {
                var list = For(response, job);
                foreach (var target in targets)
                {
                    var (health, lastError, lastScrape, duration) = target.State();
                    var message = new Target
                    {
                        DiscoveredLabels = LabelSetOf(target.DiscoveredLabels),
                        Labels = LabelSetOf(target.Labels, skipReserved: true),
                        LastError = lastError,
                        Url = target.DisplayUrl,
                        Health = health switch
                        {
                            TargetHealth.Good => Target.Types.Health.Good,
                            TargetHealth.Bad => Target.Types.Health.Bad,
                            _ => Target.Types.Health.UnknownUnspecified,
                        },
                    };
                    if (lastScrape != default)
                    {
                        message.LastScrape = Timestamp.FromDateTimeOffset(lastScrape);
                        message.LastScrapeDuration = Duration.FromTimeSpan(duration);
                    }

                    list.Targets_.Add(message);
                }
            }
        }

        if (state is TargetsRequest.Types.State.AnyUnspecified or TargetsRequest.Types.State.Dropped)
        {
            foreach (var (job, dropped) in manager.DroppedTargets())
            {
                var list = For(response, job);
                foreach (var target in dropped)
                {
                    list.Targets_.Add(new Target { DiscoveredLabels = LabelSetOf(target.DiscoveredLabels), LastError = target.Reason });
                }
            }
        }

        return ValueTask.FromResult(response);
    }

    private static Targets For(TargetsResponse response, string job)
    {
        if (!response.Targets.TryGetValue(job, out var list))
        {
            list = new Targets();
            response.Targets[job] = list;
        }

        return list;
    }

    /// <summary>Like Parca, the reported target labels leave out reserved <c>__</c> labels (the profile name is in the URL).</summary>
    private static LabelSet LabelSetOf(IReadOnlyList<KeyValuePair<string, string>> labels, bool skipReserved = false)
    {
        var set = new LabelSet();
        foreach (var (name, value) in labels)
        {
            if (!skipReserved || !name.StartsWith("__", StringComparison.Ordinal))
            {
                set.Labels.Add(new Label { Name = name, Value = value });
            }
        }

        return set;
    }
}
