using System.Diagnostics;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using static Parca.Server.Tests.WriteAheadLogCrashTests;

namespace Parca.Server.Tests;

/// <summary>
/// The real <c>parca</c> executable on a real full disk (an 8 MiB tmpfs as --storage-path; needs root, as CI runs):
/// WriteRaw answers RESOURCE_EXHAUSTED "disk full on the storage path" without naming the path, recovers by itself
/// when space returns, says so in the log and in /metrics, and a kill -9 afterwards loses nothing acknowledged.
/// Also: a profile hours ahead of the server's clock is refused with the reason, and log segments left with the
/// log disabled stop the start-up until the operator picks what to do.
/// </summary>
public sealed class StorageDurabilityTests
{
    private const string Profile1 = "../shared/testdata/pprof/parca/profile1.pb.gz";

    private static string[] Args(string dir, int port, params string[] more)
    {
        var config = Path.Combine(dir, "parca.yaml");
        File.WriteAllText(config, "object_storage:\n  bucket:\n    type: \"FILESYSTEM\"\n    config:\n      directory: \"/tmp\"\nscrape_configs: []\n");
        return [$"--config-path={config}", $"--http-address=127.0.0.1:{port}", "--enable-persistence", $"--storage-path={Path.Combine(dir, "data")}", .. more];
    }

    private static WriteRawRequest Request(string job, DateTimeOffset? time = null)
    {
        var request = new WriteRawRequest();
        request.Series.Add(Series(Profile1, time ?? DateTimeOffset.UtcNow, ("__name__", "process_cpu"), ("job", job)));
        return request;
    }

