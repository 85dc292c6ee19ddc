using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Parca.Agent.Profiling;
using Parca.Agent.Shipping;
using Parca.Pprof;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;

namespace Parca.Agent.Tests;

/// <summary>
/// The shared sender's per-profile rejection, against our real server on loopback: a batch holding one profile the
/// store refuses (not a pprof) is split, the refused profile is dropped and counted, and the others are stored once.
/// </summary>
public sealed class RemoteStoreRejectionTests
{
    [Theory]
    [InlineData(false)] // WriteRaw
    [InlineData(true)] // WriteArrow (the agent's default)
    public async Task One_bad_profile_is_dropped_and_the_rest_of_its_batch_is_stored(bool v2)
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", ConfigPath = "/nonexistent/parca.yaml", LogLevel = "warn" });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";
        var now = DateTimeOffset.UtcNow;
        var store = new RemoteStore(address, new RpcChannelOptions { Insecure = true }, TimeSpan.FromHours(1), TimeSpan.FromSeconds(30), capacity: 10, NullLogger.Instance)
        {
            UseV2Schema = v2,
        };
        await using (store)
        {
            await store.WriteAsync(Series("good1", ValidPprof(now)), CancellationToken.None);
            await store.WriteAsync(Series("bad", [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]), CancellationToken.None); // a truncated gzip header
            await store.WriteAsync(Series("good2", ValidPprof(now)), CancellationToken.None);

            Assert.True(await store.FlushAsync(CancellationToken.None));
            Assert.Equal((0L, 0L, 2L, 0L), store.Stats);
            Assert.Equal(1, store.Rejected);
        }

        using var channel = RpcChannel.Create(address, new RpcChannelOptions { Insecure = true });
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        var type = types.Types_.First(t => t.Name == RemoteStore.ProfileName && t.SampleType == "samples");
        var values = await channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest
        {
            LabelName = "comm",
            Match = { $"{type.Name}:{type.SampleType}:{type.SampleUnit}:{type.PeriodType}:{type.PeriodUnit}{(type.Delta ? ":delta" : "")}" },
            Start = Timestamp.FromDateTimeOffset(now.AddMinutes(-5)),
            End = Timestamp.FromDateTimeOffset(now.AddMinutes(5)),
        });
        Assert.Equal(["good1", "good2"], values.LabelValues.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Two windows of one series that queued up together (a slow send, or a window processor that fell behind) are
    /// stored at their own times: a query starting between them holds only the later one. Arrow ingest merges a call's
    /// rows of a series within 10 s into one profile at the earliest time, so sent in one call the later window's
    /// samples were stored at the earlier window's time and such a query missed them (an end-to-end test held 16 of
    /// 113 samples).
    /// </summary>
    [Theory]
    [InlineData(false)] // WriteRaw
    [InlineData(true)] // WriteArrow (the agent's default)
    public async Task Two_windows_of_one_series_queued_together_keep_their_own_times(bool v2)
    {
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", ConfigPath = "/nonexistent/parca.yaml", LogLevel = "warn" });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";
        var first = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 10_000 * 10_000); // both in one 10 s bucket
        var second = first.AddSeconds(1);
        var store = new RemoteStore(address, new RpcChannelOptions { Insecure = true }, TimeSpan.FromHours(1), TimeSpan.FromSeconds(30), capacity: 10, NullLogger.Instance)
        {
            UseV2Schema = v2,
        };
        await using (store)
        {
            await store.WriteAsync(Series("app", ValidPprof(first, samples: 3), first), CancellationToken.None);
            await store.WriteAsync(Series("app", ValidPprof(second, samples: 5), second), CancellationToken.None);
            Assert.True(await store.FlushAsync(CancellationToken.None));
            Assert.Equal((0L, 0L, 2L, 0L), store.Stats);
        }

        Assert.Equal(8, await SamplesSinceAsync(address, first));
        Assert.Equal(5, await SamplesSinceAsync(address, first.AddMilliseconds(500)));
    }

    /// <summary>The samples of comm "app" the server merges from <paramref name="start"/> on.</summary>
    private static async Task<long> SamplesSinceAsync(string address, DateTimeOffset start)
    {
        using var channel = RpcChannel.Create(address, new RpcChannelOptions { Insecure = true });
        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile
            {
                Query = $"{RemoteStore.ProfileName}:samples:count:cpu:nanoseconds:delta{{comm=\"app\"}}",
                Start = Timestamp.FromDateTimeOffset(start),
                End = Timestamp.FromDateTimeOffset(start.AddMinutes(1)),
            },
            ReportType = QueryRequest.Types.ReportType.Pprof,
        });
        var merged = PprofDecoder.DecodeProfile(response.Pprof.Span);
        var total = merged.Samples.Sum(s => s.Values[0]);
        return merged.SampleTypes[0].Unit == "count" ? total : total / merged.Period; // the report may state CPU time
    }

    /// <summary>A CPU profile with the agent's two sample types, taken now (so retention keeps it).</summary>
    private static byte[] ValidPprof(DateTimeOffset time, long samples = 3)
    {
        var profile = new Profile
        {
            SampleTypes = { new PprofValueType("samples", "count"), new PprofValueType("cpu", "nanoseconds") },
            PeriodType = new PprofValueType("cpu", "nanoseconds"),
            Period = 52_631_578,
            TimeNanos = time.ToUnixTimeMilliseconds() * 1_000_000,
            DurationNanos = 1_000_000_000,
        };
        profile.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x1000, MemoryLimit = 0x2000, Filename = "/bin/app" });
        profile.Functions.Add(new Function { Id = 1, Name = "main" });
        profile.Locations.Add(new Location { Id = 1, MappingId = 1, Address = 0x1100, Lines = { new Line(1, 3) } });
        profile.Samples.Add(new Sample { LocationIds = [1], Values = [samples, samples * 52_631_578] });
        return PprofEncoder.Encode(profile);
    }

    private static ProfileSeries Series(string comm, byte[] pprof, DateTimeOffset? time = null) => new(
        new SortedDictionary<string, string>(StringComparer.Ordinal) { ["comm"] = comm, ["node"] = "test-node" },
        pprof, [1], 3, time ?? DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1), []);
}
