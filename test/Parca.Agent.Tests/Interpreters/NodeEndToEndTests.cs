using Microsoft.Extensions.Logging;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// JavaScript frames of Debian's node 20 (V8 11.3), run with no flag or environment change, profiled by the real
/// agent on the real kernel and read back from a real parca: every function of the chain named with its file and
/// first line, each in the place of the native frame V8 ran it in, the stack continuing through node's native code
/// down to _start.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class NodeEndToEndTests
{
    private const string Node = "/usr/bin/node";
    private const string LongRun = "300";

    private static readonly Interpreter s_node = new(Node, "node", "chain.js");

    /// <summary>Leaf first; the module's top-level code is an anonymous function (node's CommonJS wrapper).</summary>
    private static readonly string[] s_chain = ["leaf chain.js:5", "level3 chain.js:11", "level2 chain.js:15", "level1 chain.js:19", "spin chain.js:23", "(anonymous) chain.js:1"];

    [Fact]
    public async Task Four_level_chain_is_named_with_file_and_line_above_node_and_start()
    {
        await using var run = await ServerReadback.StartAsync(s_node.Comm);
        using var tracee = s_node.Run(LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, tracee.Id);
        await InterpreterRuns.CollectAsync(run, tracee, from, InterpreterRuns.WantedSamples, tracee.Id);

        var stacks = await InterpreterRuns.StacksAsync(run, tracee.Id, from);
        var total = stacks.Sum(s => s.Value);
        var whole = stacks.Where(s => HasChain(s.Frames)).Sum(s => s.Value);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(whole >= total * 0.9, $"{string.Join(" <- ", s_chain)} <- node's loader <- _start holds {whole} of {total}; the other stacks:\n"
            + PprofFrames.Format([.. stacks.Where(s => !HasChain(s.Frames))]));
        // node is a 100 MB binary: on a loaded machine its symbol tables may take longer than the first window (the
        // agent says so once, and IsNative accepts that window's unnamed native frames); nothing else may be logged.
        Assert.Empty(run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning
            && (e.Category.Contains("interpreters", StringComparison.Ordinal) || e.Message.Contains($"process {tracee.Id} ", StringComparison.Ordinal))
            && !e.Message.Contains("reading its files did not finish in time", StringComparison.Ordinal)).Select(e => e.Message));
    }

    /// <summary>
    /// With 200 iterations per call every level is hot and TurboFan compiles spin with level1, level2, level3 and
    /// leaf inlined into it: one native frame. The inlined functions are read from the optimized code's deoptimization
    /// data, so leaf (not a frame of its own any more) is still the leaf-most function, above the whole chain.
    /// </summary>
    [Fact]
    public async Task Functions_inlined_by_TurboFan_are_frames_of_their_own()
    {
        await using var run = await ServerReadback.StartAsync(s_node.Comm);
        using var tracee = s_node.Run(LongRun, "200");
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, tracee.Id);
        await InterpreterRuns.CollectAsync(run, tracee, from, InterpreterRuns.WantedSamples, tracee.Id);

        var stacks = await InterpreterRuns.StacksAsync(run, tracee.Id, from);
        var total = stacks.Sum(s => s.Value);
        var inLeaf = stacks.Where(s => s.Frames.FirstOrDefault(f => f.IsV8)?.Function == "leaf").ToList();
        var whole = inLeaf.Where(s => HasChain(s.Frames)).Sum(s => s.Value);
        var leafSamples = inLeaf.Sum(s => s.Value);
        Assert.True(leafSamples >= total / 2, $"leaf is the leaf-most function in {leafSamples} of {total}; the stacks:\n" + PprofFrames.Format(stacks));
        Assert.True(whole >= leafSamples * 0.9, $"the whole chain is above leaf in {whole} of {leafSamples}; the other stacks:\n"
            + PprofFrames.Format([.. stacks.Where(s => !HasChain(s.Frames))]));
    }

    [Fact]
    public Task V8_unwinding_disable_ships_native_stacks_only() =>
        InterpreterRuns.AssertDisabledAsync(s_node, [LongRun], o => o.V8UnwindingDisable = true, ("Builtins_JSEntry", Node), i => i.V8Processes);

    /// <summary>
    /// The script's frames, leaf first, are exactly the chain; node's own JavaScript (its CommonJS loader, named from
    /// node's internal scripts) may follow; the outermost frame is node's _start.
    /// </summary>
    private static bool HasChain(StackFrame[] frames)
    {
        var js = frames.Where(f => f.IsV8).ToArray();
        return js.Length >= s_chain.Length
            && s_chain.Select((want, i) => js[i].ToString() == want).All(ok => ok)
            && js.Skip(s_chain.Length).All(f => f.File.StartsWith("node:", StringComparison.Ordinal))
            && frames.Length > 0 && InterpreterRuns.IsNative(frames[^1], s_node.Start);
    }
}
