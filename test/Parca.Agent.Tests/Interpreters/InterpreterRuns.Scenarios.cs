using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interpreters;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// One interpreter under test: its executable (Debian's, or a patched copy), the comm the server's relabel keeps,
/// and its tracee script in Interpreters/scripts.
/// </summary>
internal sealed record Interpreter(string Path, string Comm, string ScriptName)
{
    /// <summary>The outermost native frame of the interpreter's main thread.</summary>
    public (string Function, string File) Start => ("_start", Path);

    /// <summary>The outermost native frame of a thread the interpreter started.</summary>
    public static (string Function, string File) ThreadStart => ("__clone3", "/libc.so.6");

    public string Script => System.IO.Path.Combine(AppContext.BaseDirectory, "Interpreters", "scripts", ScriptName);

    public Process Run(params string[] args) => Tracees.Start(Path, [Script, .. args]);
}

/// <summary>
/// The scenarios the interpreter end-to-end classes share (start a real server and agent, run the script, wait for
/// the interpreter's frames, collect, read back, assert); each class states only its interpreter, arguments and
/// expected frames.
/// </summary>
internal static partial class InterpreterRuns
{
    private const string ThreadLabel = "- source_labels: [__meta_thread_id]\n  target_label: tid\n";

    /// <summary>At least 90 % of the tracee's samples have exactly <paramref name="chain"/> above _start; nothing logged about it.</summary>
    public static async Task AssertChainAsync(Interpreter interpreter, string[] args, string[] chain)
    {
        await using var run = await ServerReadback.StartAsync(interpreter.Comm);
        using var tracee = interpreter.Run(args);
        var from = await WaitForInterpreterAsync(run, tracee.Id);
        await CollectAsync(run, tracee, from, WantedSamples, tracee.Id);

        AssertChainShare(await StacksAsync(run, tracee.Id, from), chain, interpreter.Start, 0.9);
        AssertNoInterpreterWarnings(run, tracee.Id);
    }

    /// <summary>
    /// The script prints "threads MAIN_TID WORKER_TID": each thread's samples (by the tid label) hold its own chain,
    /// the worker's above the thread start.
    /// </summary>
    public static async Task AssertThreadChainsAsync(Interpreter interpreter, string[] args, string[] mainChain, string[] workerChain)
    {
        await using var run = await ServerReadback.StartAsync(interpreter.Comm, extraRelabel: ThreadLabel);
        using var tracee = interpreter.Run(args);
        var tids = await ReadWordsAsync(tracee, "threads");
        var from = await WaitForInterpreterAsync(run, tracee.Id);
        await CollectAsync(run, tracee, from, 2 * WantedSamples, tracee.Id);

        AssertChainShare(await StacksAsync(run, tracee.Id, from, $"tid=\"{tids[0]}\""), mainChain, interpreter.Start, 0.9);
        AssertChainShare(await StacksAsync(run, tracee.Id, from, $"tid=\"{tids[1]}\""), workerChain, Interpreter.ThreadStart, 0.9);
        AssertNoInterpreterWarnings(run, tracee.Id);
    }

    /// <summary>The script prints "children PID PID": each forked child is profiled as its own process with <paramref name="chain"/>.</summary>
    public static async Task AssertForkedChainsAsync(Interpreter interpreter, string[] args, string[] chain)
    {
        await using var run = await ServerReadback.StartAsync(interpreter.Comm);
        using var tracee = interpreter.Run(args);
        var children = (await ReadWordsAsync(tracee, "children")).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var from = await WaitForInterpreterAsync(run, children);
        await CollectAsync(run, tracee, from, WantedSamples, children);
        foreach (var child in children)
        {
            AssertChainShare(await StacksAsync(run, child, from), chain, interpreter.Start, 0.9);
            AssertNoInterpreterWarnings(run, child);
        }
    }

    /// <summary>A tracee that runs about 2 s and exits: its samples reach the server with <paramref name="leaf"/> among them, and at most one log line names it.</summary>
    public static async Task AssertShortProcessAsync(Interpreter interpreter, string[] args, string leaf)
    {
        await using var run = await ServerReadback.StartAsync(interpreter.Comm);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        using var tracee = interpreter.Run(args);
        await tracee.WaitForExitAsync();
        await WaitForWindowAsync(run);
        await WaitForServerAsync(run, from, tracee.Id);

        var stacks = await StacksAsync(run, tracee.Id, from);
        Assert.True(AgentSamples(run, tracee.Id, from) > 0, "the agent took no sample of the 2-second process");
        Assert.Contains(stacks, s => s.Frames.Any(f => f.ToString() == leaf));
        Assert.Contains(stacks, s => IsNative(s.Frames[^1], interpreter.Start));
        AssertNoInterpreterWarnings(run, tracee.Id);
        Assert.True(run.Agent.Logs.Entries.Count(e => e.Level >= LogLevel.Information && e.Message.Contains($"process {tracee.Id} ", StringComparison.Ordinal)) <= 1);
    }

