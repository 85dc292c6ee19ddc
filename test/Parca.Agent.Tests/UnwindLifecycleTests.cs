using Microsoft.Extensions.Logging;

namespace Parca.Agent.Tests;

/// <summary>
/// The table unwinder across a process's life on the real kernel, stacks read back through a real parca: a process
/// that exits mid-window, a binary deleted while it runs, a binary that exists only in another mount namespace, a
/// library dlopen'ed after the agent captured the process, code whose CFI is only in a separate debug file's
/// .debug_frame, and a process that execs another program. Every tracee is built at -O2 without frame pointers, so
/// a frame-pointer walk would lose the chain. The agent runs with its default pool and row sizes: on a shared CI
/// machine other processes compete for both, as on a user's busy machine.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class UnwindLifecycleTests
{
    [Fact]
    public async Task Process_exiting_mid_window_keeps_its_whole_chain_and_logs_no_warning()
    {
        var path = LifecycleTracees.Build(1);
        await using var run = await ServerReadback.StartAsync("lifecycle-1");
        using var tracee = LifecycleTracees.Start(path, "b0.3", "w", "b2.5");
        var from = await run.WaitForTablesAsync(tracee.Id);
        LifecycleTracees.Continue(tracee);
        await tracee.WaitForExitAsync(); // 2.5 s after a window began: the exit falls inside a 1 s window
        Assert.Equal(0, tracee.ExitCode);
        var unwinder = run.Agent.Agent.Unwinder!;
        for (var i = 0; i < 100 && unwinder.HasProcess(tracee.Id); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(unwinder.HasProcess(tracee.Id), "the exited process's mappings stayed in the BPF map");
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        UnwindEndToEndTests.AssertShare(traces, file, LifecycleTracees.BurnChain, 0.95);
        var warnings = run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Message.Contains(tracee.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count <= 1, "more than one warning about the exited process:\n" + string.Join("\n", warnings.Select(w => w.Message)));
    }

    [Fact]
    public async Task Binary_deleted_while_running_is_still_unwound_and_named()
    {
        var copy = Path.Combine(Directory.CreateTempSubdirectory("parca-deleted-").FullName, "deletedbin");
        File.Copy(LifecycleTracees.Build(2), copy);
        var buildId = LifecycleTracees.BuildId(copy);
        await using var run = await ServerReadback.StartAsync("deletedbin");
        using var tracee = LifecycleTracees.Start(copy, "w", "b6");
        await WaitForExecAsync(tracee.Id, copy);
        File.Delete(copy);
        Assert.Contains(copy + " (deleted)", await File.ReadAllTextAsync($"/proc/{tracee.Id}/maps"), StringComparison.Ordinal);
        LifecycleTracees.Continue(tracee); // first sample, hence first capture, only now: after the file is gone
        var from = await run.WaitForTablesAsync(tracee.Id);
        Assert.True(run.Agent.Agent.Unwinder!.HasTable(buildId), "no table was loaded for the deleted binary");
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        UnwindEndToEndTests.AssertShare(traces, file, LifecycleTracees.BurnChain, 0.95);
    }

    [Fact]
    public async Task Binary_private_to_another_mount_namespace_is_unwound_and_named()
    {
        // The directory exists for the agent but is empty: inside the tracee's namespace a tmpfs over it holds the binary.
        var directory = Directory.CreateTempSubdirectory("parca-mntns-").FullName;
        var binary = LifecycleTracees.Build(3);
        var buildId = LifecycleTracees.BuildId(binary);
        await using var run = await ServerReadback.StartAsync("nsprog");
        using var tracee = LifecycleTracees.Start(
            "unshare", "-m", "--propagation", "private", "sh", "-c", $"mount -t tmpfs none {directory} && cp {binary} {directory}/nsprog && exec {directory}/nsprog w b6");
        await WaitForExecAsync(tracee.Id, $"{directory}/nsprog");
        Assert.False(File.Exists($"{directory}/nsprog"), "the binary is visible in the agent's mount namespace");
        LifecycleTracees.Continue(tracee);
        var from = await run.WaitForTablesAsync(tracee.Id);
        Assert.True(run.Agent.Agent.Unwinder!.HasTable(buildId), "no table was loaded for the binary of the other mount namespace");
        await tracee.WaitForExitAsync();
        Assert.Equal(0, tracee.ExitCode);
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        UnwindEndToEndTests.AssertShare(traces, file, LifecycleTracees.BurnChain, 0.95);
    }

    [Fact]
    public async Task Library_dlopened_after_the_process_was_captured_is_unwound()
    {
        var path = LifecycleTracees.Build(4);
        var library = LifecycleTracees.BuildLibrary();
        var libraryId = LifecycleTracees.BuildId(library);
        await using var run = await ServerReadback.StartAsync("lifecycle-4");
        var unwinder = run.Agent.Agent.Unwinder!;
        using var tracee = LifecycleTracees.Start(path, "b1", "w", $"d{library}:20");
        await run.WaitForTablesAsync(tracee.Id);
        Assert.False(unwinder.HasTable(libraryId), "the library's table was loaded before the process opened it");
        LifecycleTracees.Continue(tracee);
        // The refresh happens when a window with a sample in the library is processed: seconds on a loaded machine.
        for (var i = 0; i < 300 && !unwinder.HasTable(libraryId) && !tracee.HasExited; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(unwinder.HasTable(libraryId), "the dlopen'ed library's table was never loaded");
        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration);
        var from = DateTimeOffset.UtcNow;
        await tracee.WaitForExitAsync();
        Assert.Equal(0, tracee.ExitCode);
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        UnwindEndToEndTests.AssertShare(traces, file, LifecycleTracees.LibraryChain, 0.95);
    }

    [Fact]
    public async Task Code_with_cfi_only_in_a_separate_debug_file_is_unwound_with_its_debug_frame()
    {
        // No unwind tables: gcc writes the CFI of this code into .debug_frame only, and strip --strip-debug moves
        // that to the debug file; the binary keeps .eh_frame for _start and the PLT alone.
        var built = LifecycleTracees.Build(5, "-g -fno-asynchronous-unwind-tables -fno-unwind-tables");
        var work = Directory.CreateTempSubdirectory("parca-debugframe-").FullName;
        var binary = Path.Combine(work, "dbgframe");
        File.Copy(built, binary);
        var buildId = LifecycleTracees.BuildId(binary);
        var debugDir = Path.Combine(work, "debug");
        var debugFile = Path.Combine(debugDir, ".build-id", buildId[..2], buildId[2..] + ".debug");
        Directory.CreateDirectory(Path.GetDirectoryName(debugFile)!);
        Tracees.Run("objcopy", $"--only-keep-debug {binary} {debugFile}");
        Tracees.Run("strip", $"--strip-debug {binary}");
        Parca.Symbols.Cfi.UnwindTableBuilder.Build(binary, out var alone);
        Assert.Equal(0, alone.DebugFrameFdes);
        Assert.True(alone.EhFrameFdes <= 4, $"the binary's .eh_frame covers {alone.EhFrameFdes} functions, expected only _start and the PLT");

        await using var run = await ServerReadback.StartAsync("dbgframe", o =>
        {
            o.DebuginfoDirectories = [debugDir];
            o.DwarfUnwindingCacheDirectory = Path.Combine(work, "cache");
        });
        using var tracee = LifecycleTracees.Start(binary, "b6");
        var from = await run.WaitForTablesAsync(tracee.Id);
        await tracee.WaitForExitAsync();
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);
        UnwindEndToEndTests.AssertShare(traces, file, LifecycleTracees.BurnChain, 0.95);
    }

    [Fact]
    public async Task Process_that_execs_is_profiled_as_the_new_program_from_the_exec_on()
    {
        // Two builds (two build ids), copied under the names that become the comm: the first runs, then execs the second.
        var directory = Directory.CreateTempSubdirectory("parca-exec-").FullName;
        var before = Path.Combine(directory, "execbefore");
        var after = Path.Combine(directory, "execafter");
        File.Copy(LifecycleTracees.Build(6), before);
        File.Copy(LifecycleTracees.Build(7), after);
        var afterId = LifecycleTracees.BuildId(after);
        await using var run = await ServerReadback.StartAsync("execbefore|execafter");
        var unwinder = run.Agent.Agent.Unwinder!;
        // Each program burns a second (it is sampled, hence captured) and waits while the agent loads its tables.
        using var tracee = LifecycleTracees.Start(before, "b1", "w", "b3", $"x{after}", "b1", "w", "b6");
        await WaitForExecAsync(tracee.Id, before);
        var from = await run.WaitForTablesAsync(tracee.Id);
        LifecycleTracees.Continue(tracee);
        for (var i = 0; i < 1200 && !unwinder.HasTable(afterId) && !tracee.HasExited; i++)
        {
            await Task.Delay(50);
        }

        // As for a new process, the new program's first samples (until its tables are loaded) are walked by frame pointer.
        Assert.True(unwinder.HasTable(afterId), "the unwind table of the program exec'ed into was never loaded");
        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration);
        var afterLoaded = DateTimeOffset.UtcNow;
        LifecycleTracees.Continue(tracee);
        await tracee.WaitForExitAsync();
        Assert.Equal(0, tracee.ExitCode);

        // Before the exec (the window of the exec included): the first program's comm and chain; after it the second's, in the same PID.
        var (afterTraces, afterFile) = await run.StopAndQueryAsync(tracee.Id, afterLoaded, ",comm=\"execafter\"");
        UnwindEndToEndTests.AssertShare(afterTraces, afterFile, LifecycleTracees.BurnChain, 0.95);
        var (beforeTraces, beforeFile) = await run.QueryAsync(tracee.Id, from, ",comm=\"execbefore\"");
        UnwindEndToEndTests.AssertShare(beforeTraces, beforeFile, LifecycleTracees.BurnChain, 0.95);
        try
        {
            var (lateBefore, _) = await run.QueryAsync(tracee.Id, afterLoaded, ",comm=\"execbefore\"");
            Assert.True(lateBefore.Sum(t => t.Seconds) == 0, $"{lateBefore.Sum(t => t.Seconds):F2}s of samples after the exec kept the old comm");
        }
        catch (Parca.Rpc.RpcException e) when (e.Status == Parca.Rpc.StatusCode.NotFound)
        {
            // no profile of the old program after the exec
        }
    }

    /// <summary>Waits until <paramref name="pid"/> runs <paramref name="path"/> (unshare and sh exec into it).</summary>
    private static async Task WaitForExecAsync(int pid, string path)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                if ((await File.ReadAllTextAsync($"/proc/{pid}/maps")).Contains(path, StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (IOException)
            {
            }

            await Task.Delay(50);
        }

        Assert.Fail($"pid {pid} never mapped {path}");
    }
}
