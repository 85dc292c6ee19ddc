using System.Text.Json;
using Google.Protobuf;
using Parca.Ingest;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// The ingest and registry limits of a real server on 127.0.0.1:0, through real clients (the gRPC client, curl):
/// every refusal names its limit and flag, and nothing but the refused request is lost.
/// </summary>
public sealed class LimitsTests : IAsyncLifetime
{
    private static readonly byte[] s_profile = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));
    private ParcaServer _server = null!;
    private RpcChannel _channel = null!;

    private string Http => _server.BaseAddress.ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            StorageRetention = TimeSpan.Zero,
            ConfigPath = "/nonexistent/parca.yaml",
            AllowedHosts = ["127.0.0.1", "localhost"],
            CorsAllowedOrigins = ["*"],
            Limits = new ServerLimits
            {
                MaxLabelNamesPerSeries = 8,
                MaxLabelNameLength = 32,
                MaxLabelValueLength = 64,
                MaxSeriesPerRequest = 3,
                MaxStackDepth = 100,
                MaxAgents = 5,
            },
        });
        await _server.StartAsync();
        _channel = RpcChannel.Create(Http);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    private static RawProfileSeries Series(byte[] pprof, params (string Name, string Value)[] labels)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
        foreach (var (name, value) in labels)
        {
            series.Labels.Labels.Add(new Label { Name = name, Value = value });
        }

        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(pprof) });
        return series;
    }

    private async Task<RpcException> RefusedAsync(params RawProfileSeries[] series)
    {
        var request = new WriteRawRequest();
        request.Series.AddRange(series);
        return await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request));
    }

    private static byte[] Flat(int depth)
    {
        var p = new Pprof.Profile { PeriodType = new Pprof.PprofValueType("cpu", "nanoseconds"), Period = 1, TimeNanos = 1 };
        p.SampleTypes.Add(new Pprof.PprofValueType("samples", "count"));
        p.Mappings.Add(new Pprof.Mapping { Id = 1, MemoryStart = 0x1000, MemoryLimit = 0x2000, Filename = "/bin/x" });
        p.Functions.Add(new Pprof.Function { Id = 1, Name = "f", SystemName = "f" });
        var loc = new Pprof.Location { Id = 1, MappingId = 1, Address = 0x1100 };
        loc.Lines.Add(new Pprof.Line(1, 1));
        p.Locations.Add(loc);
        p.Samples.Add(new Pprof.Sample { LocationIds = [.. Enumerable.Repeat(1UL, depth)], Values = [1] });
        return Pprof.PprofEncoder.Encode(p);
    }

    [Fact]
    public async Task Label_limits_are_refused_with_the_flag_over_grpc()
    {
        var many = await RefusedAsync(Series(s_profile, [.. Enumerable.Range(0, 8).Select(i => ("l" + i, "v"))]));
        Assert.Equal(StatusCode.ResourceExhausted, many.Status);
        Assert.Equal("series[0].labels: 9 labels, more than the limit of 8 (--ingest-max-label-names-per-series)", many.Detail);

        var name = await RefusedAsync(Series(s_profile, (new string('n', 33), "v")));
        Assert.Equal(StatusCode.ResourceExhausted, name.Status);
        Assert.Equal("series[0].labels[1]: label name of 33 characters, longer than the limit of 32 (--ingest-max-label-name-length)", name.Detail);

        var value = await RefusedAsync(Series(s_profile, ("job", new string('v', 65))));
        Assert.Equal(StatusCode.ResourceExhausted, value.Status);
        Assert.Equal("series[0].labels[1]: value of label 'job' has 65 characters, longer than the limit of 64 (--ingest-max-label-value-length)", value.Detail);

        var series = await RefusedAsync([.. Enumerable.Range(0, 4).Select(i => Series(s_profile, ("job", "j" + i)))]);
        Assert.Equal(StatusCode.ResourceExhausted, series.Status);
        Assert.Equal("4 series in one request, more than the limit of 3 (--ingest-max-series-per-request)", series.Detail);

        var deep = await RefusedAsync(Series(Flat(101), ("job", "deep")));
        Assert.Equal(StatusCode.ResourceExhausted, deep.Status);
        Assert.Equal("series[0].samples[0].raw_profile: sample[0].location_id: 101 frames, more than the stack depth limit of 100 (--ingest-max-stack-depth)", deep.Detail);

        // Within the limits the same request shapes are stored.
        var ok = new WriteRawRequest();
        ok.Series.Add(Series(Flat(100), [.. Enumerable.Range(0, 7).Select(i => ("l" + i, new string('v', 64)))]));
        await _channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, ok);
    }

    [Fact]
    public async Task Limit_refusals_reach_grpc_js_and_grpc_web_clients_with_the_flag()
    {
        var file = Path.Combine(Path.GetTempPath(), $"parca-limits-{Guid.NewGuid():N}.pb.gz");
        await File.WriteAllBytesAsync(file, s_profile);
        try
        {
            const string Expected = "series[0].labels: 9 labels, more than the limit of 8 (--ingest-max-label-names-per-series)";
            var node = await NodeClients.RunAsync(new { address = $"127.0.0.1:{_server.BaseAddress.Port}", web = Http + "/api", write = new { file, labels = 9 } });
            Assert.Equal("error 8 " + Expected, node.GetProperty("grpcWrite").GetString()); // 8 = RESOURCE_EXHAUSTED
            Assert.Equal("error RESOURCE_EXHAUSTED " + Expected, node.GetProperty("webWrite").GetString());

            node = await NodeClients.RunAsync(new { address = $"127.0.0.1:{_server.BaseAddress.Port}", web = Http + "/api", write = new { file, labels = 8 } });
            Assert.Equal("ok", node.GetProperty("grpcWrite").GetString());
            Assert.Equal("ok", node.GetProperty("webWrite").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Ingest_refuses_simple_content_types_without_a_token()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, s_profile);
        try
        {
            foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x" })
            {
                var refused = await Curl.RunAsync("-H", "Content-Type: " + type, "--data-binary", "@" + file, Http + "/ingest?name=process_cpu&job=csrf");
                Assert.Equal(415, refused.Status);
                Assert.StartsWith($"POST /ingest needs a non-form Content-Type such as application/octet-stream (got '{type}')", refused.Body, StringComparison.Ordinal);
            }

            // curl's default for --data-binary is a form type: refused too.
            Assert.Equal(415, (await Curl.RunAsync("--data-binary", "@" + file, Http + "/ingest?name=process_cpu&job=csrf")).Status);

            var accepted = await Curl.RunAsync("-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file, Http + "/ingest?name=process_cpu&job=csrf");
            Assert.Equal(200, accepted.Status);
            Assert.True(JsonDocument.Parse(accepted.Body).RootElement.GetProperty("samples").GetInt64() > 0);

            // A request with an Authorization header cannot come from a page without a preflight: its type does not matter.
            var withToken = await Curl.RunAsync("-H", "Authorization: Bearer x", "-H", "Content-Type: text/plain", "--data-binary", "@" + file, Http + "/ingest?name=process_cpu&job=csrf");
            Assert.Equal(200, withToken.Status);

            var tooBig = await Curl.RunAsync("-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file, Http + "/ingest?name=process_cpu&" + new string('x', 40) + "=1");
            Assert.Equal(413, tooBig.Status);
            Assert.Contains("(--ingest-max-label-name-length)", tooBig.Body, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Hosts_outside_the_allow_list_are_refused()
    {
        var rebound = await Curl.RunAsync("-H", "Host: attacker.example", Http + "/api/profiles/types");
        Assert.Equal(421, rebound.Status);
        Assert.Equal("host 'attacker.example' is not served here (--http-allowed-hosts)\n", rebound.Body);

        Assert.Equal(200, (await Curl.RunAsync(Http + "/healthz")).Status);
        Assert.Equal(200, (await Curl.RunAsync("-H", $"Host: localhost:{_server.BaseAddress.Port}", Http + "/healthz")).Status);
    }

    [Fact]
    public async Task Cors_star_never_reflects_the_origin_with_credentials()
    {
        var preflight = await Curl.RunAsync("-X", "OPTIONS", "-H", "Origin: http://evil.example", "-H", "Access-Control-Request-Method: POST",
            "-H", "Access-Control-Request-Headers: content-type", Http + "/ingest");
        Assert.Equal(204, preflight.Status);
        Assert.Contains("access-control-allow-origin: *", preflight.Headers, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://evil.example", preflight.Headers, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("access-control-allow-credentials", preflight.Headers, StringComparison.OrdinalIgnoreCase);

        var call = await Curl.RunAsync("-H", "Origin: http://evil.example", Http + "/api/profiles/types");
        Assert.Contains("access-control-allow-origin: *", call.Headers, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("access-control-allow-credentials", call.Headers, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_agents_registry_keeps_only_accepted_writers_and_is_capped()
    {
        for (var i = 0; i < 50; i++)
        {
            await RefusedAsync(Series(s_profile, ("node", "made-up-" + i), ("bad-name", "x")));
        }

        var agents = JsonDocument.Parse((await Curl.RunAsync(Http + "/api/agents")).Body).RootElement.GetProperty("agents");
        Assert.Equal(0, agents.GetArrayLength());

        for (var i = 0; i < 8; i++)
        {
            var ok = new WriteRawRequest();
            ok.Series.Add(Series(s_profile, ("node", "n" + i)));
            await _channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, ok);
        }

        // A refused write of a known agent updates its entry with the error.
        await RefusedAsync(Series(s_profile, ("node", "n7"), ("bad-name", "x")));
        agents = JsonDocument.Parse((await Curl.RunAsync(Http + "/api/agents")).Body).RootElement.GetProperty("agents");
        Assert.Equal(5, agents.GetArrayLength());
        var ids = agents.EnumerateArray().Select(a => a.GetProperty("id").GetString()!).ToList();
        Assert.All(ids, id => Assert.Matches("^n[3-7] ", id));
        var n7 = agents.EnumerateArray().Single(a => a.GetProperty("id").GetString()!.StartsWith("n7 ", StringComparison.Ordinal));
        Assert.Contains("invalid label name 'bad-name'", n7.GetProperty("lastError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_grpc_methods_collapse_into_one_metric_label()
    {
        using var http = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = new Version(2, 0), DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        for (var i = 0; i < 300; i++)
        {
            using var content = new ByteArrayContent(new byte[5]);
            content.Headers.ContentType = new("application/grpc");
            using var response = await http.PostAsync($"{Http}/made.up.Service{i}/Method{i}", content);
        }

        var metrics = (await Curl.RunAsync(Http + "/metrics")).Body;
        Assert.DoesNotContain("made.up.Service", metrics, StringComparison.Ordinal);
        Assert.Contains("route=\"unknown_grpc_method\"", metrics, StringComparison.Ordinal);
    }
}
