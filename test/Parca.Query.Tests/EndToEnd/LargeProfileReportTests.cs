using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;
using PprofEncoder = Parca.Pprof.PprofEncoder;

namespace Parca.Query.Tests.EndToEnd;

/// <summary>
/// Reports of a large generated profile (60k call-tree nodes, the shape of pprof's large.cpu) through the real
/// server: per-function totals against `go tool pprof -top`, trimming to fit a (deliberately small) message limit,
/// the per-query memory budget and the diff guard.
/// </summary>
public sealed partial class LargeProfileReportTests : IAsyncLifetime
{
    private const int Nodes = 60_000;
    private const int MessageLimit = 4 * 1024 * 1024;
    private const string Cpu = "cpu:samples:count:cpu:nanoseconds:delta{job=\"large\"}";
    private const long Time = 1_700_000_000_000_000_000;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"parca-large-{Guid.NewGuid():N}.pb.gz");
    private ParcaServer _server = null!;
    private RpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllBytesAsync(_file, PprofEncoder.Encode(LargeProfile.Generate(Nodes, timeNanos: Time)));
        _server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", StorageRetention = TimeSpan.Zero, MaxMessageSize = MessageLimit });
        await _server.StartAsync();
        _channel = RpcChannel.Create(_server.BaseAddress.ToString().TrimEnd('/'), new RpcChannelOptions { MaxMessageSize = 64 * 1024 * 1024 });
        await Ingest(_channel, "cpu", "large", await File.ReadAllBytesAsync(_file));
        await Ingest(_channel, "memory", "heap", await File.ReadAllBytesAsync(Path.Combine(ServerFixture.PprofDir, "go-runtime", "heap.pb.gz")));
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
        File.Delete(_file);
    }

    [Fact]
    public async Task Top_and_table_equal_go_pprof_top_even_when_the_flame_graph_is_trimmed()
    {
        var expected = GoTop(_file);
        var top = await Query(QueryRequest.Types.ReportType.Top, trim: 1f);
        Assert.Equal(expected.Count, top.Top.List.Count);
        foreach (var n in top.Top.List)
        {
            var (flat, cum) = expected[n.Meta.Function.Name];
            Assert.Equal((flat, cum), (n.Flat, n.Cumulative));
        }

        // TABLE_ARROW with a trim threshold that drops most of the flame graph: the table keeps every function's value.
        var table = await Query(QueryRequest.Types.ReportType.TableArrow, trim: 1f);
        var rows = ArrowReader.Read(table.TableArrow.Record.ToByteArray()).GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(expected.Count, rows.Length);
        foreach (var r in rows)
        {
            var (flat, cum) = expected[r.GetProperty("function_name").GetString()!];
            Assert.Equal((flat, cum), (long.Parse(r.GetProperty("flat").ToString(), CultureInfo.InvariantCulture), long.Parse(r.GetProperty("cumulative").ToString(), CultureInfo.InvariantCulture)));
        }

        var trimmed = await Query(QueryRequest.Types.ReportType.FlamegraphArrow, trim: 1f);
        Assert.True(trimmed.FlamegraphArrow.Trimmed > 0);
        Assert.Equal(1f, trimmed.FlamegraphArrow.AppliedTrimThreshold);
        Assert.Equal("", trimmed.FlamegraphArrow.TrimReason);
        Assert.Equal(Nodes + 1, trimmed.FlamegraphArrow.TotalNodes);
    }

    [Fact]
    public async Task An_untrimmed_flame_graph_over_the_message_limit_is_trimmed_to_fit_and_says_so()
    {
        var response = await Query(QueryRequest.Types.ReportType.FlamegraphArrow, trim: null);
        var fa = response.FlamegraphArrow;
        Assert.True(fa.Record.Length < MessageLimit, $"record of {fa.Record.Length} bytes");
        Assert.Contains("does not fit the 4 MiB message limit", fa.TrimReason);
        Assert.True(fa.AppliedTrimThreshold > 0);
        Assert.True(fa.KeptNodes < fa.TotalNodes && fa.KeptNodes > fa.TotalNodes / 10, $"{fa.KeptNodes} of {fa.TotalNodes}");
        var rows = ArrowReader.Read(fa.Record.ToByteArray()).GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(fa.KeptNodes, rows.Length);
        // The root keeps the whole total; what was dropped is reported, and every kept node is at or above the threshold.
        var root = long.Parse(rows[0].GetProperty("cumulative").ToString(), CultureInfo.InvariantCulture);
        Assert.Equal(response.Total, root);
        Assert.True(fa.Trimmed > 0);
        var min = rows.Skip(1).Min(r => long.Parse(r.GetProperty("cumulative").ToString(), CultureInfo.InvariantCulture));
        Assert.True(min >= root * fa.AppliedTrimThreshold / 100.0, $"kept a node of {min} under {fa.AppliedTrimThreshold}% of {root}");
    }

    [Fact]
    public async Task Top_and_callgraph_over_the_message_limit_keep_the_heaviest_functions_and_say_so()
    {
        const int limit = 256 * 1024;
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", StorageRetention = TimeSpan.Zero, MaxMessageSize = limit });
        await server.StartAsync();
        using var channel = RpcChannel.Create(server.BaseAddress.ToString().TrimEnd('/'));
        // Written to the server's store in-process: the profile itself is larger than this server's message limit.
        var writer = new ProfileWriter((Parca.Storage.ProfileStore)server.Services.GetService(typeof(Parca.Storage.ProfileStore))!);
        writer.Write([new([new("__name__", "cpu"), new("job", "large")], [new(await File.ReadAllBytesAsync(_file), null)])]);
        var expected = GoTop(_file);

        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, Request(QueryRequest.Types.ReportType.Top, null));
        var top = response.Top;
        Assert.True(response.CalculateSize() <= limit, $"response of {response.CalculateSize()} bytes");
        Assert.Equal(expected.Count, top.TotalRows);
        Assert.True(top.List.Count < expected.Count && top.List.Count > 100, $"{top.List.Count} rows");
        Assert.Equal(top.List.Count, top.Reported);
        Assert.Equal($"the top list of {expected.Count:N0} functions does not fit the 256 KiB message limit: the {top.List.Count:N0} with the highest flat values are listed", top.TrimReason);
        // The rows listed are exactly go tool pprof's heaviest by flat, with its values; the rest is the trimmed value.
        var byFlat = expected.Values.Select(v => v.Flat).OrderDescending().ToArray();
        Assert.Equal(byFlat.Take(top.List.Count), top.List.Select(n => n.Flat));
        foreach (var n in top.List)
        {
            Assert.Equal(expected[n.Meta.Function.Name], (n.Flat, n.Cumulative));
        }

        Assert.Equal(byFlat.Skip(top.List.Count).Sum(), top.Trimmed);

        response = await channel.UnaryAsync(ParcaApi.QueryService.Query, Request(QueryRequest.Types.ReportType.Callgraph, null));
        var cg = response.Callgraph;
        Assert.True(response.CalculateSize() <= limit, $"response of {response.CalculateSize()} bytes");
        Assert.Equal(expected.Count, cg.TotalNodes);
        Assert.Equal(cg.Nodes.Count, cg.KeptNodes);
        Assert.True(cg.Nodes.Count < expected.Count && cg.Nodes.Count > 10, $"{cg.Nodes.Count} nodes");
        Assert.Contains($"the call graph of {expected.Count:N0} functions does not fit the 256 KiB message limit", cg.TrimReason);
        // The heaviest functions by cumulative are the ones kept, and every edge joins two kept nodes.
        var byCum = expected.Values.Select(v => v.Cum).OrderDescending().ToArray();
        Assert.Equal(byCum.Take(cg.Nodes.Count), cg.Nodes.Select(n => n.Cumulative).OrderDescending());
        var ids = cg.Nodes.Select(n => n.Id).ToHashSet();
        Assert.NotEmpty(cg.Edges);
        Assert.All(cg.Edges, e => Assert.True(ids.Contains(e.Source) && ids.Contains(e.Target), e.Id));

        // Under the limit nothing is trimmed and nothing is said.
        var whole = await Query(QueryRequest.Types.ReportType.Top, trim: null);
        Assert.Equal(("", expected.Count, 0L), (whole.Top.TrimReason, whole.Top.List.Count, whole.Top.Trimmed));
    }

    [Fact]
    public async Task A_result_over_the_memory_budget_is_resource_exhausted_naming_the_budget()
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", StorageRetention = TimeSpan.Zero, QueryMemoryBudget = 4 << 20 });
        await server.StartAsync();
        using var channel = RpcChannel.Create(server.BaseAddress.ToString().TrimEnd('/'));
        await Ingest(channel, "cpu", "large", await File.ReadAllBytesAsync(_file));
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.QueryService.Query, Request(QueryRequest.Types.ReportType.FlamegraphArrow, 0f)));
        Assert.Equal(StatusCode.ResourceExhausted, e.Status);
        Assert.Contains("per-query memory budget of 4 MiB (--query-memory-budget)", e.Message);
        // The server keeps answering what fits.
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        Assert.Equal(2, types.Types_.Count); // samples and cpu of the one profile
    }

    [Fact]
    public async Task Diffing_cpu_against_heap_bytes_is_invalid_argument()
    {
        var request = new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Diff,
            ReportType = QueryRequest.Types.ReportType.FlamegraphArrow,
            Diff = new DiffProfile
            {
                A = new ProfileDiffSelection { Mode = ProfileDiffSelection.Types.Mode.Merge, Merge = Merge(Cpu) },
                B = new ProfileDiffSelection { Mode = ProfileDiffSelection.Types.Mode.Merge, Merge = Merge("memory:inuse_space:bytes:space:bytes{job=\"heap\"}") },
            },
        };
        var e = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync(ParcaApi.QueryService.Query, request));
        Assert.Equal(StatusCode.InvalidArgument, e.Status);
        Assert.Contains("cannot diff different sample types: diff.a is cpu in nanoseconds", e.Message);
        Assert.Contains("diff.b is inuse_space in bytes", e.Message);
    }

    private Task<QueryResponse> Query(QueryRequest.Types.ReportType type, float? trim) =>
        _channel.UnaryAsync(ParcaApi.QueryService.Query, Request(type, trim));

    private static QueryRequest Request(QueryRequest.Types.ReportType type, float? trim)
    {
        var r = new QueryRequest { Mode = QueryRequest.Types.Mode.Merge, Merge = Merge(Cpu), ReportType = type };
        if (trim is { } t)
        {
            r.NodeTrimThreshold = t;
        }

        return r;
    }

    private static MergeProfile Merge(string query) => new()
    {
        Query = query,
        Start = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(0)),
        End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(1)),
    };

    private static Task<WriteRawResponse> Ingest(RpcChannel channel, string name, string job, byte[] pprof)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = name });
        series.Labels.Labels.Add(new Label { Name = "job", Value = job });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(pprof) });
        return channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, new WriteRawRequest { Series = { series } });
    }

    /// <summary>Function name → (flat, cum) in nanoseconds from `go tool pprof -top` on the file itself.</summary>
    private static Dictionary<string, (long Flat, long Cum)> GoTop(string file)
    {
        var text = GoPprof.Run("-top", "-symbolize=none", "-sample_index=cpu", "-unit=ns", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0", file);
        var result = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var m = TopLine().Match(line);
            if (m.Success)
            {
                result.Add(m.Groups[3].Value, (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
            }
        }

        Assert.True(result.Count > 1000, "go tool pprof -top printed too few rows:\n" + text[..Math.Min(2000, text.Length)]);
        return result;
    }

    [GeneratedRegex(@"^\s*(\d+)(?:ns)?\s+[\d.]+%\s+[\d.]+%\s+(\d+)(?:ns)?\s+[\d.]+%\s+(.+?)\s*$")]
    private static partial Regex TopLine();
}
