using System.Diagnostics;
using Parca.Rpc;

namespace Parca.Server.Tests;

/// <summary>
/// Real <c>parca</c> processes sharing a real S3 bucket (Ceph radosgw on loopback): ingest servers upload the blocks
/// they cut, a --mode=query server finds them in the bucket; restarts, lost local disks, kill -9 during uploads and a
/// 30 s bucket outage lose nothing acknowledged and count nothing twice.
/// </summary>
public sealed partial class ObjectStorageTests(RadosGwFixture s3) : IClassFixture<RadosGwFixture>
{
    private const string ProfileFile = "../shared/testdata/pprof/parca/profile1.pb.gz";
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Two_ingest_servers_and_a_query_server_agree_on_exact_totals_across_restarts_and_lost_disks()
    {
        using var dir = new TempDir();
        var config = dir.Config(s3.Gateway, "two-ingest");
        string[] Ingest(string name) => [$"--config-path={config}", "--enable-persistence", $"--storage-path={dir.Sub(name)}", "--storage-enable-wal",
            "--storage-block-duration=2s", "--object-storage-sync-interval=1s", "--storage-retention=0"];
        string[] query = [$"--config-path={config}", "--mode=query", "--object-storage-sync-interval=1s", "--storage-retention=0"];

        var a = await ParcaProcess.StartAsync(Ingest("a"));
        var b = await ParcaProcess.StartAsync(Ingest("b"));
        var q = await ParcaProcess.StartAsync(query);
        await WriteAsync(a, "a", 0, 5);
        await WriteAsync(b, "b", 0, 7);
        var (type, perRequest) = await ProfileTypeAsync(a);
        var expected = new Dictionary<string, long> { ["a"] = 5 * perRequest, ["b"] = 7 * perRequest };

        Assert.Equal(expected, await SettledTotalsAsync(q, type, "job", expected));
        var refused = await Assert.ThrowsAsync<RpcException>(() => WriteAsync(q, "q", 0, 1));
        Assert.Equal(StatusCode.Unavailable, refused.Status);
        Assert.Contains("--mode=query", refused.Message, StringComparison.Ordinal);

        // Restart every process: the same totals, from every server.
        foreach (var p in new[] { a, b, q })
        {
            await p.StopAsync();
        }

        a = await ParcaProcess.StartAsync(Ingest("a"));
        b = await ParcaProcess.StartAsync(Ingest("b"));
        q = await ParcaProcess.StartAsync(query);
        Assert.Equal(expected, await SettledTotalsAsync(q, type, "job", expected));
        Assert.Equal(expected, await SettledTotalsAsync(b, type, "job", expected));

        // Lose the ingest servers' disks: everything is in the bucket.
        foreach (var p in new[] { a, b, q })
        {
            await p.StopAsync();
        }

        Directory.Delete(dir.Sub("a"), recursive: true);
        Directory.Delete(dir.Sub("b"), recursive: true);
        a = await ParcaProcess.StartAsync(Ingest("a"));
        q = await ParcaProcess.StartAsync(query);
        try
        {
            Assert.Equal(expected, await SettledTotalsAsync(q, type, "job", expected));
            Assert.Equal(expected, await SettledTotalsAsync(a, type, "job", expected));
            var blocks = await s3.Gateway.ListAsync(RadosGwFixture.Bucket, dir.Prefix + "/blocks/");
            Assert.Contains(blocks, o => o.Key.EndsWith("/meta.json", StringComparison.Ordinal));
            Assert.DoesNotContain(blocks, o => o.Key.EndsWith(".tmp", StringComparison.Ordinal));
        }
        finally
        {
            await a.DisposeAsync();
            await q.DisposeAsync();
        }
    }

    [Fact]
    public async Task Kill9_of_an_ingest_server_during_uploads_keeps_every_acknowledged_write_exactly_once()
    {
        using var dir = new TempDir();
        var config = dir.Config(s3.Gateway, "kill9");
        string[] ingest = [$"--config-path={config}", "--enable-persistence", $"--storage-path={dir.Sub("a")}", "--storage-enable-wal",
            "--storage-block-duration=1s", "--object-storage-sync-interval=1s", "--storage-retention=0"];
        var acknowledged = new HashSet<string>();
        var unacknowledged = new HashSet<string>();
        var a = await ParcaProcess.StartAsync(ingest);
        await WriteAsync(a, "r0", 0, 1, "req");
        acknowledged.Add("r0");
        var (type, perRequest) = await ProfileTypeAsync(a);
        var next = 1;
        for (var round = 0; round < 4; round++)
        {
            // Writes keep coming while heads are cut every second and uploaded, then SIGKILL lands somewhere in that.
            using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(2500 + (round * 700)));
            while (!stop.IsCancellationRequested)
            {
                var id = $"r{next++}";
                try
                {
                    await WriteAsync(a, id, 0, 1, "req");
                    acknowledged.Add(id);
                }
                catch (RpcException)
                {
                    unacknowledged.Add(id);
                }
            }

            a.Process.Kill(); // SIGKILL
            await a.Process.WaitForExitAsync();
            await a.DisposeAsync();
            a = await ParcaProcess.StartAsync(ingest);
        }

