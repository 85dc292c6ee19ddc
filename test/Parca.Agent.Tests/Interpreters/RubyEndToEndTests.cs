using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interpreters;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// Ruby frames from Debian's /usr/bin/ruby3.1 (libruby 3.1), run with no flags or environment changes, profiled by
/// the real agent on the real kernel and read back from a real parca: method (or block) label, file and line of
/// every frame, spliced into the native stack in place of rb_vm_exec.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class RubyEndToEndTests
{
    private const string Ruby = "/usr/bin/ruby3.1";
    private const string Comm = "ruby3.1";
    private const string LibRuby = "/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1";
    private const string LongRun = "300";

    private static readonly string[] s_mainChain = ["leaf chain.rb:8", "level3 chain.rb:13", "level2 chain.rb:17", "level1 chain.rb:21", "spin chain.rb:31"];

    private static readonly (string, string) s_start = ("_start", Ruby);
    private static readonly (string, string) s_clone = ("__clone3", "/libc.so.6");

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Interpreters", "scripts", "chain.rb");

    [Fact]
    public async Task Four_level_chain_has_every_method_file_and_line_above_the_native_entry_frames()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var ruby = Tracees.Start(Ruby, Script, "chain", LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, ruby.Id);
        await InterpreterRuns.CollectAsync(run, ruby, from, InterpreterRuns.WantedSamples, ruby.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{ruby.Id}\"", from));
        InterpreterRuns.AssertChainShare(stacks, [.. s_mainChain, "<main> chain.rb:59"], s_start, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, ruby.Id);
    }

    [Fact]
    public async Task A_second_thread_has_its_own_chain_under_its_own_thread_label()
    {
        await using var run = await ServerReadback.StartAsync(Comm, extraRelabel: "- source_labels: [__meta_thread_id]\n  target_label: tid\n");
        using var ruby = Tracees.Start(Ruby, Script, "threads", LongRun);
        var tids = (await ruby.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("threads", tids[0]);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, ruby.Id);
        await InterpreterRuns.CollectAsync(run, ruby, from, 2 * InterpreterRuns.WantedSamples, ruby.Id);

        var main = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{ruby.Id}\",tid=\"{tids[1]}\"", from));
        var worker = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{ruby.Id}\",tid=\"{tids[2]}\"", from));
        InterpreterRuns.AssertChainShare(main, [.. s_mainChain, "<main> chain.rb:65"], s_start, 0.9);
        InterpreterRuns.AssertChainShare(worker, ["worker_leaf chain.rb:37", "worker_middle chain.rb:42", "worker_spin chain.rb:47", "block in <main> chain.rb:62"], s_clone, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, ruby.Id);
    }

    [Fact]
    public async Task A_two_second_process_gets_Ruby_frames_and_no_log_noise()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        using var ruby = Tracees.Start(Ruby, Script, "chain", "-2"); // 2 s of CPU
        await ruby.WaitForExitAsync();
        await InterpreterRuns.WaitForWindowAsync(run);
        await InterpreterRuns.WaitForServerAsync(run, from, ruby.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{ruby.Id}\"", from));
        Assert.True(InterpreterRuns.AgentSamples(run, ruby.Id, from) > 0, "the agent took no sample of the 2-second process");
        Assert.Contains(stacks, s => s.Frames.Any(f => f.ToString() == "leaf chain.rb:8"));
        Assert.Contains(stacks, s => InterpreterRuns.IsNative(s.Frames[^1], s_start));
        InterpreterRuns.AssertNoInterpreterWarnings(run, ruby.Id);
        Assert.True(run.Agent.Logs.Entries.Count(e => e.Level >= LogLevel.Information && e.Message.Contains($"process {ruby.Id} ", StringComparison.Ordinal)) <= 1);
    }

    [Fact]
    public async Task A_Ruby_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        var hidden = HiddenVersionLibRuby();
        await using var run = await ServerReadback.StartAsync(Comm);
        var psi = new ProcessStartInfo(Ruby) { UseShellExecute = false, RedirectStandardOutput = true };
        // --disable-gems: rubygems loads rbconfig.rb, which refuses a library whose version is not its own
        foreach (var a in new[] { "--disable-gems", Script, "chain", LongRun })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["LD_LIBRARY_PATH"] = Path.GetDirectoryName(hidden);
        using var ruby = Process.Start(psi)!;
        var from = await run.WaitForTablesAsync(ruby.Id);
        await InterpreterRuns.CollectAsync(run, ruby, from, InterpreterRuns.WantedSamples, ruby.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{ruby.Id}\"", from));
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        AssertNativeThroughVm(stacks, hidden);
        var line = Assert.Single(run.Agent.Logs.Entries, e => e.Message.Contains($"process {ruby.Id} ", StringComparison.Ordinal) && e.Level >= LogLevel.Information);
        Assert.Contains("Ruby 3.9.9", line.Message, StringComparison.Ordinal);
        Assert.Contains(hidden, line.Message, StringComparison.Ordinal);
        InterpreterRuns.AssertNoInterpreterWarnings(run, ruby.Id);
        Assert.Equal(1, run.Agent.Agent.Interpreters!.Unsupported);
    }

    [Fact]
    public async Task Ruby_unwinding_disable_ships_native_stacks_only()
    {
        await using var run = await ServerReadback.StartAsync(Comm, configure: o => o.RubyUnwindingDisable = true);
        using var ruby = Tracees.Start(Ruby, Script, "chain", LongRun);
        var from = await run.WaitForTablesAsync(ruby.Id);
        await InterpreterRuns.CollectAsync(run, ruby, from, InterpreterRuns.WantedSamples, ruby.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{ruby.Id}\"", from));
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        AssertNativeThroughVm(stacks, new FileInfo(LibRuby).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? LibRuby); // maps name the file itself
        Assert.Null(run.Agent.Agent.Interpreters!.Process(ruby.Id));
        Assert.Equal(0, run.Agent.Agent.Interpreters!.RubyProcesses);
    }

    /// <summary>At least 90 % of the samples run through libruby's rb_vm_exec down to the executable's _start.</summary>
    private static void AssertNativeThroughVm(List<(long Value, StackFrame[] Frames)> stacks, string libruby) =>
        Assert.True(stacks.Where(s => s.Frames.Any(f => InterpreterRuns.IsNative(f, ("rb_vm_exec", libruby))) && InterpreterRuns.IsNative(s.Frames[^1], s_start)).Sum(s => s.Value) >= stacks.Sum(s => s.Value) * 0.9,
            "native stacks through the VM loop were not shipped:\n" + PprofFrames.Format(stacks));

    /// <summary>Debian's libruby copied with ruby_version patched to "3.9.9": a version the agent has no table for (loaded through LD_LIBRARY_PATH).</summary>
    private static string HiddenVersionLibRuby()
    {
        var dir = Path.Combine(Tracees.OutputDirectory, "hidden-ruby");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, Path.GetFileName(LibRuby));
        File.Copy(LibRuby, path, overwrite: true);
        var elf = ElfFile.Open(path);
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            var (value, _) = ElfNamedSymbols.Find(elf, handle, "ruby_version")["ruby_version"];
            var segment = elf.ProgramHeaders.First(p => p.Type == 1 && value >= p.VirtualAddress && value < p.VirtualAddress + p.FileSize);
            RandomAccess.Write(handle, Encoding.ASCII.GetBytes("3.9.9"), (long)(segment.Offset + (value - segment.VirtualAddress)));
        }

        return path;
    }
}
