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

    /// <summary>Seconds a tracee would run; the tests stop it after <see cref="StopAfterWindowsAsync"/> (a loaded machine starts profiling late).</summary>
    private const string LongRun = "120";

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Interpreters", "scripts", "chain.py");

    [Fact]
    public async Task Four_level_chain_has_every_function_file_and_line_above_the_native_entry_frames()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "chain", LongRun);
        var from = await WaitForPythonAsync(run, python.Id);

        await StopAfterWindowsAsync(run, python);
        var (_, file) = await run.StopAndQueryAsync(python.Id, from);
        AssertChainShare(PprofFrames.Read(file), [.. s_mainChain, "main chain.py:73", "<module> chain.py:88"], "_start", 0.9);
        AssertNoInterpreterWarnings(run, python.Id);
    }

    [Fact]
    public async Task A_second_thread_has_its_own_chain_under_its_own_thread_label()
    {
        await using var run = await ServerReadback.StartAsync(Comm, extraRelabel: "- source_labels: [__meta_thread_id]\n  target_label: tid\n");
        using var python = StartPython(Python, "threads", LongRun);
        var tids = (await python.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("threads", tids[0]);
        var from = await WaitForPythonAsync(run, python.Id);
        await StopAfterWindowsAsync(run, python);
        await run.StopAndQueryAsync(python.Id, from);

        var main = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\",tid=\"{tids[1]}\"", from));
        var worker = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{python.Id}\",tid=\"{tids[2]}\"", from));
        AssertChainShare(main, [.. s_mainChain, "main chain.py:80", "<module> chain.py:88"], "_start", 0.9);
        AssertChainShare(worker, ["worker_leaf chain.py:36", "worker_middle chain.py:41", "worker_spin chain.py:47", "Thread.run *", "Thread._bootstrap_inner *", "Thread._bootstrap *"], "__clone3", 0.9);
    }

    [Fact]
    public async Task A_C_extension_has_its_native_frames_above_its_Python_caller_in_one_stack()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "zlib", LongRun);
        var from = await WaitForPythonAsync(run, python.Id);
        await StopAfterWindowsAsync(run, python);
        var (_, file) = await run.StopAndQueryAsync(python.Id, from);

        var stacks = PprofFrames.Read(file);
        var total = stacks.Sum(s => s.Value);
        var inZlib = stacks.Where(s => IsCExtensionStack(s.Frames)).Sum(s => s.Value);
        Assert.True(inZlib >= total * 0.7, $"libz frames above squeeze <- main <- <module> in {inZlib} of {total} samples:\n{PprofFrames.Format(stacks)}");
    }

    [Fact]
    public async Task Forked_workers_each_have_the_chain()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "fork", LongRun);
        var children = (await python.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("children", children[0]);
        var from = await WaitForPythonAsync(run, [.. children.Skip(1).Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))]);
        await StopAfterWindowsAsync(run, python);
        await run.StopAndQueryAsync(python.Id, from);
        foreach (var child in children.Skip(1))
        {
            var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{child}\"", from));
            AssertChainShare(stacks, [.. s_mainChain, "forked chain.py:62", "main chain.py:85", "<module> chain.py:88"], "_start", 0.9);
        }
    }

    [Fact]
    public async Task A_two_second_process_gets_Python_frames_and_no_log_noise()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var python = StartPython(Python, "chain", "2");
        await python.WaitForExitAsync();
        var (_, file) = await run.StopAndQueryAsync(python.Id);

        var stacks = PprofFrames.Read(file);
        Assert.Contains(stacks, s => s.Frames.Any(f => f.ToString() == "leaf chain.py:12"));
        Assert.Contains(stacks, s => s.Frames.Any(f => f.Function == "_start"));
        AssertNoInterpreterWarnings(run, python.Id);
        Assert.True(run.Agent.Logs.Entries.Count(e => e.Level >= LogLevel.Information && e.Message.Contains($"process {python.Id} ", StringComparison.Ordinal)) <= 1);
    }

    [Fact]
    public async Task A_Python_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        var hidden = HiddenVersionPython();
        await using var run = await ServerReadback.StartAsync("python3.99");
        using var python = StartPython(hidden, "chain", LongRun);
        var from = await run.WaitForTablesAsync(python.Id);
        await StopAfterWindowsAsync(run, python);
        var (_, file) = await run.StopAndQueryAsync(python.Id, from);

        var stacks = PprofFrames.Read(file);
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsPython));
        Assert.True(stacks.Where(s => s.Frames.Any(f => f.Function == "_PyEval_EvalFrameDefault") && s.Frames[^1].Function == "_start").Sum(s => s.Value) >= stacks.Sum(s => s.Value) * 0.9,
            "native stacks through the interpreter loop were not shipped:\n" + PprofFrames.Format(stacks));
        var lines = run.Agent.Logs.Entries.Where(e => e.Message.Contains($"process {python.Id} ", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("Python 3.99.2", line.Message, StringComparison.Ordinal);
        Assert.Contains(hidden, line.Message, StringComparison.Ordinal);
        AssertNoInterpreterWarnings(run, python.Id);
        Assert.Equal(1, run.Agent.Agent.Interpreters!.Unsupported);
    }

    /// <summary>
    /// Share of samples whose Python frames are exactly <paramref name="chain"/> (leaf first; "name *" = any file
    /// and line) and whose outermost frame is <paramref name="root"/>.
    /// </summary>
    internal static void AssertChainShare(List<(long Value, StackFrame[] Frames)> stacks, string[] chain, string root, double share)
    {
        var total = stacks.Sum(s => s.Value);
        var hot = stacks.Where(s => MatchesChain(s.Frames, chain, root)).Sum(s => s.Value);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"{string.Join(" <- ", chain)} <- ... <- {root} holds {hot} of {total} samples:\n{PprofFrames.Format(stacks)}");
    }

    /// <summary>
    /// The stack's Python frames, in order, are exactly <paramref name="chain"/> (native frames may sit between runs
    /// of them, e.g. a C call that re-enters the interpreter), and its outermost frame is <paramref name="root"/>.
    /// </summary>
    private static bool MatchesChain(StackFrame[] frames, string[] chain, string root)
    {
        var python = frames.Where(f => f.IsPython).ToArray();
        if (python.Length != chain.Length || frames.Length == 0 || frames[^1].Function != root)
        {
            return false;
        }

        for (var i = 0; i < chain.Length; i++)
        {
            var pattern = chain[i];
            var ok = pattern.EndsWith(" *", StringComparison.Ordinal) ? python[i].Function == pattern[..^2] : python[i].ToString() == pattern;
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsCExtensionStack(StackFrame[] frames)
    {
        var z = Array.FindIndex(frames, f => f.Mapping.Contains("libz.so", StringComparison.Ordinal));
        var first = Array.FindIndex(frames, f => f.IsPython);
        return z >= 0 && first > z
            && frames[first..].Where(f => f.IsPython).Select(f => f.ToString()).SequenceEqual(["squeeze chain.py:54", "main chain.py:83", "<module> chain.py:88"]);
    }

    /// <summary>
    /// Waits until the agent walks <paramref name="pids"/>' Python frames (and their unwind tables are loaded), then
    /// one more window; returns that time. Earlier samples were taken before the agent knew the process.
    /// </summary>
    private static async Task<DateTimeOffset> WaitForPythonAsync(ServerReadback run, params int[] pids)
    {
        var interpreters = run.Agent.Agent.Interpreters ?? throw new InvalidOperationException("the agent runs without interpreter support");
        foreach (var pid in pids)
        {
            await run.WaitForTablesAsync(pid);
            for (var i = 0; i < 600 && interpreters.Python(pid) is null; i++)
            {
                await Task.Delay(50);
            }

            Assert.True(interpreters.Python(pid) is not null, $"the agent never recognised pid {pid} as Python; log:\n"
                + string.Join("\n", run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Information || e.Category.Contains("interp", StringComparison.Ordinal)).Select(e => e.Message)));
        }

        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration);
        return DateTimeOffset.UtcNow;
    }

    /// <summary>No warning or error about the interpreter or naming the process (other processes may have their own).</summary>
    private static void AssertNoInterpreterWarnings(ServerReadback run, int pid) =>
        Assert.Empty(run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning
            && (e.Category.Contains("interpreters", StringComparison.Ordinal) || e.Message.Contains($"process {pid} ", StringComparison.Ordinal))).Select(e => e.Message));

    /// <summary>Lets the agent profile four more windows, then stops the tracee (and its forked children).</summary>
    private static async Task StopAfterWindowsAsync(ServerReadback run, Process python)
    {
        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 4);
        python.Kill(entireProcessTree: true);
        await python.WaitForExitAsync();

        // On a loaded machine the server ingests slowly: stopping the agent with windows still queued cancels their
        // write. Wait (bounded) until the last window was built and the queue is empty.
        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 2);
        for (var i = 0; i < 600 && run.Agent.Agent.Metrics.Shipping?.Invoke().Buffered > 0; i++)
        {
            await Task.Delay(100);
        }
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
