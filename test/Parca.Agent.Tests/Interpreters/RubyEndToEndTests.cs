using System.Diagnostics;

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
    private const string LibRuby = "/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1";
    private const string LongRun = "300";

    private static readonly Interpreter s_ruby = new(Ruby, "ruby3.1", "chain.rb");

    private static readonly string[] s_mainChain = ["leaf chain.rb:8", "level3 chain.rb:13", "level2 chain.rb:17", "level1 chain.rb:21", "spin chain.rb:31"];

    [Fact]
    public Task Four_level_chain_has_every_method_file_and_line_above_the_native_entry_frames() =>
        InterpreterRuns.AssertChainAsync(s_ruby, ["chain", LongRun], [.. s_mainChain, "<main> chain.rb:59"]);

    [Fact]
    public Task A_second_thread_has_its_own_chain_under_its_own_thread_label() =>
        InterpreterRuns.AssertThreadChainsAsync(
            s_ruby,
            ["threads", LongRun],
            [.. s_mainChain, "<main> chain.rb:65"],
            ["worker_leaf chain.rb:37", "worker_middle chain.rb:42", "worker_spin chain.rb:47", "block in <main> chain.rb:62"]);

    /// <summary>
    /// `fork { spin }`: each child is a new process whose thread-local execution context and control frames are
    /// copies of the parent's; its walk finds them at the same addresses, under its own pid.
    /// </summary>
    [Fact]
    public Task Forked_children_each_have_the_chain() =>
        InterpreterRuns.AssertForkedChainsAsync(s_ruby, ["fork", LongRun], [.. s_mainChain, "block in <main> chain.rb:69", "<main> chain.rb:69"]);

    [Fact]
    public Task A_two_second_process_gets_Ruby_frames_and_no_log_noise() =>
        InterpreterRuns.AssertShortProcessAsync(s_ruby, ["chain", "-2"], "leaf chain.rb:8"); // 2 s of CPU

    [Fact]
    public Task A_Ruby_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        // Debian's libruby copied with ruby_version patched to "3.9.9", loaded through LD_LIBRARY_PATH
        var hidden = InterpreterRuns.PatchedCopy(LibRuby, Path.GetFileName(LibRuby), "ruby_version", "3.9.9"u8.ToArray());
        return InterpreterRuns.AssertUnsupportedVersionAsync(s_ruby.Comm, () => StartWithLibRuby(hidden), ("rb_vm_exec", hidden), s_ruby.Start, "Ruby 3.9.9", hidden);
    }

    [Fact]
    public Task Ruby_unwinding_disable_ships_native_stacks_only() =>
        InterpreterRuns.AssertDisabledAsync(
            s_ruby,
            ["chain", LongRun],
            o => o.RubyUnwindingDisable = true,
            ("rb_vm_exec", new FileInfo(LibRuby).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? LibRuby), // maps name the file itself
            i => i.RubyProcesses);

    private static Process StartWithLibRuby(string libruby)
    {
        var psi = new ProcessStartInfo(Ruby) { UseShellExecute = false, RedirectStandardOutput = true };
        // --disable-gems: rubygems loads rbconfig.rb, which refuses a library whose version is not its own
        foreach (var a in new[] { "--disable-gems", s_ruby.Script, "chain", LongRun })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["LD_LIBRARY_PATH"] = Path.GetDirectoryName(libruby);
        return Process.Start(psi)!;
    }
}
