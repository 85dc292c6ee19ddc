using System.Diagnostics;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// Code a running .NET process compiles within a window (here the tier-1 version of its hot method) is unwound with
/// rows from then on, not from the window's end: the agent reads the perf map again as soon as samples run code it
/// has no rows for. The window is longer than the test, so nothing but that re-read can bring the rows.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class DotnetNewCodeTests
{
    [Fact]
    public async Task Tier1_code_compiled_within_a_window_gets_rows_and_whole_stacks_before_the_window_ends()
    {
        var dll = DotnetTracees.Build("dotnet");
        // Tiers kept apart: the samples checked are those of Burn's tier-1 code, the code compiled mid-window.
        await using var agent = await AgentHarness.StartAsync(
            "relabel_configs:\n- source_labels: [__meta_process_pid]\n  target_label: pid\n",
            windowSeconds: 600,
            configure: o => o.DotnetKeepTiers = true);
        var jit = agent.Agent.JitUnwind ?? throw new InvalidOperationException("the agent runs without unwind tables");

        // The perf map on from the start (the agent turns it on only at a window's end, and this window does not end).
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("60");
        psi.Environment["DOTNET_PerfMapEnabled"] = "1";
        using var tracee = Process.Start(psi)!;
        try
        {
            // No window may close meanwhile (maxWindows: 0); the wall-clock cap only guards against a hang.
            Assert.True(
                await agent.WaitUntilAsync(() => DotnetTracees.Tier1WithRows(jit, tracee.Id, "Hot::Burn(") != 0, maxWindows: 0),
                $"no unwind rows for Burn's tier-1 code within the first window ({agent.Agent.Metrics.DotnetPerfMapRereads} perf map re-reads):\n"
                + string.Join("\n", DotnetTracees.PerfMapEntries(tracee.Id).Where(e => e.Name.Contains("Hot::Burn", StringComparison.Ordinal))));
            Assert.Equal(0L, agent.Agent.Metrics.Windows);
            Assert.True(agent.Agent.Metrics.DotnetPerfMapRereads > 0);

            // Samples of the tier-1 code, most of them taken after the rows came; then the one window is closed.
            await Task.Delay(TimeSpan.FromSeconds(10));
            await agent.Agent.StopAsync();
            var pid = tracee.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var series = agent.Profiles.Single(p => p.Labels.TryGetValue("pid", out var l) && l == pid);
            var file = AgentHarness.Save(series);
            var tier1 = GoPprof.Traces(file).Where(t => t.Frames[0].Contains("Hot::Burn", StringComparison.Ordinal) && t.Frames[0].EndsWith("[OptimizedTier1]", StringComparison.Ordinal)).ToList();
            var total = tier1.Sum(t => t.Seconds);
            Assert.True(total > 0, $"no sample has Burn's tier-1 code as its leaf:\n{Tracees.Run("go", "tool pprof -traces " + file)}");

            // Whole stacks: the frameless tier-1 Burn stepped with its rows to Main, then down to the host's entry.
            var whole = tier1.Where(t => t.Frames.Length > 1 && t.Frames[1].Contains("Program::", StringComparison.Ordinal)
                && DotnetTracees.Matches(t.Frames, [], DotnetRuntimeTests.Below)).Sum(t => t.Seconds);
            Assert.True(whole >= 0.9 * total, $"Burn <- Main <- ... holds {whole:F2}s of {total:F2}s of tier-1 Burn:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
            DotnetRuntimeTests.AssertAtMostOneWarning(agent, tracee.Id);
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
}
