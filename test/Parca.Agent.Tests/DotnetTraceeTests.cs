using System.Diagnostics;

namespace Parca.Agent.Tests;

/// <summary>A .NET process started with DOTNET_PerfMapEnabled=1: its JIT frames are named from /tmp/perf-PID.map and its stacks are whole with the default unwinder.</summary>
[Collection(KernelCollection.Name)]
public sealed class DotnetTraceeTests
{
    [Fact]
    public async Task Jit_frames_of_a_dotnet_process_are_named_from_its_perf_map_and_stacks_reach_the_host()
    {
        var dir = Path.Combine(Tracees.OutputDirectory, "dotnet");
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "Tracee.csproj", "Program.cs" })
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "tracees", "dotnet", f), Path.Combine(dir, f), overwrite: true);
        }

        Tracees.Run(Environment.ProcessPath!, $"build {dir} -c Release -o {dir}/out -nologo -v q");
        // Every dotnet process on the machine has comm "dotnet": a pid label keeps the tracee's profile apart.
        // The default unwinder (unwind tables, frame pointers through JIT code): the tracee was started with the
        // perf map on, so the agent leaves its diagnostics socket alone and only reads the map. Tiers are kept apart
        // (--dotnet-keep-tiers) to tell the on-stack-replacement version of Burn from its final one.
        await using var agent = await AgentHarness.StartAsync(
            "relabel_configs:\n- source_labels: [__meta_process_pid]\n  target_label: pid\n",
            configure: o => o.DotnetKeepTiers = true);
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(dir, "out", "Tracee.dll"));
        psi.ArgumentList.Add("20");
        psi.Environment["DOTNET_PerfMapEnabled"] = "1";
        using var tracee = Process.Start(psi)!;
        try
        {
            // Steady state: Burn's tier-1 code is in the perf map and the agent has its unwind rows (it reads the map
            // again as soon as samples run code it has none for). The profile checked is of a window that began after
            // that: the window of the tier change also holds the samples of Burn's tier-0 and on-stack-replacement
            // versions, and of the moments before the agent analysed each (docs/agent.md ".NET stacks").
            var jit = agent.Agent.JitUnwind!;
            Assert.True(
                await agent.WaitUntilAsync(() => Runtimes.DotnetTracees.Tier1WithRows(jit, tracee.Id, "Hot::Burn(") != 0, maxWindows: 10),
                $"no unwind rows for Burn's tier-1 code after 10 windows ({agent.Agent.Metrics.DotnetPerfMapRereads} perf map re-reads):\n{string.Join("\n", Runtimes.DotnetTracees.PerfMapEntries(tracee.Id).Where(e => e.Name.Contains("Hot::Burn", StringComparison.Ordinal)))}");
            var steady = DateTimeOffset.UtcNow;
            var pid = tracee.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var series = await agent.WaitForProfileAsync(p => p.Labels.TryGetValue("pid", out var l) && l == pid && p.Time >= steady && BurnShare(p) >= 0.5, maxWindows: 4);
            Assert.Equal("dotnet", series.Labels["comm"]);
            var file = AgentHarness.Save(series);
            var burn = GoPprof.Traces(file).Where(IsSteadyBurn).ToList();
            Assert.NotEmpty(burn);

            // Complete stacks (in steady state; while Burn still runs as an on-stack-replacement version the walk
            // loses Main, see docs/agent.md ".NET stacks"): from the JIT-compiled Burn through the JIT-compiled Main
            // (both named from the perf map, names normalized: no return type, assembly or tier), through the
            // runtime's call-in path in libcoreclr.so (unwind tables) down to the host's entry points and libc.
            var complete = burn.Where(t =>
                t.Frames.Length > 1 && t.Frames[1].Contains("Program::", StringComparison.Ordinal)
                && Runtimes.DotnetTracees.Matches(t.Frames, [], Runtimes.DotnetRuntimeTests.Below)).Sum(t => t.Seconds);
            Assert.True(complete >= burn.Sum(t => t.Seconds) * 0.9, $"Burn <- Main <- {string.Join(" <- ", Runtimes.DotnetRuntimeTests.Below)} holds {complete:F3}s of {burn.Sum(t => t.Seconds):F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
        }
        finally
        {
            if (!tracee.HasExited)
            {
                tracee.Kill();
            }

            await tracee.WaitForExitAsync();
        }
    }

    private static double BurnShare(Profiling.ProfileSeries series)
    {
        var traces = GoPprof.Traces(AgentHarness.Save(series));
        var total = traces.Sum(t => t.Seconds);
        return total == 0 ? 0 : traces.Where(IsSteadyBurn).Sum(t => t.Seconds) / total;
    }

    /// <summary>Burn as the leaf in its final tiered version, not the on-stack-replacement one the loop starts in.</summary>
    private static bool IsSteadyBurn(PprofTrace t) =>
        t.Frames[0].Contains("Hot::Burn", StringComparison.Ordinal) && !t.Frames[0].Contains("OSR", StringComparison.Ordinal);
}
