using Google.Protobuf;
using Grpc.Core;
using Parca.Ingest;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// --ingest-max-active-series on a real server with the write-ahead log on: a write that would create series past the
/// cap is refused with RESOURCE_EXHAUSTED naming the flag, counted on /metrics, and leaves nothing behind (the check
/// runs before the log append, so after a restart only the accepted profiles come back); writes to known series continue.
/// </summary>
public sealed class ActiveSeriesLimitTests : IDisposable
{
    private static readonly byte[] s_profile = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-series-cap-");

    private ParcaServer Create() => ParcaServer.Create(new ParcaServerOptions
    {
        HttpAddress = "127.0.0.1:0",
        LogLevel = "error",
        StorageRetention = TimeSpan.Zero,
        ConfigPath = "/nonexistent/parca.yaml",
        EnablePersistence = true,
        StorageEnableWal = true,
        StoragePath = _dir.FullName,
        Limits = new ServerLimits { MaxActiveSeries = 3 },
    });

    private static WriteRawRequest Write(string job)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = job });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(s_profile) });
        var request = new WriteRawRequest();
        request.Series.Add(series);
        return request;
    }

    [Fact]
    public async Task New_series_past_the_cap_are_refused_with_the_flag_and_leave_nothing_behind()
    {
        var server = Create();
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";
        using (var channel = GrpcChannels.Create(address, new RpcChannelOptions { Insecure = true }))
        {
            var store = new ProfileStoreService.ProfileStoreServiceClient(channel);
            await store.WriteRawAsync(Write("a")); // profile1 has two sample types: two series

            var refused = await Assert.ThrowsAsync<RpcException>(async () => await store.WriteRawAsync(Write("b")));
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Equal("active series limit reached: the head holds 2 series and this profile would add 2 (limit 3, --ingest-max-active-series); writes to existing series continue", refused.Status.Detail);

            await store.WriteRawAsync(Write("a")); // known series keep being written
            var metrics = await Curl.RunAsync(server.BaseAddress + "metrics");
            Assert.Contains("parca_storage_series_limit_refusals_total 1\n", metrics.Body, StringComparison.Ordinal);
            Assert.Contains("parca_storage_active_series 2\n", metrics.Body, StringComparison.Ordinal);
            Assert.Equal(["a"], await JobsAsync(channel));
        }

        await server.DisposeAsync();

        // After a restart (log and blocks read back) the refused profile is still nowhere.
        await using var again = Create();
        await again.StartAsync();
        using var reader = GrpcChannels.Create($"127.0.0.1:{again.BaseAddress.Port}", new RpcChannelOptions { Insecure = true });
        Assert.Equal(["a"], await JobsAsync(reader));
    }

    private static async Task<string[]> JobsAsync(Grpc.Net.Client.GrpcChannel channel)
    {
        var values = await new QueryService.QueryServiceClient(channel).ValuesAsync(new ValuesRequest
        {
            LabelName = "job",
            Match = { "process_cpu:samples:count:cpu:nanoseconds:delta{}" },
            Start = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
            End = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(1)),
        });
        return [.. values.LabelValues];
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
