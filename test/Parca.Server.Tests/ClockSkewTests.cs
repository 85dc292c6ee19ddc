using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;
using static Parca.Server.Tests.WriteAheadLogCrashTests;

namespace Parca.Server.Tests;

/// <summary>
/// Two agents, one whose clock runs 5 minutes ahead (its profiles carry those timestamps), writing in turn to a server
/// with the log on, as docs/storage-format.md describes: both are accepted (within --storage-max-future-skew, 10m),
/// the head takes them out of order without sealing (one block afterwards, not one per write), each agent's profiles
/// come back at their own times and in full after a restart; a third agent 15 minutes ahead is refused with the reason.
/// </summary>
public sealed class ClockSkewTests : IDisposable
{
    private const string Profile1 = "../shared/testdata/pprof/parca/profile1.pb.gz";
    private const string Type = "process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta";
    private const int Rounds = 50;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-skew-");

    private ParcaServer Create() => ParcaServer.Create(new ParcaServerOptions
    {
        HttpAddress = "127.0.0.1:0",
        LogLevel = "error",
        ConfigPath = "/nonexistent/parca.yaml",
        EnablePersistence = true,
        StorageEnableWal = true,
        StoragePath = _dir.FullName,
    });

    private static WriteRawRequest Write(string node, DateTimeOffset time)
    {
        var request = new WriteRawRequest();
        request.Series.Add(Series(Profile1, time, ("__name__", "process_cpu"), ("node", node)));
        return request;
    }

    private static QueryRequest Merge(string node, DateTimeOffset start, DateTimeOffset end) => new()
    {
        Mode = QueryRequest.Types.Mode.Merge,
        Merge = new MergeProfile { Query = Type + "{node=\"" + node + "\"}", Start = Timestamp.FromDateTimeOffset(start), End = Timestamp.FromDateTimeOffset(end) },
        ReportType = QueryRequest.Types.ReportType.Top,
    };

    [Fact]
    public async Task An_agent_five_minutes_ahead_is_accepted_out_of_order_in_one_block_and_one_fifteen_ahead_is_refused()
    {
        var start = DateTimeOffset.UtcNow;
        var server = Create();
        await server.StartAsync();
        long one;
        using (var channel = GrpcChannels.Create($"127.0.0.1:{server.BaseAddress.Port}", new RpcChannelOptions { Insecure = true }))
        {
            var store = new ProfileStoreService.ProfileStoreServiceClient(channel);
            for (var i = 0; i < Rounds; i++)
            {
                var now = DateTimeOffset.UtcNow;
                await store.WriteRawAsync(Write("on-time", now));
                await store.WriteRawAsync(Write("ahead", now.AddMinutes(5))); // its clock runs 5 minutes fast
            }

            var refused = await Assert.ThrowsAsync<RpcException>(async () => await store.WriteRawAsync(Write("far-ahead", DateTimeOffset.UtcNow.AddMinutes(15))));
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains("ahead of the server's clock", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("--storage-max-future-skew", refused.Status.Detail, StringComparison.Ordinal);

            var query = new QueryService.QueryServiceClient(channel);
            one = (await query.QueryAsync(Merge("on-time", start.AddMinutes(-1), start.AddMinutes(1).Add(DateTimeOffset.UtcNow - start)))).Total / Rounds;
            Assert.True(one > 0);

            // The fast agent's profiles sit at its own times: none in the on-time window, all of them 5 minutes on.
            var onTimeWindow = (start.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
            Assert.Equal(0, (await query.QueryAsync(Merge("ahead", onTimeWindow.Item1, onTimeWindow.Item2))).Total);
            Assert.Equal(Rounds * one, (await query.QueryAsync(Merge("ahead", start.AddMinutes(4), DateTimeOffset.UtcNow.AddMinutes(6)))).Total);
        }

        await server.DisposeAsync(); // graceful: the head is written as blocks

        // Out-of-order writes did not seal the head: one block (cut by time range), not one per write.
        var blocks = Directory.GetFiles(Path.Combine(_dir.FullName, "blocks"), "*.prcb");
        Assert.Single(blocks);

        await using var again = Create();
        await again.StartAsync();
        using var reader = GrpcChannels.Create($"127.0.0.1:{again.BaseAddress.Port}", new RpcChannelOptions { Insecure = true });
        var after = new QueryService.QueryServiceClient(reader);
        var everything = (start.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(6));
        Assert.Equal(Rounds * one, (await after.QueryAsync(Merge("on-time", everything.Item1, everything.Item2))).Total);
        Assert.Equal(Rounds * one, (await after.QueryAsync(Merge("ahead", everything.Item1, everything.Item2))).Total);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
