using Google.Protobuf;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.LoadGen;

/// <summary>
/// N simulated agents pushing batched WriteRaw requests as fast as the server takes them: each agent sends
/// <c>seriesPerRequest</c> per-process profiles per request with parca-agent's labels (node, comm) and label churn
/// (pods replaced every 30 windows). Payloads are built once (ByteStrings are immutable), so the client, which shares
/// the cores with the server here, spends as little as a real remote agent would.
/// </summary>
internal sealed class AgentFleet
{
    private readonly ByteString[][] _payloads;
    private readonly Dictionary<ByteString, int> _samplesOf = [];

    public AgentFleet(Workload workload, int agents, int cores, long startNanos)
    {
        _payloads = new ByteString[agents][];
        for (var a = 0; a < agents; a++)
        {
            var rng = new Random(a);
            _payloads[a] = Enumerable.Range(0, 16).Select(_ => ByteString.CopyFrom(workload.Pprof(rng, startNanos, cores))).ToArray();
            foreach (var p in _payloads[a])
            {
                _samplesOf[p] = Parca.Pprof.PprofDecoder.DecodeProfile(p.Span).Samples.Count;
            }
        }
    }

    /// <summary>Runs every agent against <paramref name="address"/> until cancelled; <paramref name="onWritten"/> gets each accepted request's sample count.</summary>
    public Task RunAsync(string address, int seriesPerRequest, Action<int> onWritten, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, _payloads.Length).Select(a => Task.Run(async () =>
        {
            using var channel = RpcChannel.Create(address, new RpcChannelOptions());
            for (var window = 0; !cancellationToken.IsCancellationRequested; window++)
            {
                var request = new WriteRawRequest();
                var samples = 0;
                for (var s = 0; s < seriesPerRequest; s++)
                {
                    var series = new RawProfileSeries { Labels = new LabelSet() };
                    series.Labels.Labels.Add(new Label { Name = "__name__", Value = "parca_agent" });
                    series.Labels.Labels.Add(new Label { Name = "node", Value = $"node-{a}" });
                    series.Labels.Labels.Add(new Label { Name = "comm", Value = $"proc-{s}" });
                    series.Labels.Labels.Add(new Label { Name = "pod", Value = $"pod-{a}-{s}-{window / 30}" });
                    var payload = _payloads[a][(window + s) % _payloads[a].Length];
                    samples += _samplesOf[payload];
                    series.Samples.Add(new RawSample { RawProfile = payload });
                    request.Series.Add(series);
                }

                await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request);
                onWritten(samples);
            }
        }, CancellationToken.None)));
}