    [Fact]
    public async Task A_full_disk_is_refused_with_resource_exhausted_and_ingest_recovers_by_itself()
    {
        using var disk = new SmallDisk();
        var port = LoopbackPort.Free();
        var args = Args(disk.Path, port, "--storage-enable-wal");
        var server = await StartAsync(args, port);
        try
        {
            using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
            await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request("before"));

            disk.Fill();
            var full = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request("refused")));
            Assert.Equal(StatusCode.ResourceExhausted, full.Status);
            Assert.Equal("disk full on the storage path", full.Detail);
            Assert.DoesNotContain(disk.Path, full.Detail, StringComparison.Ordinal);
            using (var http = new HttpClient())
            {
                var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
                Assert.Matches(@"(?m)^parca_storage_disk_full(\{[^}]*\})? 1$", metrics);
                Assert.Contains("parca_storage_write_failures_total{reason=\"disk_full\"}", metrics, StringComparison.Ordinal);
            }

            // Reads keep working while the disk is full.
            Assert.Contains(await ReportsAsync(channel), r => r.Top.List.Count > 0);

            disk.Free();
            await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request("after"));

            var skewed = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request("ahead", DateTimeOffset.UtcNow.AddHours(3))));
            Assert.Equal(StatusCode.InvalidArgument, skewed.Status);
            Assert.Matches(@"time_nanos \S+ is more than 10m\S* ahead of the server.s clock", skewed.Detail);
            Assert.Contains("--storage-max-future-skew", skewed.Detail, StringComparison.Ordinal);
        }
        finally
        {
            server.Process.Kill(); // SIGKILL: only the log has the two acknowledged profiles
            await server.Process.WaitForExitAsync();
        }

        var output = server.Output.ToString();
        Assert.Contains("disk full on", output, StringComparison.Ordinal);
        Assert.Contains("space is back", output, StringComparison.Ordinal);

        var second = await StartAsync(args, port);
        try
        {
            Assert.Contains("replayed 2 profiles from the write-ahead log", second.Output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            second.Process.Kill();
            await second.Process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Log_segments_with_the_log_disabled_stop_the_start_until_the_operator_chooses()
    {
        var dir = Directory.CreateTempSubdirectory("parca-leftover-").FullName;
        try
        {
            var port = LoopbackPort.Free();
            var first = await StartAsync(Args(dir, port, "--storage-enable-wal"), port);
            try
            {
                using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
                await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request("logged"));
            }
            finally
            {
                first.Process.Kill();
                await first.Process.WaitForExitAsync();
            }

            var refused = await RunToExitAsync(Args(dir, port));
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("write-ahead log segment(s) not yet in blocks, but the log is disabled", refused.Output, StringComparison.Ordinal);
            Assert.Contains("--storage-wal-leftover=replay", refused.Output, StringComparison.Ordinal);

            var replayed = await StartAsync(Args(dir, port, "--storage-wal-leftover=replay"), port);
            try
            {
                using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
                Assert.Contains(await ReportsAsync(channel), r => r.Top.List.Count > 0);
            }
            finally
            {
                replayed.Process.Kill();
                await replayed.Process.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_kill_during_compactions_loses_and_duplicates_nothing_acknowledged()
    {
        var dir = Directory.CreateTempSubdirectory("parca-kill-compact-").FullName;
        try
        {
            var port = LoopbackPort.Free();
            // A 1 MiB head: nearly every write seals the head, so compactions are running when the kill comes.
            var args = Args(dir, port, "--storage-enable-wal", "--storage-active-memory=1048576");
            var acked = new List<string>();
            Protocol.Query.V1Alpha1.Top once;
            var first = await StartAsync(args, port);
            try
            {
                using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
                await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request("j0"));
                acked.Add("j0");
                once = await TopOf(channel, "j0"); // one write's report, before any kill
                Assert.NotEmpty(once.List);
                for (var i = 1; i < 24; i++)
                {
                    await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request($"j{i}"));
                    acked.Add($"j{i}");
                }
            }
            finally
            {
                first.Process.Kill(); // SIGKILL while blocks are being written
                await first.Process.WaitForExitAsync();
            }

            var second = await StartAsync(args, port);
            try
            {
                using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
                foreach (var job in acked)
                {
                    Assert.Equal(once, await TopOf(channel, job)); // each acknowledged write back, and not twice
                }
            }
            finally
            {
                second.Process.Kill();
                await second.Process.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_kill_during_disk_full_recovery_loses_and_duplicates_nothing_acknowledged()
    {
        using var disk = new SmallDisk();
        var port = LoopbackPort.Free();
        // A 1 MiB head: compactions fail while the disk is full and are retried at once when space returns.
        var args = Args(disk.Path, port, "--storage-enable-wal", "--storage-active-memory=1048576");
        var acked = new List<string>();
        var refused = 0;
        Protocol.Query.V1Alpha1.Top once;
        var first = await StartAsync(args, port);
        try
        {
            using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
            async Task<bool> TryWrite(string job)
            {
                try
                {
                    await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, Request(job));
                    acked.Add(job);
                    return true;
                }
                catch (RpcException e) when (e.Status == StatusCode.ResourceExhausted)
                {
                    refused++;
                    return false;
                }
            }

            Assert.True(await TryWrite("j0"));
            once = await TopOf(channel, "j0");
            Assert.NotEmpty(once.List);
            for (var i = 1; i < 6; i++)
            {
                Assert.True(await TryWrite($"j{i}"));
            }

            disk.Fill();
            for (var i = 6; i < 16; i++)
            {
                await TryWrite($"j{i}");
            }

            Assert.True(refused > 0, "the full disk refused nothing");
            disk.Free();
            var next = 16;
            while (!await TryWrite($"j{next++}"))
            {
                await Task.Delay(50);
            }

            await TryWrite($"j{next++}");
        }
        finally
        {
            first.Process.Kill(); // SIGKILL while the compactions that failed are being retried
            await first.Process.WaitForExitAsync();
        }

        Assert.Contains("space is back", first.Output.ToString(), StringComparison.Ordinal);
        var second = await StartAsync(args, port);
        try
        {
            using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
            foreach (var job in acked)
            {
                Assert.Equal(once, await TopOf(channel, job)); // each acknowledged write back exactly once
            }
        }
        finally
        {
            second.Process.Kill();
            await second.Process.WaitForExitAsync();
        }
    }

    /// <summary>The TOP report of one job for the first profile type (by sample type), over all time.</summary>
    private static async Task<Protocol.Query.V1Alpha1.Top> TopOf(RpcChannel channel, string job)
    {
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new Protocol.Query.V1Alpha1.ProfileTypesRequest());
        var t = types.Types_.OrderBy(t => t.SampleType, StringComparer.Ordinal).First();
        var type = $"{t.Name}:{t.SampleType}:{t.SampleUnit}:{t.PeriodType}:{t.PeriodUnit}" + (t.Delta ? ":delta" : "");
        return (await channel.UnaryAsync(ParcaApi.QueryService.Query, new Protocol.Query.V1Alpha1.QueryRequest
        {
            Mode = Protocol.Query.V1Alpha1.QueryRequest.Types.Mode.Merge,
            Merge = new Protocol.Query.V1Alpha1.MergeProfile
            {
                Query = type + "{job=\"" + job + "\"}",
                Start = new Google.Protobuf.WellKnownTypes.Timestamp(),
                End = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
            },
            ReportType = Protocol.Query.V1Alpha1.QueryRequest.Types.ReportType.Top,
        })).Top;
    }

    private static async Task<(int ExitCode, string Output)> RunToExitAsync(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ParcaDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
