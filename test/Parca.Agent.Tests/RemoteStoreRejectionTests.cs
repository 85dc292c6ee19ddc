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

    /// <summary>A CPU profile with the agent's two sample types, taken now (so retention keeps it).</summary>
    private static byte[] ValidPprof(DateTimeOffset time)
    {
        var profile = new Profile
        {
            SampleTypes = { new PprofValueType("samples", "count"), new PprofValueType("cpu", "nanoseconds") },
            PeriodType = new PprofValueType("cpu", "nanoseconds"),
            Period = 52_631_578,
            TimeNanos = time.ToUnixTimeMilliseconds() * 1_000_000,
            DurationNanos = 10_000_000_000,
        };
        profile.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x1000, MemoryLimit = 0x2000, Filename = "/bin/app" });
        profile.Functions.Add(new Function { Id = 1, Name = "main" });
        profile.Locations.Add(new Location { Id = 1, MappingId = 1, Address = 0x1100, Lines = { new Line(1, 3) } });
        profile.Samples.Add(new Sample { LocationIds = [1], Values = [3, 3 * 52_631_578] });
        return PprofEncoder.Encode(profile);
    }

    private static ProfileSeries Series(string comm, byte[] pprof) => new(
        new SortedDictionary<string, string>(StringComparer.Ordinal) { ["comm"] = comm, ["node"] = "test-node" },
        pprof, [1], 3, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(10), []);
}
