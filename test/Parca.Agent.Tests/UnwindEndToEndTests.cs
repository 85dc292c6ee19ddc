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
        await using var run = await ServerReadback.StartAsync(Path.GetFileName(path));
        using var tracee = Tracees.Start(path, "6");
        var from = await run.WaitForTablesAsync(tracee.Id);
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);

        string[] expected = ["burn", "c", "b", "a", "main", "*", "__libc_start_main", "_start"];
        AssertShare(traces, file, expected, 0.95);
    }

    /// <summary>Share of samples whose frames (leaf first) are exactly <paramref name="expected"/> ("*" = any one frame).</summary>
    internal static void AssertShare(List<(double Seconds, string[] Frames)> traces, string file, string[] expected, double share)
    {
        var total = traces.Sum(t => t.Seconds);
        var hot = traces.Where(t => Matches(t.Frames, expected)).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"{string.Join(" <- ", expected)} holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");
    }

    private static bool Matches(string[] frames, string[] expected)
    {
        if (frames.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < frames.Length; i++)
        {
            if (expected[i] != "*" && frames[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }
}
