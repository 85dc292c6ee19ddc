namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// Python frames from Debian's /usr/bin/python3.11, run with no flags or environment changes, profiled by the real
/// agent on the real kernel and read back from a real parca: function, file and line of every frame, spliced into
/// the native stack in place of the interpreter loop's frames.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class PythonEndToEndTests
{
    private const string Python = "/usr/bin/python3.11";

    /// <summary>Seconds a tracee would run; the tests stop it once the agent took enough samples (<see cref="InterpreterRuns.CollectAsync"/>).</summary>
    private const string LongRun = "120";

    private static readonly Interpreter s_python = new(Python, "python3.11", "chain.py");

    private static readonly string[] s_mainChain = ["leaf chain.py:12", "level3 chain.py:17", "level2 chain.py:21", "level1 chain.py:25", "spin chain.py:31"];

    [Fact]
    public Task Four_level_chain_has_every_function_file_and_line_above_the_native_entry_frames() =>
        InterpreterRuns.AssertChainAsync(s_python, ["chain", LongRun], [.. s_mainChain, "main chain.py:73", "<module> chain.py:88"]);

    [Fact]
    public Task A_second_thread_has_its_own_chain_under_its_own_thread_label() =>
        InterpreterRuns.AssertThreadChainsAsync(
            s_python,
            ["threads", LongRun],
            [.. s_mainChain, "main chain.py:80", "<module> chain.py:88"],
            ["worker_leaf chain.py:36", "worker_middle chain.py:41", "worker_spin chain.py:47", "Thread.run *", "Thread._bootstrap_inner *", "Thread._bootstrap *"]);

    [Fact]
    public async Task A_C_extension_has_its_native_frames_above_its_Python_caller_in_one_stack()
    {
        await using var run = await ServerReadback.StartAsync(s_python.Comm);
        using var python = s_python.Run("zlib", LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, python.Id);
        await InterpreterRuns.CollectAsync(run, python, from, InterpreterRuns.WantedSamples, python.Id);

        var stacks = await InterpreterRuns.StacksAsync(run, python.Id, from);
        var total = stacks.Sum(s => s.Value);
        var underPython = stacks.Where(s => IsNativeAboveSqueeze(s.Frames)).Sum(s => s.Value);
        var inZlib = stacks.Where(s => IsNativeAboveSqueeze(s.Frames) && s.Frames.Any(f => f.Mapping.Contains("libz.so", StringComparison.Ordinal))).Sum(s => s.Value);
        Assert.True(underPython >= total * 0.9, $"native frames above squeeze <- main <- <module> <- ... <- _start in {underPython} of {total} samples:\n{PprofFrames.Format(stacks)}");
        Assert.True(inZlib >= total * 0.7, $"libz frames above squeeze <- main <- <module> in {inZlib} of {total} samples:\n{PprofFrames.Format(stacks)}");
    }

    [Fact]
    public Task Forked_workers_each_have_the_chain() =>
        InterpreterRuns.AssertForkedChainsAsync(s_python, ["fork", LongRun], [.. s_mainChain, "forked chain.py:62", "main chain.py:85", "<module> chain.py:88"]);

    [Fact]
    public Task A_two_second_process_gets_Python_frames_and_no_log_noise() =>
        InterpreterRuns.AssertShortProcessAsync(s_python, ["chain", "-2"], "leaf chain.py:12"); // 2 s of CPU: a loaded machine stretches it, never starves it

    [Fact]
    public Task A_Python_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        // Py_Version patched to 3.99.2 (PY_VERSION_HEX 0x036302f0)
        var hidden = s_python with { Path = InterpreterRuns.PatchedCopy(Python, "python3.99", "Py_Version", [0xf0, 0x02, 0x63, 0x03]), Comm = "python3.99" };
        return InterpreterRuns.AssertUnsupportedVersionAsync(hidden.Comm, () => hidden.Run("chain", LongRun), ("_PyEval_EvalFrameDefault", hidden.Path), hidden.Start, "Python 3.99.2", hidden.Path);
    }

    /// <summary>The stack's Python frames are squeeze &lt;- main &lt;- &lt;module&gt; with native frames above them (the C extension) and _start at the root.</summary>
    private static bool IsNativeAboveSqueeze(StackFrame[] frames)
    {
        var first = Array.FindIndex(frames, f => f.IsPython);
        return first > 0 && InterpreterRuns.IsNative(frames[^1], s_python.Start)
            && frames[first..].Where(f => f.IsPython).Select(f => f.ToString()).SequenceEqual(["squeeze chain.py:54", "main chain.py:83", "<module> chain.py:88"]);
    }
}
