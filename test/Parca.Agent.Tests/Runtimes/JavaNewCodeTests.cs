using Parca.Agent.Runtimes.Java;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// Code a running JVM compiles within a window gets unwind rows within it: when samples run compiled code the last
/// perf map did not list, the agent asks the JVM for a new one through its attach socket and publishes the new
/// methods' rows, instead of waiting for the window's end. The window is longer than the test, so nothing but that
/// request can bring the rows. The agent itself starts a JVM's attach listener only at a window's end (it signals
/// the process); here the JDK's own jcmd starts it, as an administrator's jcmd would. The JVM spins in a warm-up
/// method until told to start the chain, so the chain's code is compiled after the JVM's first perf map.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class JavaNewCodeTests
{
    private const string Leaf = "tracee.chain.Leaf.burn(long)";

    [Fact]
    public async Task Code_compiled_within_a_window_gets_rows_and_whole_stacks_before_the_window_ends()
    {
        var classes = JavaTracees.Build("javachain");
        await using var agent = await AgentHarness.StartAsync(
            "relabel_configs:\n- source_labels: [__meta_process_pid]\n  target_label: pid\n",
            windowSeconds: 600);
        var jit = agent.Agent.JitUnwind ?? throw new InvalidOperationException("the agent runs without unwind tables");
        using var jvm = JavaTracees.Start(classes, "tracee.chain.Chain", "60", "0", "wait");
        try
        {
            // jcmd signals the JVM like the agent does: not before the JVM handles SIGQUIT (it would end it).
            Assert.True(
                await agent.WaitUntilAsync(() => HotSpotAttach.CatchesSigQuit("/proc", jvm.Id), maxWindows: 0),
                $"JVM {jvm.Id} never caught SIGQUIT");
            Tracees.Run($"{JavaTracees.Home}/bin/jcmd", $"{jvm.Id} VM.version");

            // The warm-up's code (interpreter, Warm.spin) was sampled without any map: the first one comes mid-window.
            Assert.True(
                await agent.WaitUntilAsync(() => jit.HasTable(jvm.Id), maxWindows: 0),
                $"no table of JVM {jvm.Id}'s code within the first window ({agent.Agent.Metrics.JavaPerfMapRereads} perf map requests)");
            jvm.StandardInput.WriteLine("go");
            jvm.StandardInput.Flush();

            // No window may close meanwhile (maxWindows: 0); the wall-clock cap only guards against a hang.
            Assert.True(
                await agent.WaitUntilAsync(() => CompiledLeafWithRows(jit, jvm.Id) != 0, maxWindows: 0),
                $"no unwind rows for {Leaf}'s compiled code within the first window ({agent.Agent.Metrics.JavaPerfMapRereads} perf map requests):\n"
                + string.Join("\n", DotnetTracees.PerfMapEntries(jvm.Id).Where(e => e.Name.Contains("Leaf.burn", StringComparison.Ordinal))));
            Assert.Equal(0L, agent.Agent.Metrics.Windows);
            Assert.True(agent.Agent.Metrics.JavaPerfMapRereads > 0);

            // Samples of the compiled leaf, most of them taken after the rows came (the chain's C2 code settled with
            // rows, then 20 s more); then the one window is closed.
            string? codeList = null;
            Assert.True(
                await agent.WaitUntilAsync(() => JavaRuntimeTests.C2CodeWithRows(jit, jvm.Id, [.. JavaRuntimeTests.ChainMethods, "tracee.chain.Chain.main"], out codeList), maxWindows: 0, step: () => Task.Delay(500)),
                $"the chain's C2 code never settled with rows within the window; the JVM's code list:\n{codeList}");
            Assert.Equal(0L, agent.Agent.Metrics.Windows);
            await Task.Delay(TimeSpan.FromSeconds(20));
            await agent.Agent.StopAsync();
            var pid = jvm.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var series = agent.Profiles.Single(p => p.Labels.TryGetValue("pid", out var l) && l == pid);
            var file = AgentHarness.Save(series);
            var leaf = GoPprof.Traces(file).Where(t => t.Frames[0] == Leaf).ToList();
            var total = leaf.Sum(t => t.Seconds);
            Assert.True(total > 0, $"no sample has {Leaf} as its leaf:\n{Tracees.Run("go", "tool pprof -traces " + file)}");

            // Whole stacks: the frameless compiled leaf stepped with its rows through the chain, down to the thread's start.
            var whole = leaf.Where(t => DotnetTracees.Matches(t.Frames, JavaRuntimeTests.Levels, ["tracee.chain.Chain.main|Interpreter", "start_thread|[libc.so.6]"])).Sum(t => t.Seconds);
            Assert.True(whole >= 0.9 * total, $"the whole chain holds {whole:F2}s of {total:F2}s of {Leaf}:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
            DotnetRuntimeTests.AssertAtMostOneWarning(agent, jvm.Id);
        }
        finally
        {
            if (!jvm.HasExited)
            {
                jvm.Kill();
            }
        }
    }

    /// <summary>The start of the leaf's compiled code once the JVM's perf map lists it and the agent has its rows; 0 before.</summary>
    private static ulong CompiledLeafWithRows(Parca.Agent.Runtimes.Dotnet.JitUnwindTables jit, int pid)
    {
        var methods = jit.Methods(pid);
        foreach (var (start, name) in DotnetTracees.PerfMapEntries(pid))
        {
            if (name.EndsWith(" " + Leaf, StringComparison.Ordinal) && methods.Any(m => m.Start == start && m.HasRows))
            {
                return start;
            }
        }

        return 0;
    }
}
