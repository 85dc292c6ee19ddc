using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Parca.Agent.Tests;

/// <summary>
/// Issue 13's must-hold test for the agent: processes running as nobody whose perf maps are a FIFO, a symlink to
/// /dev/zero, a symlink to /etc/shadow and a 1 GiB sparse file. Real kernel, real agent, real processes.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class HostileFileTests
{
    /// <summary>The agent (in this test process) may not grow its peak RSS by more than this while the hostile processes run.</summary>
    private const long MemoryBoundBytes = 256L << 20;

    private static readonly string[] s_modes = ["fifo", "zero", "shadow", "big"];

    [Fact]
    public async Task Hostile_perf_maps_cost_only_their_own_process_symbols_and_are_never_read()
    {
        var chain = Tracees.Build("chain");
        var hostileBinary = Tracees.Build("hostile_perfmap");
        using var watch = new FileOpenWatch("/etc/shadow", "/dev/zero");
        Tracees.Run("head", "-c 1 /etc/shadow"); // control: the watch does see opens (by another process here)
        Assert.Contains(watch.Drain(), e => e.Pid != Environment.ProcessId);
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 1);
        var everyLine = () => string.Join("\n", agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message));
        using var http = new HttpClient { BaseAddress = agent.Agent.BaseAddress };
        using var victim = Tracees.Start(chain, "60");
        var hostile = new List<Process>();
        try
        {
            await agent.WaitForProfileAsync(p => p.Pids.Contains(victim.Id));
            File.WriteAllText("/proc/self/clear_refs", "5"); // resets VmHWM: the peak is measured from here
            var baseline = StatusBytes("VmRSS");

            var pids = new Dictionary<string, int>();
            foreach (var mode in s_modes)
            {
                var p = Tracees.Start(hostileBinary, mode);
                hostile.Add(p);
                var ready = await p.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"hostile tracee ({mode}) exited: exit code {(p.HasExited ? p.ExitCode : 0)}");
                pids[mode] = int.Parse(ready["ready ".Length..], CultureInfo.InvariantCulture);
            }

            var readyAt = DateTimeOffset.UtcNow;
            var windowsAtReady = agent.Agent.Metrics.Windows;

            // Every hostile process is sampled and its anonymous-memory frames make the agent look for its perf map.
            foreach (var (mode, pid) in pids)
            {
                var own = await agent.WaitForProfileAsync(p => p.Pids.Contains(pid) && p.Time >= readyAt);
                Assert.Equal("hostile_perfmap", own.Labels["comm"]);
            }

            // Windows keep closing and the other process keeps being profiled with its exact, symbolized stack (on a
            // loaded machine a 1 s window can miss it: at least half of the windows must have it).
            await WaitForWindowsAsync(agent, windowsAtReady + 8);
            var victimProfiles = agent.Profiles.Where(p => p.Pids.Contains(victim.Id) && p.Time >= readyAt).ToList();
            Assert.True(victimProfiles.Count >= 4, $"{victimProfiles.Count} profiles of the chain tracee in 8 windows after the hostile processes started");
            var traces = GoPprof.Traces(AgentHarness.Save(victimProfiles[^1]));
            Assert.Contains(traces, t => t.Frames.Length >= 5 && t.Frames[..5].SequenceEqual(["burn", "c", "b", "a", "main"]));
            Assert.Equal("ok\n", await http.GetStringAsync("healthy"));

            // One log line per process, naming the process, the file and the reason.
            var lines = agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
            string[] reasons = ["it is a fifo, not a regular file", "it is a symlink", "it is a symlink", "it is 1073741824 bytes, over the cap"];
            for (var i = 0; i < s_modes.Length; i++)
            {
                var pid = pids[s_modes[i]];
                var own = lines.Where(l => l.StartsWith($"process {pid} (hostile_perfmap): ", StringComparison.Ordinal)).ToList();
                Assert.True(own.Count == 1, $"{own.Count} lines for process {pid} ({s_modes[i]}):\n{everyLine()}");
                var line = own[0];
                Assert.Contains($"/{pid}/root/tmp/perf-{pid}.map", line, StringComparison.Ordinal);
                Assert.Contains(reasons[i], line, StringComparison.Ordinal);
            }

            var metrics = await http.GetStringAsync("metrics");
            Assert.True(Metric(metrics, "parca_agent_process_files_refused_total{reason=\"symlink\"}") >= 2, metrics);
            Assert.True(Metric(metrics, "parca_agent_process_files_refused_total{reason=\"not_regular\"}") >= 1, metrics);
            Assert.True(Metric(metrics, "parca_agent_process_files_refused_total{reason=\"too_large\"}") >= 1, metrics);

            // The symlink targets were never opened by this process (the agent runs in it).
            var self = Environment.ProcessId;
            Assert.DoesNotContain(watch.Drain(), e => e.Pid == self);

            var peak = StatusBytes("VmHWM");
            Assert.True(peak - baseline < MemoryBoundBytes, $"peak RSS {peak >> 20} MiB, {(peak - baseline) >> 20} MiB over the {baseline >> 20} MiB at the start (bound {MemoryBoundBytes >> 20} MiB)");
        }
        finally
        {
            foreach (var p in hostile)
            {
                p.Kill();
                await p.WaitForExitAsync();
                File.Delete($"/tmp/perf-{p.Id}.map");
                p.Dispose();
            }

            victim.Kill();
        }
    }

    private static async Task WaitForWindowsAsync(AgentHarness agent, long windows)
    {
        // A hostile file that stalled the window loop would stall it for good (a blocking FIFO open never returns), so
        // a generous bound tells a stall from a loaded machine's late windows (CI runs on two busy cores): four times
        // the time the windows need plus 15 s, then the assertion below says what happened.
        var deadline = DateTime.UtcNow + (agent.Agent.Options.ProfilingDuration * (windows - agent.Agent.Metrics.Windows) * 4) + TimeSpan.FromSeconds(15);
        while (agent.Agent.Metrics.Windows < windows && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(agent.Agent.Metrics.Windows >= windows, $"only {agent.Agent.Metrics.Windows} windows closed, expected {windows}: the window loop stalled");
    }

    private static long StatusBytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static double Metric(string metrics, string name)
    {
        var line = metrics.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