    /// <summary>
    /// A tracee whose interpreter version the agent has no table for: native stacks through <paramref name="loop"/>,
    /// no interpreted frame, one Information line naming the process, <paramref name="version"/> and <paramref name="file"/>.
    /// </summary>
    public static async Task AssertUnsupportedVersionAsync(string comm, Func<Process> start, (string Function, string File) loop, (string Function, string File) root, string version, string file)
    {
        await using var run = await ServerReadback.StartAsync(comm);
        using var tracee = start();
        var from = await run.WaitForTablesAsync(tracee.Id);
        await CollectAsync(run, tracee, from, WantedSamples, tracee.Id);

        AssertNativeOnly(await StacksAsync(run, tracee.Id, from), loop, root);
        var line = Assert.Single(run.Agent.Logs.Entries, e => e.Message.Contains($"process {tracee.Id} ", StringComparison.Ordinal) && e.Level >= LogLevel.Information);
        Assert.Contains(version, line.Message, StringComparison.Ordinal);
        Assert.Contains(file, line.Message, StringComparison.Ordinal);
        AssertNoInterpreterWarnings(run, tracee.Id);
        Assert.Equal(1, run.Agent.Agent.Interpreters!.Unsupported);
    }

    /// <summary>With the language's --*-unwinding-disable flag: native stacks through <paramref name="loop"/> only, and no process of the language walked.</summary>
    public static async Task AssertDisabledAsync(Interpreter interpreter, string[] args, Action<ParcaAgentOptions> disable, (string Function, string File) loop, Func<InterpreterManager, int> walked)
    {
        await using var run = await ServerReadback.StartAsync(interpreter.Comm, configure: disable);
        using var tracee = interpreter.Run(args);
        var from = await run.WaitForTablesAsync(tracee.Id);
        await CollectAsync(run, tracee, from, WantedSamples, tracee.Id);

        AssertNativeOnly(await StacksAsync(run, tracee.Id, from), loop, interpreter.Start);
        Assert.Null(run.Agent.Agent.Interpreters!.Process(tracee.Id));
        Assert.Equal(0, walked(run.Agent.Agent.Interpreters!));
    }

    /// <summary>No interpreted frame, and at least 90 % of the samples run through <paramref name="loop"/> down to <paramref name="root"/>.</summary>
    public static void AssertNativeOnly(List<(long Value, StackFrame[] Frames)> stacks, (string Function, string File) loop, (string Function, string File) root)
    {
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        Assert.True(stacks.Where(s => s.Frames.Any(f => IsNative(f, loop)) && IsNative(s.Frames[^1], root)).Sum(s => s.Value) >= stacks.Sum(s => s.Value) * 0.9,
            $"native stacks through {loop.Function} were not shipped:\n" + PprofFrames.Format(stacks));
    }

    /// <summary>The server's stacks of <paramref name="pid"/> since <paramref name="from"/> (and <paramref name="matchers"/>).</summary>
    public static async Task<List<(long Value, StackFrame[] Frames)>> StacksAsync(ServerReadback run, int pid, DateTimeOffset from, string matchers = "") =>
        PprofFrames.Read(await run.QueryFileAsync(matchers.Length == 0 ? $"pid=\"{pid}\"" : $"pid=\"{pid}\",{matchers}", from));

    /// <summary>
    /// <paramref name="source"/> copied to <paramref name="fileName"/> in a directory of its own with the bytes of
    /// <paramref name="symbol"/> overwritten by <paramref name="bytes"/>: an interpreter that reports another version.
    /// </summary>
    public static string PatchedCopy(string source, string fileName, string symbol, byte[] bytes)
    {
        var dir = Path.Combine(Tracees.OutputDirectory, "hidden-" + fileName);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, fileName);
        File.Copy(source, path, overwrite: true);
        var elf = ElfFile.Open(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var (value, _) = ElfNamedSymbols.Find(elf, handle, symbol)[symbol];
        var segment = elf.ProgramHeaders.First(p => p.Type == 1 && value >= p.VirtualAddress && value < p.VirtualAddress + p.FileSize);
        RandomAccess.Write(handle, bytes, (long)(segment.Offset + (value - segment.VirtualAddress)));
        return path;
    }

    /// <summary>The words after <paramref name="first"/> on the tracee's first line of output.</summary>
    private static async Task<string[]> ReadWordsAsync(Process tracee, string first)
    {
        var words = (await tracee.StandardOutput.ReadLineAsync() ?? "").Split(' ');
        Assert.Equal(first, words[0]);
        return words[1..];
    }
}
