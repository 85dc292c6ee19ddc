using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Parca.Agent.Tests;

/// <summary>
/// The whole agent on the real kernel: tracees built here, profiles read back with go tool pprof.
/// (When the parca server's storage and query API land, the same assertions run through the server: see docs/agent.md.)
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class AgentEndToEndTests
{
    [Fact]
    public async Task Chain_tracee_profile_has_the_exact_call_chain_with_function_names_and_build_id()
    {
        var path = Tracees.Build("chain");
        await using var agent = await AgentHarness.StartAsync();
        using var tracee = Tracees.Start(path, "4");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id) && p.Samples >= 10);
        Assert.Equal("chain", series.Labels["comm"]);
        Assert.Equal("test-node", series.Labels["node"]);
        Assert.DoesNotContain(series.Labels.Keys, k => k.StartsWith("__", StringComparison.Ordinal));

        var file = AgentHarness.Save(series);
        var traces = GoPprof.Traces(file);
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Where(t => t.Frames.Length >= 5 && t.Frames[..5].SequenceEqual(["burn", "c", "b", "a", "main"])).Sum(t => t.Seconds);
        Assert.True(hot >= total * 0.9, $"burn<-c<-b<-a<-main holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");

        // Below main: libc's start code (no frame pointers there, so the walk may stop inside libc).
        var raw = GoPprof.Run("-raw", file);
        var buildId = Tracees.Run("readelf", "-n " + path).Split('\n').Single(l => l.Contains("Build ID:", StringComparison.Ordinal)).Split("Build ID:")[1].Trim();
        Assert.Contains($"{path} {buildId}", raw, StringComparison.Ordinal);
        Assert.Contains("PeriodType: cpu nanoseconds\nPeriod: 10101010\n", raw, StringComparison.Ordinal); // 1e9 / 99 Hz
    }

    [Fact]
    public async Task Syscall_tracee_profile_has_kernel_frames_above_the_user_frames()
    {
        var path = Tracees.Build("syscalls");
        await using var agent = await AgentHarness.StartAsync();
        using var tracee = Tracees.Start(path, "4");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id) && p.Samples >= 10);
        var file = AgentHarness.Save(series);
        var traces = GoPprof.Traces(file);
        var total = traces.Sum(t => t.Seconds);
        var throughRead = traces.Where(t =>
        {
            var user = Array.IndexOf(t.Frames, "spin_reads");
            return user > 0 && t.Frames[user + 1] == "main"
                && t.Frames[..user].Contains("do_syscall_64")
                && t.Frames[..user].Any(f => f.Contains("read", StringComparison.Ordinal));
        }).Sum(t => t.Seconds);
        Assert.True(throughRead >= total * 0.5, $"kernel read path above spin_reads<-main holds {throughRead:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    [Fact]
    public async Task Relabel_keep_drop_and_pid_label_shape_the_profiles()
    {
        const string config = """
            relabel_configs:
            - source_labels: [comm]
              regex: chain|syscalls
              action: keep
            - source_labels: [comm]
              regex: syscalls
              action: drop
            - source_labels: [__meta_process_pid]
              target_label: pid
            - source_labels: [__meta_process_executable_name, __meta_system_kernel_machine]
              separator: "@"
              target_label: exe
            """;
        var chain = Tracees.Build("chain");
        var syscalls = Tracees.Build("syscalls");
        await using var agent = await AgentHarness.StartAsync(config);
        using var a = Tracees.Start(chain, "3");
        using var b = Tracees.Start(syscalls, "3");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(a.Id));
        Assert.Equal(a.Id.ToString(CultureInfo.InvariantCulture), series.Labels["pid"]);
        Assert.Equal("chain@x86_64", series.Labels["exe"]);
        await a.WaitForExitAsync();
        await b.WaitForExitAsync();
        await Task.Delay(agent.Agent.Options.ProfilingDuration * 2);
        Assert.All(agent.Profiles, p => Assert.Equal("chain", p.Labels["comm"]));
        Assert.DoesNotContain(agent.Profiles, p => p.Pids.Contains(b.Id));
        Assert.Contains(agent.Agent.Metrics.Render().Split('\n'), l => l.StartsWith("parca_agent_samples_dropped_by_relabel_total ", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Processes_exiting_mid_window_are_profiled_without_warnings_or_errors()
    {
        var path = Tracees.Build("chain");
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 3);
        var pids = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            using var shortLived = Tracees.Start(path, "0.3");
            pids.Add(shortLived.Id);
            await shortLived.WaitForExitAsync();
        }

        var series = await agent.WaitForProfileAsync(p => p.Pids.Intersect(pids).Any());
        var traces = GoPprof.Traces(AgentHarness.Save(series));
        Assert.Contains(traces, t => t.Frames.Length >= 5 && t.Frames[..5].SequenceEqual(["burn", "c", "b", "a", "main"]));
        await Task.Delay(agent.Agent.Options.ProfilingDuration);
        var bad = agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        Assert.True(bad.Count == 0, "warnings/errors logged: " + string.Join("\n", bad));
    }

    [Fact]
    public async Task Local_store_writes_gzipped_pprof_files_with_their_labels()
    {
        var path = Tracees.Build("chain");
        await using var agent = await AgentHarness.StartAsync(configure: o => o.MetadataExternalLabels = new() { ["cluster"] = "ci" });
        using var tracee = Tracees.Start(path, "3");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id));
        Assert.Equal("ci", series.Labels["cluster"]);
        await Task.Delay(500);
        var file = Directory.GetFiles(agent.StoreDirectory, $"chain-{tracee.Id}_cpu_*.pb.gz").First();
        var labels = File.ReadAllText(Path.ChangeExtension(Path.ChangeExtension(file, null), ".labels"));
        Assert.Equal("{cluster=\"ci\", comm=\"chain\", node=\"test-node\"}\n", labels);
        Assert.Contains(GoPprof.Traces(file), t => t.Frames[0] == "burn");
    }
}
