using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Reports;
using Parca.Rpc.Client;
using ProfileStore = Parca.Storage.ProfileStore;
using ReportCache = Parca.Server.Services.ReportCache;
using StorageOptions = Parca.Storage.StorageOptions;

namespace Parca.Server.Tests;

/// <summary>
/// The merged-result cache behind Query on a real server: the reports the UI asks for one after the other over one
/// selection share one merge, and a report never answers from data older than the store holds.
/// </summary>
public sealed class ReportCacheTests : IAsyncLifetime
{
    private static readonly long s_now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
    private ParcaServer _server = null!;
    private Grpc.Net.Client.GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", StorageRetention = TimeSpan.Zero });
        await _server.StartAsync();
        _channel = GrpcChannels.Create($"127.0.0.1:{_server.BaseAddress.Port}", new RpcChannelOptions { Insecure = true, MaxAttempts = 1 });
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Reports_of_one_selection_share_a_merge_until_new_data_arrives()
    {
        await Write(s_now, ("main", 3), ("work", 5));
        var cache = _server.Services.GetRequiredService<ReportCache>();
        var query = new QueryService.QueryServiceClient(_channel);

        var flame = await query.QueryAsync(Request(QueryRequest.Types.ReportType.FlamegraphArrow, 0.5f));
        var misses = cache.Misses;
        var top = await query.QueryAsync(Request(QueryRequest.Types.ReportType.Top, null));
        Assert.Equal((1L, misses), (cache.Hits, cache.Misses));
        Assert.Equal(8, flame.Total);
        Assert.Equal(new Dictionary<string, long> { ["main"] = 8, ["work"] = 5 }, top.Top.List.ToDictionary(n => n.Meta.Function.Name, n => n.Cumulative));

        // A profile ingested since: the next report merges again and counts it.
        await Write(s_now + 1_000_000, ("main", 1), ("work", 1));
        top = await query.QueryAsync(Request(QueryRequest.Types.ReportType.Top, null));
        Assert.Equal((1L, misses + 1), (cache.Hits, cache.Misses));
        Assert.Equal(new Dictionary<string, long> { ["main"] = 10, ["work"] = 6 }, top.Top.List.ToDictionary(n => n.Meta.Function.Name, n => n.Cumulative));

        // Another selection (here: another filter) is another entry.
        var filtered = Request(QueryRequest.Types.ReportType.Top, null);
        filtered.Filter.Add(new Filter { FrameFilter = new FrameFilter { Criteria = new FilterCriteria { FunctionName = new StringCondition { NotContains = "work" } } } });
        top = await query.QueryAsync(filtered);
        Assert.Equal(misses + 2, cache.Misses);
        Assert.Equal(["main"], top.Top.List.Select(n => n.Meta.Function.Name));
    }

    [Fact]
    public void Entries_expire_and_the_least_recently_used_go_first_when_over_capacity()
    {
        var clock = new ManualClock();
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        var small = new ReportData(new Parca.Query.Engine.QueryEngine(store).Query(Parca.Query.Engine.ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta", 0, 1)));
        var bytes = small.RetainedBytes;
        var cache = new ReportCache(2 * bytes, TimeSpan.FromSeconds(30), clock);
        ReportCache.Key KeyOf(string q) => ReportCache.KeyOf(Request(QueryRequest.Types.ReportType.Top, null, q), store);

        cache.Add(KeyOf("a"), small);
        cache.Add(KeyOf("b"), small);
        Assert.True(cache.TryGet(KeyOf("a"), out _)); // a is now the most recently used
        cache.Add(KeyOf("c"), small);
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet(KeyOf("b"), out _));
        Assert.True(cache.TryGet(KeyOf("a"), out _));
        Assert.True(cache.TryGet(KeyOf("c"), out _));

        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.False(cache.TryGet(KeyOf("a"), out _));
        Assert.False(cache.TryGet(KeyOf("c"), out _));
    }

    private static QueryRequest Request(QueryRequest.Types.ReportType type, float? trim, string job = "cache")
    {
        var r = new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            ReportType = type,
            // Fixed bounds: the cache keys on the whole selection, so every request of a test asks for the same window.
            Merge = new MergeProfile
            {
                Query = $"cpu:samples:count:cpu:nanoseconds:delta{{job=\"{job}\"}}",
                Start = new Timestamp { Seconds = (s_now / 1_000_000_000) - 3600 },
                End = new Timestamp { Seconds = (s_now / 1_000_000_000) + 3600 },
            },
        };
        if (trim is { } t)
        {
            r.NodeTrimThreshold = t;
        }

        return r;
    }

    /// <summary>One CPU profile (period 1 ns) with stacks main and main;leaf of the given sample counts.</summary>
    private async Task Write(long timeNanos, (string Leaf, long Count) a, (string Leaf, long Count) b)
    {
        var p = new Pprof.Profile { PeriodType = new Pprof.PprofValueType("cpu", "nanoseconds"), Period = 1, TimeNanos = timeNanos, DurationNanos = 1_000_000_000 };
        p.SampleTypes.Add(new Pprof.PprofValueType("samples", "count"));
        p.Mappings.Add(new Pprof.Mapping { Id = 1, MemoryStart = 0x1000, MemoryLimit = 0x2000, Filename = "/bin/x" });
        p.Functions.Add(new Pprof.Function { Id = 1, Name = "main", SystemName = "main" });
        p.Functions.Add(new Pprof.Function { Id = 2, Name = "work", SystemName = "work" });
        for (ulong id = 1; id <= 2; id++)
        {
            var loc = new Pprof.Location { Id = id, MappingId = 1, Address = 0x1000 + (id * 16) };
            loc.Lines.Add(new Pprof.Line(id, 1));
            p.Locations.Add(loc);
        }

        foreach (var (leaf, count) in new[] { a, b })
        {
            p.Samples.Add(new Pprof.Sample { LocationIds = leaf == "main" ? [1] : [2, 1], Values = [count] });
        }

        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "cpu" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = "cache" });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(Pprof.PprofEncoder.Encode(p)) });
        await new ProfileStoreService.ProfileStoreServiceClient(_channel).WriteRawAsync(new WriteRawRequest { Series = { series } });
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
