using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interpreters;
using Parca.Symbols.Elf;

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
    private const string Comm = "python3.11";

    private static readonly string[] s_mainChain = ["leaf chain.py:12", "level3 chain.py:17", "level2 chain.py:21", "level1 chain.py:25", "spin chain.py:31"];

    /// <summary>Seconds a tracee would run; the tests stop it once the agent took enough samples (<see cref="InterpreterRuns.CollectAsync"/>).</summary>
    private const string LongRun = "120";

    private static readonly (string, string) s_start = ("_start", Python);
    private static readonly (string, string) s_clone = ("__clone3", "/libc.so.6");

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Interpreters", "scripts", "chain.py");

    [Fact]
    public async Task Four_level_chain_has_every_function_file_and_line_above_the_native_entry_frames()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "chain", LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, python.Id);
        await InterpreterRuns.CollectAsync(run, python, from, InterpreterRuns.WantedSamples, python.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\"", from));
        InterpreterRuns.AssertChainShare(stacks, [.. s_mainChain, "main chain.py:73", "<module> chain.py:88"], s_start, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, python.Id);
    }

    [Fact]
    public async Task A_second_thread_has_its_own_chain_under_its_own_thread_label()
    {
        await using var run = await ServerReadback.StartAsync(Comm, extraRelabel: "- source_labels: [__meta_thread_id]\n  target_label: tid\n");
        using var python = StartPython(Python, "threads", LongRun);
        var tids = (await python.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("threads", tids[0]);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, python.Id);
        await InterpreterRuns.CollectAsync(run, python, from, 2 * InterpreterRuns.WantedSamples, python.Id);

        var main = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\",tid=\"{tids[1]}\"", from));
        var worker = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\",tid=\"{tids[2]}\"", from));
        InterpreterRuns.AssertChainShare(main, [.. s_mainChain, "main chain.py:80", "<module> chain.py:88"], s_start, 0.9);
        InterpreterRuns.AssertChainShare(worker, ["worker_leaf chain.py:36", "worker_middle chain.py:41", "worker_spin chain.py:47", "Thread.run *", "Thread._bootstrap_inner *", "Thread._bootstrap *"], s_clone, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, python.Id);
    }

    [Fact]
    public async Task A_C_extension_has_its_native_frames_above_its_Python_caller_in_one_stack()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "zlib", LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, python.Id);
        await InterpreterRuns.CollectAsync(run, python, from, InterpreterRuns.WantedSamples, python.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\"", from));
        var total = stacks.Sum(s => s.Value);
        var underPython = stacks.Where(s => IsNativeAboveSqueeze(s.Frames)).Sum(s => s.Value);
        var inZlib = stacks.Where(s => IsNativeAboveSqueeze(s.Frames) && s.Frames.Any(f => f.Mapping.Contains("libz.so", StringComparison.Ordinal))).Sum(s => s.Value);
        Assert.True(underPython >= total * 0.9, $"native frames above squeeze <- main <- <module> <- ... <- _start in {underPython} of {total} samples:\n{PprofFrames.Format(stacks)}");
        Assert.True(inZlib >= total * 0.7, $"libz frames above squeeze <- main <- <module> in {inZlib} of {total} samples:\n{PprofFrames.Format(stacks)}");
    }

    [Fact]
    public async Task Forked_workers_each_have_the_chain()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "fork", LongRun);
        var line = (await python.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("children", line[0]);
        var children = line.Skip(1).Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, children);
        await InterpreterRuns.CollectAsync(run, python, from, InterpreterRuns.WantedSamples, children);
        foreach (var child in children)
        {
            var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{child}\"", from));
            InterpreterRuns.AssertChainShare(stacks, [.. s_mainChain, "forked chain.py:62", "main chain.py:85", "<module> chain.py:88"], s_start, 0.9);
            InterpreterRuns.AssertNoInterpreterWarnings(run, child);
        }
    }

    [Fact]
    public async Task A_two_second_process_gets_Python_frames_and_no_log_noise()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        using var python = StartPython(Python, "chain", "-2"); // 2 s of CPU: a loaded machine stretches it, never starves it
        await python.WaitForExitAsync();
        await InterpreterRuns.WaitForWindowAsync(run);
        await InterpreterRuns.WaitForServerAsync(run, from, python.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\"", from));
        Assert.True(InterpreterRuns.AgentSamples(run, python.Id, from) > 0, "the agent took no sample of the 2-second process");
        Assert.Contains(stacks, s => s.Frames.Any(f => f.ToString() == "leaf chain.py:12"));
        Assert.Contains(stacks, s => InterpreterRuns.IsNative(s.Frames[^1], s_start));
        InterpreterRuns.AssertNoInterpreterWarnings(run, python.Id);
        Assert.True(run.Agent.Logs.Entries.Count(e => e.Level >= LogLevel.Information && e.Message.Contains($"process {python.Id} ", StringComparison.Ordinal)) <= 1);
    }

    [Fact]
    public async Task A_Python_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        var hidden = HiddenVersionPython();
        await using var run = await ServerReadback.StartAsync("python3.99");
        using var python = StartPython(hidden, "chain", LongRun);
        var from = await run.WaitForTablesAsync(python.Id);
        await InterpreterRuns.CollectAsync(run, python, from, InterpreterRuns.WantedSamples, python.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\"", from));
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        Assert.True(stacks.Where(s => s.Frames.Any(f => InterpreterRuns.IsNative(f, ("_PyEval_EvalFrameDefault", hidden))) && InterpreterRuns.IsNative(s.Frames[^1], ("_start", hidden))).Sum(s => s.Value) >= stacks.Sum(s => s.Value) * 0.9,
            "native stacks through the interpreter loop were not shipped:\n" + PprofFrames.Format(stacks));
        var lines = run.Agent.Logs.Entries.Where(e => e.Message.Contains($"process {python.Id} ", StringComparison.Ordinal) && e.Level >= LogLevel.Information).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("Python 3.99.2", line.Message, StringComparison.Ordinal);
        Assert.Contains(hidden, line.Message, StringComparison.Ordinal);
        InterpreterRuns.AssertNoInterpreterWarnings(run, python.Id);
        Assert.Equal(1, run.Agent.Agent.Interpreters!.Unsupported);
    }

    /// <summary>The stack's Python frames are squeeze &lt;- main &lt;- &lt;module&gt; with native frames above them (the C extension) and _start at the root.</summary>
    private static bool IsNativeAboveSqueeze(StackFrame[] frames)
    {
        var first = Array.FindIndex(frames, f => f.IsPython);
        return first > 0 && InterpreterRuns.IsNative(frames[^1], s_start)
            && frames[first..].Where(f => f.IsPython).Select(f => f.ToString()).SequenceEqual(["squeeze chain.py:54", "main chain.py:83", "<module> chain.py:88"]);
    }

    private static Process StartPython(string interpreter, string mode, string seconds) => Tracees.Start(interpreter, Script, mode, seconds);

    /// <summary>Debian's python3.11 copied as python3.99 with Py_Version patched to 3.99.2: a version the agent has no table for.</summary>
    private static string HiddenVersionPython()
    {
        var dir = Path.Combine(Tracees.OutputDirectory, "hidden-python");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "python3.99");
        File.Copy(Python, path, overwrite: true);
        var elf = ElfFile.Open(path);
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            var (value, _) = ElfNamedSymbols.Find(elf, handle, "Py_Version")["Py_Version"];
            var segment = elf.ProgramHeaders.First(p => p.Type == 1 && value >= p.VirtualAddress && value < p.VirtualAddress + p.FileSize);
            Span<byte> version = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(version, 0x036302f0);
            RandomAccess.Write(handle, version, (long)(segment.Offset + (value - segment.VirtualAddress)));
        }

        return path;
    }
}
