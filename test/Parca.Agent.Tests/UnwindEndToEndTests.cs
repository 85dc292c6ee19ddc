namespace Parca.Agent.Tests;

/// <summary>
/// Complete user stacks of code built without frame pointers: the agent's BPF table unwinder on the real kernel,
/// stacks read back through a real parca's query API.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class UnwindEndToEndTests
{
    [Fact]
    public async Task C_program_at_O2_without_frame_pointers_has_the_whole_chain_from_start_to_the_hot_leaf()
    {
        var path = Tracees.BuildNoFramePointers("chain", "gcc", "-O2");
        Assert.DoesNotContain("rbp", Tracees.Run("objdump", $"-d --no-show-raw-insn --disassemble=c {path}"), StringComparison.Ordinal);
        await using var run = await ServerReadback.StartAsync(Comm(path));
        using var tracee = Tracees.Start(path, "6");
        var from = await run.WaitForTablesAsync(tracee.Id);
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);

        string[] expected = ["burn", "c", "b", "a", "main", "*", "__libc_start_main", "_start"];
        AssertShare(traces, file, expected, 0.95);
    }

    [Fact]
    public async Task Cpp_program_with_templates_and_exceptions_has_the_whole_chain()
    {
        var path = Tracees.BuildNoFramePointers("templates", "g++", "-O2", ".cpp");
        await using var run = await ServerReadback.StartAsync(Comm(path));
        using var tracee = Tracees.Start(path, "6");
        var from = await run.WaitForTablesAsync(tracee.Id);
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        // --symbolizer-demangle-mode=simple (the default) drops template arguments.
        string[] expected = ["Mixer::spin", "Layer::run", "Layer::run", "Layer::run", "Layer::run", "guarded", "main", "*", "__libc_start_main", "_start"];
        AssertShare(traces, file, expected, 0.95);
    }

    [Fact]
    public async Task Rust_release_build_without_frame_pointers_has_the_chain_from_main_to_the_hot_function()
    {
        // Debian's rustc (scripts/bootstrap.sh test installs it); -O omits frame pointers as release builds do.
        const string Rustc = "/usr/bin/rustc";
        Assert.True(File.Exists(Rustc), "Debian's rustc is not installed (scripts/bootstrap.sh test installs it)");
        var output = Path.Combine(Tracees.OutputDirectory, "rustchain");
        Directory.CreateDirectory(Tracees.OutputDirectory);
        Tracees.Run(Rustc, $"-O -o {output} {Path.Combine(AppContext.BaseDirectory, "tracees", "rustchain.rs")}");
        var level1 = Tracees.Run("nm", output).Split('\n').Select(l => l.Split(' ')[^1]).First(n => n.Contains("rustchain6level1", StringComparison.Ordinal));
        Assert.DoesNotContain("%rbp", Tracees.Run("objdump", $"-d --no-show-raw-insn --disassemble={level1} {output}"), StringComparison.Ordinal);
        await using var run = await ServerReadback.StartAsync("rustchain");
        using var tracee = Tracees.Start(output, "6");
        var from = await run.WaitForTablesAsync(tracee.Id);
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);

        // Leaf side: our functions; root side: Rust's runtime start (its depth varies by version) down to _start.
        string[] leaf = ["rustchain::burn", "rustchain::level3", "rustchain::level2", "rustchain::level1", "rustchain::main"];
        string[] root = ["main", "*", "__libc_start_main", "_start"];
        var total = traces.Sum(t => t.Seconds);
        var complete = traces.Select(t => (t.Seconds, Frames: LibcStartAsSymbolTable(t.Frames)))
            .Select(t => (t.Seconds, User: t.Frames[(Array.FindLastIndex(t.Frames, IsKernelFrame) + 1)..]))
            .Where(t => t.User.Length >= leaf.Length + root.Length
                && t.User.Take(leaf.Length).SequenceEqual(leaf)
                && t.User[^root.Length..].Zip(root).All(p => p.Second == "*" || p.First == p.Second)).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(complete >= total * 0.95, $"{string.Join(" <- ", leaf)} <- ... <- {string.Join(" <- ", root)} holds {complete:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    [Theory]
    [InlineData("signal", new[] { "on_signal", "*", "idle_loop", "main", "*", "__libc_start_main", "_start" })]
    [InlineData("thread", new[] { "burn", "worker", "*", "*" })]
    [InlineData("plt", new[] { "measure", "main", "*", "__libc_start_main", "_start" })]
    public async Task Signal_handler_thread_and_plt_stacks_are_complete(string mode, string[] outerFrames)
    {
        var path = Tracees.BuildNoFramePointers("shapes", "gcc", "-O2 -pthread");
        await using var run = await ServerReadback.StartAsync(Comm(path));
        using var tracee = Tracees.Start(path, mode, "6");
        var from = await run.WaitForTablesAsync(tracee.Id);
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        AssertSuffixShare(traces, file, outerFrames, 0.9);
    }

    [Fact]
    public async Task A_table_is_unloaded_when_the_last_process_mapping_it_exits()
    {
        var path = Tracees.BuildNoFramePointers("chain", "gcc", "-O2");
        var buildId = Parca.Symbols.Elf.ElfFile.Open(path).BuildId!;
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 1);
        var unwinder = agent.Agent.Unwinder!;
        using var first = Tracees.Start(path, "6");
        using var second = Tracees.Start(path, "12");
        for (var i = 0; i < 600 && !(unwinder.HasProcess(first.Id) && unwinder.HasProcess(second.Id)); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(unwinder.HasProcess(first.Id) && unwinder.HasProcess(second.Id), "the tracees' mappings were not loaded");
        Assert.True(unwinder.HasTable(buildId), "the chain binary's table was not loaded");
        await first.WaitForExitAsync();
        await WaitWindowsAsync(agent, 2);
        Assert.False(unwinder.HasProcess(first.Id));
        Assert.True(unwinder.HasTable(buildId), "the table went away while a second process still maps the file");
        await second.WaitForExitAsync();
        await WaitWindowsAsync(agent, 2);
        Assert.False(unwinder.HasProcess(second.Id));
        Assert.False(unwinder.HasTable(buildId), "the table stayed loaded after the last process mapping it exited");
        Assert.True(unwinder.TablesUnloaded > 0);
    }

    [Fact]
    public async Task Full_table_memory_is_counted_and_sampling_continues_with_frame_pointers()
    {
        var path = Tracees.BuildNoFramePointers("chain", "gcc", "-O2");
        await using var agent = await AgentHarness.StartAsync(windowSeconds: 1, configure: o => o.DwarfUnwindingMaxRows = 16);
        using var tracee = Tracees.Start(path, "3");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id) && p.Samples >= 5);
        await tracee.WaitForExitAsync();
        var unwinder = agent.Agent.Unwinder!;
        Assert.True(unwinder.TablesNotLoaded > 0, "no table was refused with 16 rows of table memory");
        Assert.True(unwinder.RowsUsed <= 16);
        using var http = new HttpClient { BaseAddress = agent.Agent.BaseAddress };
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches(@"parca_agent_unwind_tables_not_loaded_total [1-9]", metrics);
        Assert.Contains("parca_agent_unwind_table_rows_capacity 16\n", metrics, StringComparison.Ordinal);
        Assert.Contains(agent.Logs.Entries, e => e.Message.Contains("--dwarf-unwinding-max-rows", StringComparison.Ordinal));
        Assert.Contains(GoPprof.Traces(AgentHarness.Save(series)), t => t.Frames[0] == "burn");
    }

    private static async Task WaitWindowsAsync(AgentHarness agent, int windows)
    {
        var target = agent.Agent.Metrics.Windows + windows;
        for (var i = 0; i < 200 && agent.Agent.Metrics.Windows < target; i++)
        {
            await Task.Delay(100);
        }
    }

    /// <summary>Share of samples whose outermost frames are exactly <paramref name="outer"/> (the leaf side may vary).</summary>
    internal static void AssertSuffixShare(List<PprofTrace> traces, string file, string[] outer, double share)
    {
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Select(t => (t.Seconds, Frames: LibcStartAsSymbolTable(t.Frames)))
            .Where(t => t.Frames.Length >= outer.Length && Matches(t.Frames[^outer.Length..], outer)).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"... <- {string.Join(" <- ", outer)} holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    /// <summary>
    /// Share of samples whose user stack (leaf first) is exactly <paramref name="expected"/> ("*" = any one frame,
    /// "~x" = a frame containing x); kernel frames above it (an interrupt taken in burn) are allowed.
    /// </summary>
    internal static void AssertShare(List<PprofTrace> traces, string file, string[] expected, double share)
    {
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Select(t => (t.Seconds, Frames: LibcStartAsSymbolTable(t.Frames)))
            .Where(t => t.Frames.Length >= expected.Length && Matches(t.Frames[^expected.Length..], expected)
                && (t.Frames.Length == expected.Length || IsKernelFrame(t.Frames[^(expected.Length + 1)]))).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"{string.Join(" <- ", expected)} holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    /// <summary>
    /// libc's start code as its symbol table names it. Named from DWARF (libc6-dbg: the server symbolizing file
    /// addresses from debug files), the same return addresses read `call_init` (inlined) and
    /// `__libc_start_main_impl`, the function behind the exported versioned `__libc_start_main`; the patterns use
    /// the symbol table's names.
    /// </summary>
    internal static string[] LibcStartAsSymbolTable(string[] frames)
    {
        var i = Array.IndexOf(frames, "__libc_start_main_impl");
        if (i < 0)
        {
            return frames;
        }

        var list = frames.ToList();
        list[i] = "__libc_start_main";
        if (i > 0 && list[i - 1] == "call_init")
        {
            list.RemoveAt(i - 1);
        }

        return [.. list];
    }

    /// <summary>The process's comm: its file name cut to 15 bytes.</summary>
    private static string Comm(string path) => Path.GetFileName(path) is { Length: > 15 } name ? name[..15] : Path.GetFileName(path);

    /// <summary>The frame right above the user stack in a sample taken in the kernel is the kernel's entry (irq, syscall, exception).</summary>
    private static bool IsKernelFrame(string frame) => frame.StartsWith("asm_", StringComparison.Ordinal) || frame.StartsWith("entry_SYSCALL", StringComparison.Ordinal);

    private static bool Matches(string[] frames, string[] expected)
    {
        if (frames.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < frames.Length; i++)
        {
            var ok = expected[i] == "*" || frames[i] == expected[i] || (expected[i].StartsWith('~') && frames[i].Contains(expected[i][1..], StringComparison.Ordinal));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