        var q = await ParcaProcess.StartAsync([$"--config-path={config}", "--mode=query", "--object-storage-sync-interval=1s", "--storage-retention=0"]);
        try
        {
            var expected = acknowledged.ToDictionary(id => id, _ => perRequest);
            var totals = await SettledTotalsAsync(q, type, "req", expected);
            foreach (var id in acknowledged)
            {
                Assert.True(totals.TryGetValue(id, out var t) && t == perRequest, $"acknowledged write {id}: total {totals.GetValueOrDefault(id)}, expected {perRequest}");
            }

            foreach (var (id, total) in totals)
            {
                Assert.True(acknowledged.Contains(id) || (unacknowledged.Contains(id) && total == perRequest), $"{id}: total {total} was never written or is counted twice");
            }

            Assert.True(acknowledged.Count >= 8, $"only {acknowledged.Count} writes were acknowledged");
        }
        finally
        {
            await a.DisposeAsync();
            await q.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_30s_bucket_outage_keeps_ingest_going_warns_readers_and_loses_nothing()
    {
        using var dir = new TempDir();
        var config = dir.Config(s3.Gateway, "outage");
        string[] ingest = [$"--config-path={config}", "--enable-persistence", $"--storage-path={dir.Sub("a")}", "--storage-enable-wal",
            "--storage-block-duration=2s", "--object-storage-sync-interval=1s", "--storage-retention=0"];
        // A second ingest server with a tight memory bound: it must refuse with UNAVAILABLE and the reason.
        string[] tight = [$"--config-path={config}", "--enable-persistence", $"--storage-path={dir.Sub("c")}", "--storage-enable-wal",
            "--storage-block-duration=1s", "--object-storage-sync-interval=1s", "--storage-retention=0",
            "--storage-active-memory=1048576", "--storage-head-memory-limit=3145728"];
        var a = await ParcaProcess.StartAsync(ingest);
        var c = await ParcaProcess.StartAsync(tight);
        var q = await ParcaProcess.StartAsync([$"--config-path={config}", "--mode=query", "--object-storage-sync-interval=1s", "--storage-retention=0"]);
        try
        {
            await WriteAsync(a, "before", 0, 3);
            var (type, perRequest) = await ProfileTypeAsync(a);
            var expected = new Dictionary<string, long> { ["before"] = 3 * perRequest };
            Assert.Equal(expected, await SettledTotalsAsync(q, type, "job", expected));
            Assert.Equal(expected, await SettledTotalsAsync(q, type, "job", expected, merge: true)); // warms the cache

            await s3.Gateway.StopGatewayAsync();
            var outage = Stopwatch.StartNew();
            var during = 0;
            var tightAcknowledged = 0;
            RpcException? refusal = null;
            while (outage.Elapsed < TimeSpan.FromSeconds(30))
            {
                await WriteAsync(a, "during", 0, 1); // acknowledged: the head and the log hold it
                during++;
                if (refusal is null)
                {
                    try
                    {
                        await WriteAsync(c, "tight", 0, 1);
                        tightAcknowledged++;
                    }
                    catch (RpcException e)
                    {
                        refusal = e;
                    }
                }

                await Task.Delay(500);
            }

            Assert.NotNull(refusal);
            Assert.Equal(StatusCode.Unavailable, refusal.Status);
            Assert.Contains("object storage unreachable", refusal.Message, StringComparison.Ordinal);
            Assert.Contains("--storage-head-memory-limit", refusal.Message, StringComparison.Ordinal);

            // Reads keep working, with the documented warning.
            var (totalsA, warningA) = await TotalsWithWarningAsync(a, type, "job");
            Assert.Equal(during * perRequest, totalsA.GetValueOrDefault("during"));
            Assert.Contains("object storage unreachable", warningA, StringComparison.Ordinal);
            var (totalsQ, warningQ) = await TotalsWithWarningAsync(q, type, "job");
            Assert.Equal(3 * perRequest, totalsQ.GetValueOrDefault("before"));
            Assert.Contains("object storage unreachable", warningQ, StringComparison.Ordinal);
            var metrics = await new HttpClient().GetStringAsync($"{a.BaseAddress}/metrics");
            Assert.Contains("parca_bucket_up 0", metrics, StringComparison.Ordinal);
            Assert.Matches(@"parca_bucket_operation_failures_total [1-9]", metrics);
            Assert.Contains("object storage unreachable", a.Output, StringComparison.Ordinal);

            await s3.Gateway.StartGatewayAsync();
            // The refusing server takes writes again once its waiting uploads went through.
            for (var i = 0; ; i++)
            {
                try
                {
                    await WriteAsync(c, "tight", 0, 1);
                    tightAcknowledged++;
                    break;
                }
                catch (RpcException e) when (e.Status == StatusCode.Unavailable && i < 120)
                {
                    await Task.Delay(500);
                }
            }

            expected["during"] = during * perRequest;
            expected["tight"] = tightAcknowledged * perRequest;
            Assert.Equal(expected, await SettledTotalsAsync(q, type, "job", expected));
            Assert.Contains("object storage reachable again", a.Output, StringComparison.Ordinal);
            Assert.Contains("parca_bucket_up 1", await new HttpClient().GetStringAsync($"{a.BaseAddress}/metrics"), StringComparison.Ordinal);
        }
        finally
        {
            await a.DisposeAsync();
            await c.DisposeAsync();
            await q.DisposeAsync();
        }
    }
}
