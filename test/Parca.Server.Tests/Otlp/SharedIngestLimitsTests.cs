using Google.Protobuf;
using Parca.Agent.Shipping.Arrow;
using Parca.Ingest;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server.Tests.Arrow;

namespace Parca.Server.Tests.Otlp;

/// <summary>
/// The ingest limits hold for every protocol through the one shared ingest step: the same request content sent as
/// WriteRaw (the reference), v2 WriteArrow (@grpc/grpc-js) and OTLP Export (protobufjs over grpc-js) is refused
/// with RESOURCE_EXHAUSTED and the same message naming the flag; nothing is stored.
/// </summary>
public sealed class SharedIngestLimitsTests : IAsyncLifetime
{
    private static readonly byte[] s_pprof = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));
    private static readonly long s_now = WriteArrowTests.Now;
    private ParcaServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            Limits = new ServerLimits { MaxLabelNamesPerSeries = 4, MaxLabelValueLength = 16, MaxSeriesPerRequest = 2, MaxStackDepth = 3, MaxProfileSamples = 5 },
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>name → (label sets, stack, samples per label set) and the message every protocol must end with.</summary>
    public static TheoryData<string, string, bool> Cases() => new()
    {
        { "labels", ": 5 labels, more than the limit of 4 (--ingest-max-label-names-per-series)", true },
        { "value", ": value of label 'a' has 20 characters, longer than the limit of 16 (--ingest-max-label-value-length)", true },
        { "series", "3 series in one request, more than the limit of 2 (--ingest-max-series-per-request)", true },
        { "depth", ": a stack of 4 frames, deeper than the limit of 3 (--ingest-max-stack-depth)", false },
        { "samples", " has 6 samples, more than the limit of 5 (--ingest-max-profile-samples)", false },
    };

    private static (List<(string, string)[]> LabelSets, string Stack, int Samples) Shape(string name) => name switch
    {
        "labels" => ([[("a", "1"), ("b", "1"), ("c", "1"), ("d", "1")]], "main;work", 1),
        "value" => ([[("a", new string('v', 20))]], "main;work", 1),
        "series" => ([[("a", "1")], [("a", "2")], [("a", "3")]], "main;work", 1),
        "depth" => ([[("a", "1")]], "main;work;more;leaf", 1),
        _ => ([[("a", "1")]], "main;work", 6),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Limit_is_refused_alike_by_WriteRaw_WriteArrow_and_OTLP(string name, string expected, bool writeRawToo)
    {
        var (sets, stack, samples) = Shape(name);

        var rows = sets.SelectMany(set => Enumerable.Range(0, samples).Select(i => TestRows.Of(stack, 1, s_now + i, set.Select(l => (l.Item1, (string?)l.Item2)).ToArray()))).ToArray();
        var arrow = await ArrowPeers.GrpcJsWriteAsync(_server, new WriteStep("arrow", "WriteArrow", [V2RecordWriter.Write([rows])]));
        var arrowError = arrow.GetProperty("arrow").GetProperty("error");
        Assert.Equal(8, arrowError.GetProperty("code").GetInt32()); // RESOURCE_EXHAUSTED
        Assert.EndsWith(expected, arrowError.GetProperty("details").GetString(), StringComparison.Ordinal);

        var frames = stack.Split(';').Select(OtlpExportTests.F).ToArray();
        var request = new OtlpRequest();
        foreach (var set in sets)
        {
            request.Resource([.. set.Select(l => (l.Item1, (object)l.Item2))], "parca_test",
                new OtlpProfile("samples", "count", "cpu", "nanoseconds", 1, (ulong)s_now, 10_000_000_000,
                    [.. Enumerable.Range(0, samples).Select(i => new OtlpSample(frames, [1], [(ulong)(s_now + i)], []))]));
        }

        var otlp = await OtlpPeer.ExportAsync(_server, new OtlpStep("otlp", "grpc", request.Build()));
        var otlpError = otlp.GetProperty("otlp").GetProperty("error");
        Assert.Equal(8, otlpError.GetProperty("code").GetInt32());
        Assert.EndsWith(expected, otlpError.GetProperty("details").GetString(), StringComparison.Ordinal);

        if (writeRawToo)
        {
            var raw = new WriteRawRequest();
            foreach (var set in sets)
            {
                var series = new RawProfileSeries { Labels = new Protocol.Profilestore.V1Alpha1.LabelSet() };
                series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
                series.Labels.Labels.Add(set.Select(l => new Label { Name = l.Item1, Value = l.Item2 }));
                series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(s_pprof) });
                raw.Series.Add(series);
            }

            using var channel = RpcChannel.Create(_server.BaseAddress.GetLeftPart(UriPartial.Authority));
            var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, raw));
            Assert.Equal(StatusCode.ResourceExhausted, e.Status);
            Assert.EndsWith(expected, e.Detail, StringComparison.Ordinal);
        }

        Assert.Empty(await ArrowPeers.ProfileTypesAsync(_server));
    }
}
