namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// Interpreted Java frames named (docs/agent.md "Java stacks"): a JVM started with no flags runs a chain HotSpot never
/// compiles (<see cref="JavaInterpretedTracee"/>), so every frame of it is the template interpreter's; the agent reads
/// each frame's Method* in BPF and names it through the JVM's VMStructs. Read back through a real parca.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class JavaInterpretedTests
{
    private const string MainThread = ",thread=\"java\"";

    [Fact]
    public async Task Interpreted_chain_is_named_with_the_leafs_line_down_to_start_thread()
    {
        var classes = JavaInterpretedTracee.Build();
        await using var run = await ServerReadback.StartAsync("java", extraRelabel: DotnetRuntimeTests.ThreadLabel);
        using var jvm = JavaTracees.Start(classes, JavaInterpretedTracee.MainClass, "120");
        try
        {
            var interpreter = run.Agent.Agent.JavaInterpreter ?? throw new InvalidOperationException("the agent names no interpreted Java frames");
            var registered = await run.Agent.WaitUntilAsync(() => interpreter.Registered(jvm.Id), maxWindows: 30, step: () => Task.Delay(200));
            Assert.True(registered, $"the JVM {jvm.Id}'s interpreter never got into the BPF map; agent log:\n{string.Join("\n", run.Agent.Logs.Entries.Select(e => e.Message).TakeLast(20))}");
            await run.WaitForTablesAsync(jvm.Id);
            await Task.Delay(run.Agent.Agent.Options.ProfilingDuration);
            var from = DateTimeOffset.UtcNow;
            await Task.Delay(run.Agent.Agent.Options.ProfilingDuration * 3);
            var (traces, file) = await run.StopAndQueryAsync(jvm.Id, from, MainThread);

            var share = DotnetTracees.Share(traces, JavaInterpretedTracee.Chain, JavaRuntimeTests.Below);
            var lines = Tracees.Run("go", "tool pprof -traces -lines " + file);
            Assert.True(share >= 0.9, $"the interpreted chain {string.Join(" <- ", JavaInterpretedTracee.Chain)} holds {share:P1} of the samples "
                + $"(named {interpreter.Named}, unreadable {interpreter.Unnamed}):\n{lines}");
            Assert.Contains($"Interp.java:{JavaInterpretedTracee.BurnLine}", lines, StringComparison.Ordinal);
            Assert.True(interpreter.Named >= JavaInterpretedTracee.Chain.Length, $"{interpreter.Named} methods read");
            DotnetRuntimeTests.AssertAtMostOneWarning(run.Agent, jvm.Id);
        }
        finally
        {
            jvm.Kill();
        }
    }
}
