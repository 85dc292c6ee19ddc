using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;
using ProtoLabel = Parca.Protocol.Profilestore.V1Alpha1.Label;
using ProtoLabelSet = Parca.Protocol.Profilestore.V1Alpha1.LabelSet;

namespace Parca.Query.Tests.EndToEnd;

/// <summary>The query and ingest API through the real server with small hand-made profiles (hand-computed answers).</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private const string Cpu = "process_cpu:samples:count:cpu:nanoseconds:delta";
    private const long S = 1_000_000_000;
    private ParcaServer _server = null!;
    private RpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", StorageRetention = TimeSpan.Zero });
        await _server.StartAsync();
        _channel = RpcChannel.Create(_server.BaseAddress.ToString().TrimEnd('/'));
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    private static RawProfileSeries Series(byte[] pprof, params (string Name, string Value)[] labels)
    {
        var s = new RawProfileSeries { Labels = new ProtoLabelSet() };
        foreach (var (n, v) in labels)
        {
            s.Labels.Labels.Add(new ProtoLabel { Name = n, Value = v });
        }

        s.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(pprof) });
        return s;
    }

    private Task Write(params RawProfileSeries[] series)
    {
        var request = new WriteRawRequest();
        request.Series.AddRange(series);
        return _channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request);
    }

    private async Task Seed()
    {
        await Write(
            Series(PprofBuilder.Cpu(10 * S, ("main;work", 3), ("main;work;leaf", 2)), ("__name__", "process_cpu"), ("job", "api"), ("instance", "1"), ("node", "n1")),
            Series(PprofBuilder.Cpu(20 * S, ("main;work", 1)), ("__name__", "process_cpu"), ("job", "api"), ("instance", "1")),
            Series(PprofBuilder.Cpu(10 * S, ("main;gc", 4)), ("__name__", "process_cpu"), ("job", "api"), ("instance", "2")),
            Series(PprofBuilder.Cpu(15 * S, ("main;query", 5)), ("__name__", "process_cpu"), ("job", "db")));
    }

    private static Timestamp Ts(long nanos) => new() { Seconds = nanos / S, Nanos = (int)(nanos % S) };

    [Fact]
    public async Task WriteRaw_rejects_bad_series_with_invalid_argument_and_stores_nothing_of_the_request()
    {
        var good = Series(PprofBuilder.Cpu(10 * S, ("main", 1)), ("__name__", "process_cpu"), ("job", "a"));
        var e = await Assert.ThrowsAsync<RpcException>(() => Write(good, Series(PprofBuilder.Cpu(10 * S, ("main", 1)), ("job", "b"))));
        Assert.Equal(StatusCode.InvalidArgument, e.Status);
        Assert.Contains("series[1]: missing __name__ label", e.Message);

        e = await Assert.ThrowsAsync<RpcException>(() => Write(Series(PprofBuilder.Cpu(1, ("main", 1)), ("__name__", "p"), ("bad-name", "x"))));
        Assert.Contains("series[0].labels[1]: invalid label name 'bad-name'", e.Message);

        e = await Assert.ThrowsAsync<RpcException>(() => Write(Series([1, 2, 3, 4], ("__name__", "p"))));
        Assert.Equal(StatusCode.InvalidArgument, e.Status);
        Assert.Contains("series[0].samples[0].raw_profile", e.Message);

        var has = await _channel.UnaryAsync(ParcaApi.QueryService.HasProfileData, new HasProfileDataRequest());
        Assert.False(has.HasData);

        await Write(); // an empty request is a successful no-op (readiness ping)
    }

    [Fact]
    public async Task Series_is_unimplemented_bad_arrow_records_are_invalid_and_writeraw_keeps_working()
    {
        // What Parca Agent v0.32+ sends: Write (bidi, Arrow v1) and WriteArrow (unary, Arrow v2); bytes that are no
        // Arrow IPC stream are refused with INVALID_ARGUMENT naming the field, and the server keeps serving.
        await using (var call = _channel.DuplexStreaming(ParcaApi.ProfileStore.Write))
        {
            var write = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await call.WriteAsync(new WriteRequest { Record = ByteString.CopyFromUtf8("arrow ipc") });
                call.CompleteRequests();
                await foreach (var _ in call.ReadAllAsync())
                {
                }
            });
            Assert.Equal(StatusCode.InvalidArgument, write.Status);
            Assert.Contains("record", write.Message, StringComparison.Ordinal);
        }

        var series = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync(ParcaApi.QueryService.Series, new SeriesRequest()));
        Assert.Equal(StatusCode.Unimplemented, series.Status); // as Parca answers it

        var arrow = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync(ParcaApi.ProfileStore.WriteArrow, new WriteArrowRequest()));
        Assert.Equal(StatusCode.InvalidArgument, arrow.Status);
        Assert.Contains("empty (an Arrow IPC stream was expected)", arrow.Message, StringComparison.Ordinal);

        await Write(Series(PprofBuilder.Cpu(20 * S, ("main", 2)), ("__name__", "process_cpu"), ("job", "after-arrow")));
        var values = await _channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest { LabelName = "job" });
        Assert.Contains("after-arrow", values.LabelValues);
    }

    [Fact]
    public async Task Metadata_rpcs_list_types_labels_and_values()
    {
        await Seed();
        var types = await _channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        Assert.Equal(
            ["process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta", Cpu],
            types.Types_.Select(t => $"{t.Name}:{t.SampleType}:{t.SampleUnit}:{t.PeriodType}:{t.PeriodUnit}{(t.Delta ? ":delta" : "")}").ToArray());
        var labels = await _channel.UnaryAsync(ParcaApi.QueryService.Labels, new LabelsRequest());
        Assert.Equal(["instance", "job", "node"], labels.LabelNames);
        var values = await _channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest { LabelName = "job", ProfileType = Cpu });
        Assert.Equal(["api", "db"], values.LabelValues);
        var agents = await _channel.UnaryAsync(ParcaApi.Agents.List, new AgentsRequest());
        Assert.Contains(agents.Agents, a => a.Id.StartsWith("n1", StringComparison.Ordinal) && a.LastError.Length == 0);
    }

    [Fact]
    public async Task QueryRange_returns_hand_computed_points()
    {
        await Seed();
        var response = await _channel.UnaryAsync(ParcaApi.QueryService.QueryRange, new QueryRangeRequest
        {
            Query = Cpu + "{job=\"api\"}",
            Start = Ts(0),
            End = Ts(30 * S),
            Step = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            SumBy = { "instance" },
        });
        Assert.Equal(2, response.Series.Count);
        var one = response.Series[0];
        Assert.Equal("instance", one.Labelset.Labels.Single().Name);
        Assert.Equal("1", one.Labelset.Labels.Single().Value);
        Assert.Equal(["cpu", "nanoseconds"], new[] { one.SampleType.Type, one.SampleType.Unit });
        Assert.Equal([(10L, 50_000_000L, 1), (20L, 10_000_000L, 1)], one.Samples.Select(p => (p.Timestamp.Seconds, p.Value, p.Count)).ToArray());
        Assert.Equal(0.005, one.Samples[0].ValuePerSecond, 9);
        Assert.Equal(10 * S, one.Samples[0].Duration);

        var e = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync(ParcaApi.QueryService.QueryRange, new QueryRangeRequest
        {
            Query = "process_cpu:samples{job=\"api\"}",
            Start = Ts(0),
            End = Ts(1),
        }));
        Assert.Equal(StatusCode.InvalidArgument, e.Status);
        Assert.Contains("position 1", e.Message);
    }

    [Fact]
    public async Task Diff_top_filter_and_group_by_through_the_api()
    {
        await Seed();
        var merge = new MergeProfile { Query = Cpu + "{job=\"api\"}", Start = Ts(0), End = Ts(30 * S) };

        var top = await _channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = merge,
            ReportType = QueryRequest.Types.ReportType.Top,
        });
        Assert.Equal(100_000_000, top.Total);
        Assert.Equal(
            [("work", 40_000_000L, 60_000_000L), ("gc", 40_000_000L, 40_000_000L), ("leaf", 20_000_000L, 20_000_000L), ("main", 0L, 100_000_000L)],
            top.Top.List.Select(n => (n.Meta.Function.Name, n.Flat, n.Cumulative)).ToArray());

        var filtered = await _channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = merge,
            ReportType = QueryRequest.Types.ReportType.FlamegraphArrow,
            Filter = { new Filter { StackFilter = new StackFilter { Criteria = new FilterCriteria { FunctionName = new StringCondition { Contains = "GC" } } } } },
            GroupBy = new GroupBy { Fields = { "function_name", "labels.instance" } },
        });
        Assert.Equal(100_000_000, filtered.Total);
        Assert.Equal(60_000_000, filtered.Filtered);
        Assert.Equal("nanoseconds", filtered.FlamegraphArrow.Unit);
        var table = ArrowReader.Read(filtered.FlamegraphArrow.Record.ToByteArray());
        var names = table.GetProperty("rows").EnumerateArray()
            .Select(r => r.GetProperty("labels_only").GetBoolean() ? "[" + r.GetProperty("labels.instance").GetString() + "]" : r.GetProperty("function_name").GetString())
            .ToArray();
        Assert.Equal(new string?[] { null, "[2]", "main", "gc" }, names);

        var a = new ProfileDiffSelection { Mode = ProfileDiffSelection.Types.Mode.Merge, Merge = new MergeProfile { Query = Cpu + "{instance=\"1\"}", Start = Ts(10 * S), End = Ts(10 * S) } };
        var b = new ProfileDiffSelection { Mode = ProfileDiffSelection.Types.Mode.Merge, Merge = new MergeProfile { Query = Cpu + "{instance=\"1\"}", Start = Ts(20 * S), End = Ts(20 * S) } };
        var diff = await _channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Diff,
            Diff = new DiffProfile { A = a, B = b, Absolute = true },
            ReportType = QueryRequest.Types.ReportType.Top,
        });
        var work = diff.Top.List.Single(n => n.Meta.Function.Name == "work");
        Assert.Equal((10_000_000L, -20_000_000L), (work.Flat, work.Diff));
        var leaf = diff.Top.List.Single(n => n.Meta.Function.Name == "leaf");
        Assert.Equal((0L, -20_000_000L), (leaf.Flat, leaf.Diff));
    }

    [Fact]
    public async Task Parca_client_npm_package_reads_types_labels_values_range_and_top()
    {
        await Seed();
        var dir = Path.Combine(RepoPaths.Root, "test", "Parca.Query.Tests", "arrow-reader");
        var psi = new System.Diagnostics.ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--import", "../../interop/register.mjs", "parca-client.mjs", _server.BaseAddress.ToString().TrimEnd('/'), Cpu, "0", "30000" })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, "@parca/client failed (needs npm ci in test/interop, done by scripts/bootstrap.sh test): " + stderr);
        var json = System.Text.Json.JsonDocument.Parse(await stdout).RootElement;
        Assert.Contains(Cpu, json.GetProperty("types").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["instance", "job", "node"], json.GetProperty("labels").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal(["api", "db"], json.GetProperty("values").EnumerateArray().Select(t => t.GetString()!).ToArray());
        var points = json.GetProperty("range")[0].EnumerateArray().Select(x => (x[0].GetInt64(), x[1].GetInt64())).ToArray();
        Assert.Equal([(10L, 90_000_000L), (20L, 10_000_000L)], points);
        Assert.Equal(100_000_000, json.GetProperty("total").GetInt64());
        Assert.Equal(("work", 40_000_000L), (json.GetProperty("top")[0][0].GetString(), json.GetProperty("top")[0][1].GetInt64()));
    }

    [Fact]
    public async Task Plain_http_ingest_accepts_curl_style_posts()
    {
        using var http = new HttpClient { BaseAddress = _server.BaseAddress };
        static ByteArrayContent Body(byte[] bytes)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new("application/octet-stream");
            return content;
        }

        var ok = await http.PostAsync("ingest?name=process_cpu&job=curl", Body(PprofBuilder.Cpu(10 * S, ("main;work", 3))));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("{\"samples\":2}\n", await ok.Content.ReadAsStringAsync());

        var missing = await http.PostAsync("ingest?job=curl", Body(PprofBuilder.Cpu(10 * S, ("main", 1))));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("missing query parameter 'name'", await missing.Content.ReadAsStringAsync());

        var garbage = await http.PostAsync("ingest?name=x", Body([0x1f, 0x8b, 0, 0]));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);

        // Without a content type (as a web page's no-cors fetch can send it) the post is refused before reading.
        var simple = await http.PostAsync("ingest?name=process_cpu&job=page", new ByteArrayContent(PprofBuilder.Cpu(10 * S, ("main", 1))));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, simple.StatusCode);

        var values = await _channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest { LabelName = "job" });
        Assert.Equal(["curl"], values.LabelValues);
    }

    [Fact]
    public async Task Persisted_blocks_survive_a_restart()
    {
        var dir = Directory.CreateTempSubdirectory("parca-persist-").FullName;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var options = new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", EnablePersistence = true, StoragePath = dir };
        try
        {
            await using (var first = ParcaServer.Create(options))
            {
                await first.StartAsync();
                using var channel = RpcChannel.Create(first.BaseAddress.ToString().TrimEnd('/'));
                var request = new WriteRawRequest();
                request.Series.Add(Series(PprofBuilder.Cpu(now, ("main;work", 3), ("main;gc", 1)), ("__name__", "process_cpu"), ("job", "persist")));
                await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request);
            }

            Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "blocks"), "*.prcb"));
            await using var second = ParcaServer.Create(options);
            await second.StartAsync();
            using var channel2 = RpcChannel.Create(second.BaseAddress.ToString().TrimEnd('/'));
            var top = await channel2.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
            {
                Mode = QueryRequest.Types.Mode.Merge,
                Merge = new MergeProfile { Query = Cpu + "{job=\"persist\"}", Start = Ts(now - S), End = Ts(now + S) },
                ReportType = QueryRequest.Types.ReportType.Top,
            });
            Assert.Equal(40_000_000, top.Total);
            Assert.Equal([("work", 30_000_000L), ("gc", 10_000_000L), ("main", 0L)], top.Top.List.Select(n => (n.Meta.Function.Name, n.Flat)).ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
