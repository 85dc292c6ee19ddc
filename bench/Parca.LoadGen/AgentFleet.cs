using Google.Protobuf;
using Parca.Agent.Shipping.Arrow;
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
    private ByteString[][]? _arrow;
    private int[][]? _arrowSamples;

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

    /// <summary>
    /// Switches the fleet to Parca's v2 Arrow protocol (WriteArrow, LZ4 as parca-agent sends it) with the same
    /// samples: the request of window w holds the same series and profiles as WriteRaw's, one row per pprof sample.
    /// Records are built up front for 32 windows and then repeat (so pods change once, at window 30).
    /// </summary>
    public void UseArrow(int seriesPerRequest)
    {
        const int windows = 32;
        _arrow = new ByteString[_payloads.Length][];
        _arrowSamples = new int[_payloads.Length][];
        for (var a = 0; a < _payloads.Length; a++)
        {
            _arrow[a] = new ByteString[windows];
            _arrowSamples[a] = new int[windows];
            for (var window = 0; window < windows; window++)
            {
                var rows = new List<ArrowSample>();
                for (var s = 0; s < seriesPerRequest; s++)
                {
                    var labels = new Dictionary<string, string?> { ["node"] = $"node-{a}", ["comm"] = $"proc-{s}", ["pod"] = $"pod-{a}-{s}-{window / 30}" };
                    rows.AddRange(ArrowRows(_payloads[a][(window + s) % _payloads[a].Length], labels));
                }

                _arrow[a][window] = ByteString.CopyFrom(V2RecordWriter.Write([rows], lz4: true));
                _arrowSamples[a][window] = rows.Count;
            }
        }
    }

    /// <summary>The v2 requests built by <see cref="UseArrow"/> with their sample counts, every agent's windows in turn.</summary>
    public IEnumerable<(ByteString Record, int Samples)> ArrowRequests()
    {
        var arrow = _arrow ?? throw new InvalidOperationException("call UseArrow first");
        for (var w = 0; w < arrow[0].Length; w++)
        {
            for (var a = 0; a < arrow.Length; a++)
            {
                yield return (arrow[a][w], _arrowSamples![a][w]);
            }
        }
    }

    private static IEnumerable<ArrowSample> ArrowRows(ByteString pprof, Dictionary<string, string?> labels)
    {
        var p = Parca.Pprof.PprofDecoder.DecodeProfile(pprof.Span);
        var functions = p.Functions.ToDictionary(f => f.Id);
        var mapping = p.Mappings[0];
        // One Frame per location, shared by every row that uses it, as the agent's aggregation gives them.
        var frameOf = p.Locations.ToDictionary(l => l.Id, l => new Frame(l.Address, "native", mapping.Filename, mapping.BuildId,
            [.. l.Lines.Select(line => new FrameLine(functions[line.FunctionId].Name, functions[line.FunctionId].Filename, (ulong)line.LineNumber))]));
        foreach (var s in p.Samples)
        {
            var frames = s.LocationIds.Select(id => frameOf[id]).ToArray();
            yield return new ArrowSample(frames, s.Values[0], labels, p.TimeNanos) { Duration = (ulong)p.DurationNanos, Period = p.Period };
        }
    }

    /// <summary>Runs every agent against <paramref name="address"/> until cancelled; <paramref name="onWritten"/> gets each accepted request's sample count.</summary>
    public Task RunAsync(string address, int seriesPerRequest, Action<int> onWritten, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, _payloads.Length).Select(a => Task.Run(async () =>
        {
            // LOADGEN_TLS_CA: trust this CA (the server runs with --http-tls-*); LOADGEN_TOKEN: send a bearer token.
            using var channel = RpcChannel.Create(address, new RpcChannelOptions
            {
                TlsCaFile = Environment.GetEnvironmentVariable("LOADGEN_TLS_CA"),
                BearerToken = Environment.GetEnvironmentVariable("LOADGEN_TOKEN"),
            });
            for (var window = 0; !cancellationToken.IsCancellationRequested; window++)
            {
                if (_arrow is not null)
                {
                    var w = window % _arrow[a].Length;
                    await channel.UnaryAsync(ParcaApi.ProfileStore.WriteArrow, new WriteArrowRequest { IpcBuffer = _arrow[a][w] });
                    onWritten(_arrowSamples![a][w]);
                    continue;
                }

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
