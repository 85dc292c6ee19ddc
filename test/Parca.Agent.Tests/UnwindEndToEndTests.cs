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

    /// <summary>Share of samples whose outermost frames are exactly <paramref name="outer"/> (the leaf side may vary).</summary>
    internal static void AssertSuffixShare(List<(double Seconds, string[] Frames)> traces, string file, string[] outer, double share)
    {
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Where(t => t.Frames.Length >= outer.Length && Matches(t.Frames[^outer.Length..], outer)).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"... <- {string.Join(" <- ", outer)} holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    /// <summary>
    /// Share of samples whose user stack (leaf first) is exactly <paramref name="expected"/> ("*" = any one frame,
    /// "~x" = a frame containing x); kernel frames above it (an interrupt taken in burn) are allowed.
    /// </summary>
    internal static void AssertShare(List<(double Seconds, string[] Frames)> traces, string file, string[] expected, double share)
    {
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Where(t => t.Frames.Length >= expected.Length && Matches(t.Frames[^expected.Length..], expected)
            && (t.Frames.Length == expected.Length || IsKernelFrame(t.Frames[^(expected.Length + 1)]))).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"{string.Join(" <- ", expected)} holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
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
