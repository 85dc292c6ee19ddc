using Microsoft.Extensions.Logging;
using Parca.Agent.Runtimes.Java;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// JVMs (Debian's OpenJDK 17) started with no flags: the agent has them write their perf map through the attach
/// socket, unwinds their compiled frames with tables made from HotSpot's entry code, and the whole Java chain comes
/// back named from a real parca, down through libjvm to the thread's start.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class JavaRuntimeTests
{
    /// <summary>The chain below the entry frame, leaf first, as go tool pprof shows the agent's names.</summary>
    internal static readonly string[] Levels =
    [
        "tracee.chain.Leaf.burn(long)",
        "tracee.chain.Inner.level3(long)",
        "tracee.chain.Middle.level2(long)",
        "tracee.chain.Outer.level1(long)",
    ];

    /// <summary>
    /// Below the Java frames: HotSpot's call stub into Java, then (through libjvm's JavaCalls and, on the main thread,
    /// the launcher's JavaMain in libjli, whose names vary with what the symbol tables hold) the thread's start in libc.
    /// </summary>
    internal static readonly string[] Below = ["StubRoutines (1)", "start_thread|[libc.so.6]"];

    /// <summary>The chain's methods as the JVM's code list names them (package.Class.method).</summary>
    internal static readonly string[] ChainMethods = ["tracee.chain.Leaf.burn", "tracee.chain.Inner.level3", "tracee.chain.Middle.level2", "tracee.chain.Outer.level1"];

    /// <summary>The launcher runs main on a thread named like the process; workers are named worker-N by the tracee.</summary>
    private const string MainThread = ",thread=\"java\"";

    [Fact]
    public async Task Jvm_started_without_flags_has_the_whole_chain_named_down_to_start_thread()
    {
        var classes = JavaTracees.Build("javachain");
        await using var run = await ServerReadback.StartAsync("java", extraRelabel: DotnetRuntimeTests.ThreadLabel);
        using var jvm = JavaTracees.Start(classes, "tracee.chain.Chain", "120");
        try
        {
            var from = await WaitForCompiledChainAsync(run, jvm.Id, [.. ChainMethods, "tracee.chain.Chain.main"]);
            await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 5);
            var (traces, file) = await run.StopAndQueryAsync(jvm.Id, from, MainThread);
            // main runs its loop as on-stack-replacement code once compiled, until then interpreted (an interpreter
            // frame is named Interpreter: docs/agent.md "Java stacks"); go tool pprof drops its parameter list.
            AssertChain(traces, file, Levels, ["tracee.chain.Chain.main|Interpreter", "start_thread|[libc.so.6]"], run, jvm.Id);
            DotnetRuntimeTests.AssertAtMostOneWarning(run.Agent, jvm.Id);
        }
        finally
        {
            jvm.Kill();
        }
    }

    [Fact]
    public async Task Jvm_with_many_threads_has_the_chain_on_every_worker()
    {
        var classes = JavaTracees.Build("javachain");
        await using var run = await ServerReadback.StartAsync("java", extraRelabel: DotnetRuntimeTests.ThreadLabel);
        using var jvm = JavaTracees.Start(classes, "tracee.chain.Chain", "120", "24");
        try
        {
            var from = await WaitForCompiledChainAsync(run, jvm.Id, [.. ChainMethods, "tracee.chain.Worker.run"]);
            await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 5);
            var (traces, file) = await run.StopAndQueryAsync(jvm.Id, from, ",thread=~\"worker-.*\"");
            // Below Worker.run (C2) the interpreted lambda and Thread.run, named from their frames.
            AssertChain(traces, file, [.. Levels, "tracee.chain.Worker.run(double, long)"], ["java.lang.Thread.run()", .. Below], run, jvm.Id);
            DotnetRuntimeTests.AssertAtMostOneWarning(run.Agent, jvm.Id);
        }
        finally
        {
            jvm.Kill();
        }
    }

    [Fact]
    public async Task Jvms_exiting_mid_window_cost_at_most_one_log_line_each()
    {
        var classes = JavaTracees.Build("javachain");
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 1);
        var pids = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            // From 0.3 s to 1.8 s of running: some exit before the agent asks for their perf map, some while it
            // attaches, some while it reads the map.
            using var jvm = JavaTracees.Start(classes, "tracee.chain.Chain", (0.3 + 0.5 * i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            pids.Add(jvm.Id);
            await jvm.WaitForExitAsync();
            Assert.Equal(0, jvm.ExitCode);
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
    /// Waits until the JVM wrote a perf map naming the leaf as compiled code and its table was loaded, then for the
    /// chain's compilation to settle: C1 code is replaced by C2 code as calls accumulate, and a sample in code compiled
    /// a moment ago may precede its rows (JitCodeWatch asks the JVM within the window, but on a loaded machine the
    /// JVM answers late). Settled = the JVM runs C2 code for every method of <paramref name="methods"/> and the agent
    /// has rows for all of it; returns the time from which samples count.
    /// </summary>
    private static async Task<DateTimeOffset> WaitForCompiledChainAsync(ServerReadback run, int pid, params string[] methods)
    {
        var java = run.Agent.Agent.Java ?? throw new InvalidOperationException("the agent runs with --java-perf-map-disable");
        var jit = run.Agent.Agent.JitUnwind ?? throw new InvalidOperationException("the agent runs without unwind tables");
        for (var i = 0; i < 1200 && !(java.WrittenFor(pid) > 0 && jit.HasTable(pid)); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(java.WrittenFor(pid) > 0, $"the JVM {pid} never wrote its perf map: {string.Join("\n", run.Agent.Logs.Entries.Select(e => e.Message))}");
        Assert.True(jit.HasTable(pid), $"the agent never loaded a table of JVM {pid}'s compiled code");
        await run.WaitForTablesAsync(pid);
        string? codeList = null;
        var settled = await run.Agent.WaitUntilAsync(
            () => C2CodeWithRows(jit, pid, methods, out codeList),
            maxWindows: 90,
            step: () => Task.Delay(500));
        Assert.True(settled, $"the chain's C2 code of JVM {pid} never settled with rows; the JVM's code list:\n{codeList}");
        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration);
        return DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// True when the JVM's code list (jcmd Compiler.codelist through its attach socket: "ID LEVEL STATE
    /// package.Class.method(signature) [header, code begin - end]") has C2 code (level 4) in use (state 0) for each
    /// of <paramref name="methods"/>, and the agent has rows for every such code blob (the perf map's start is the
    /// code begin).
    /// </summary>
    internal static bool C2CodeWithRows(Parca.Agent.Runtimes.Dotnet.JitUnwindTables jit, int pid, string[] methods, out string codeList)
    {
        codeList = HotSpotAttach.JcmdAsync("/proc", pid, pid, "Compiler.codelist", TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        var withRows = jit.Methods(pid).Where(m => m.HasRows).Select(m => m.Start).ToHashSet();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in codeList.Split('\n'))
        {
            var parts = line.Split(' ', 4);
            if (parts.Length < 4 || parts[1] != "4" || parts[2] != "0")
            {
                continue;
            }

            var method = methods.FirstOrDefault(m => parts[3].StartsWith(m + "(", StringComparison.Ordinal));
            var begin = parts[3].IndexOf(", 0x", StringComparison.Ordinal);
            if (method is null || begin < 0)
            {
                continue;
            }

            var start = ulong.Parse(parts[3].AsSpan(begin + 4, 16), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            if (!withRows.Contains(start))
            {
                return false;
            }

            seen.Add(method);
        }

        return seen.Count == methods.Length;
    }

    private static void AssertChain(List<PprofTrace> traces, string file, string[] chain, string[] below, ServerReadback run, int pid)
    {
        var share = DotnetTracees.Share(traces, chain, below);
        if (share >= 0.9)
        {
            return;
        }

        // The evidence: the chain's compiled code as the JVM lists it, and whether the agent has rows for it.
        var methods = run.Agent.Agent.JitUnwind!.Methods(pid).ToDictionary(m => m.Start);
        var entries = DotnetTracees.PerfMapEntries(pid).Where(e => e.Name.Contains("tracee.chain.", StringComparison.Ordinal))
            .Select(e => $"{e.Start:x} {e.Name}: {(methods.TryGetValue(e.Start, out var m) ? (m.HasRows ? "rows" : "no rows") : "not analysed")}");
        var interpreter = run.Agent.Agent.JavaInterpreter;
        Assert.Fail($"the whole chain {string.Join(" <- ", chain)} <- ... {string.Join(" <- ", below)} holds {share:P1} of the samples "
            + $"(interpreted methods named {interpreter?.Named}, unreadable {interpreter?.Unnamed}, last error: {interpreter?.LastError}):\n"
            + $"{string.Join("\n", entries)}\n{string.Join("\n", run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Information).Select(e => e.Message).TakeLast(20))}\n"
            + Tracees.Run("go", "tool pprof -traces -addresses " + file));
    }
}
