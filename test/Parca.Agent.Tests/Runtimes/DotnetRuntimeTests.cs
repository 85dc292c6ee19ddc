using Microsoft.Extensions.Logging;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// .NET processes started with no profiling environment: the agent turns their perf map on through the diagnostics
/// socket, walks their stacks with the default unwinder (unwind tables + frame pointers through JIT code) and the
/// whole managed chain comes back named from a real parca, down to the host's native entry.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class DotnetRuntimeTests
{
    /// <summary>
    /// The tracee's chain, leaf first, as go tool pprof shows the agent's names (namespace, type, generic arguments;
    /// pprof hides the parameter list the agent also sends; tiers merged).
    /// </summary>
    internal static readonly string[] Chain =
    [
        "Tracee.Chain.Leaf::Burn",
        "Tracee.Chain.Inner::Level3",
        "Tracee.Chain.Middle`1[System.Int64]::Level2",
        "Tracee.Chain.Outer::Level1",
        "Tracee.Chain.Program::Main",
    ];

    /// <summary>
    /// Below Main, in order: the runtime's call-in path and the host, down to libc's call of main and the executable's
    /// entry. A frame counts by its name or, when the window closed before the process's files were read (a heavily
    /// loaded machine), by its library: the walk is what is checked here, naming native frames elsewhere.
    /// </summary>
    internal static readonly string[] Below =
    [
        "coreclr_execute_assembly|[libcoreclr.so]", "corehost_main|[libhostpolicy.so]", "hostfxr_main_startupinfo|[libhostfxr.so]",
        "__libc_start_call_main|[libc.so.6]", "_start|[dotnet]",
    ];

    /// <summary>Keeps the sampled thread's name as a label: the chain runs on the main thread (named like the process).</summary>
    internal const string ThreadLabel = "- source_labels: [__meta_thread_comm]\n  target_label: thread\n";

    /// <summary>The main thread's samples: the runtime's own threads (tiered compilation, GC, finalizer) are not the app's chain.</summary>
    internal const string MainThread = ",thread=\"dotnet\"";

    [Fact]
    public async Task App_started_after_the_agent_without_environment_has_the_whole_chain_named_down_to_main()
    {
        var dll = DotnetTracees.Build("dotnetchain");
        await using var run = await ServerReadback.StartAsync("dotnet", extraRelabel: ThreadLabel);
        using var tracee = DotnetTracees.Start(dll, "120");
        try
        {
            var from = await WaitForPerfMapAsync(run, tracee.Id);
            await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 4);
            var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from, MainThread);
            AssertChain(traces, file);
            AssertAtMostOneWarning(run.Agent, tracee.Id);
        }
        finally
        {
            tracee.Kill();
        }
    }

    [Fact]
    public async Task App_started_before_the_agent_without_environment_has_the_whole_chain_named_down_to_main()
    {
        var dll = DotnetTracees.Build("dotnetchain");
        using var tracee = DotnetTracees.Start(dll, "120");
        try
        {
            // Running (and JIT-compiled through tier 1) before the agent exists: the perf map turned on later
            // must list the methods compiled before.
            await Task.Delay(TimeSpan.FromSeconds(2));
            await using var run = await ServerReadback.StartAsync("dotnet", extraRelabel: ThreadLabel);
            var from = await WaitForPerfMapAsync(run, tracee.Id);
            await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 4);
            var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from, MainThread);
            AssertChain(traces, file);
            AssertAtMostOneWarning(run.Agent, tracee.Id);
        }
        finally
        {
            if (!tracee.HasExited)
            {
                tracee.Kill();
            }
        }
    }

    [Fact]
    public async Task Processes_exiting_mid_window_cost_at_most_one_log_line_each()
    {
        var dll = DotnetTracees.Build("dotnetchain");
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 2);
        var pids = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            // Lifetimes from 0.3 s to 1.2 s: some exit before the agent sees them, some right after it turned
            // their perf map on, some while it reads their files.
            using var tracee = DotnetTracees.Start(dll, (0.3 * (i + 1)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            pids.Add(tracee.Id);
            await tracee.WaitForExitAsync();
        }

        await agent.WaitForProfileAsync(p => p.Pids.Any(pids.Contains));
        await Task.Delay(agent.Agent.Options.ProfilingDuration * 2);
        foreach (var pid in pids)
        {
            var lines = agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Message.Contains($"process {pid} ", StringComparison.Ordinal)).ToList();
            Assert.True(lines.Count <= 1, $"pid {pid}: {string.Join("\n", lines)}");
        }

        Assert.DoesNotContain(agent.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    /// <summary>
    /// Waits until the agent turned the process's perf map on and loaded the table of its JIT code; returns when the
    /// next window started (samples before were taken while the process was new to the agent).
    /// </summary>
    internal static async Task<DateTimeOffset> WaitForPerfMapAsync(ServerReadback run, int pid)
    {
        var dotnet = run.Agent.Agent.Dotnet ?? throw new InvalidOperationException("the agent runs with --dotnet-perf-map-disable");
        var jit = run.Agent.Agent.JitUnwind ?? throw new InvalidOperationException("the agent runs without unwind tables");
        await run.Agent.WaitUntilAsync(() => dotnet.IsEnabled(pid) && jit.HasTable(pid), maxWindows: 10);

        Assert.True(dotnet.IsEnabled(pid), $"the agent never turned on the perf map of pid {pid}: {string.Join("\n", run.Agent.Logs.Entries.Select(e => e.Message))}");
        Assert.True(jit.HasTable(pid), $"the agent never loaded a JIT table for pid {pid}");
        return await run.WaitForTablesAsync(pid);
    }

    internal static void AssertChain(List<PprofTrace> traces, string file)
    {
        var share = DotnetTracees.Share(traces, Chain, Below);
        Assert.True(share >= 0.9, $"the whole chain {string.Join(" <- ", Chain)} <- ... {string.Join(" <- ", Below)} holds {share:P1} of the samples:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    /// <summary>
    /// At most one warning about the tracee (on a loaded machine: its files not read within a window's wait) and no
    /// error at all; other processes on a shared machine may have their own.
    /// </summary>
    internal static void AssertAtMostOneWarning(AgentHarness agent, int pid)
    {
        var lines = agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Message.Contains($"process {pid} ", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count <= 1, string.Join("\n", lines));
        Assert.DoesNotContain(agent.Logs.Entries, e => e.Level >= LogLevel.Error);
    }
}
