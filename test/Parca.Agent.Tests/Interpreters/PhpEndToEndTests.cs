using System.Text;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interpreters;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// PHP frames from Debian's /usr/bin/php8.2 (the CLI, non-ZTS), run with no flags or environment changes, profiled
/// by the real agent on the real kernel and read back from a real parca: function, file and line of every frame,
/// spliced into the native stack in place of execute_ex. (The CLI has no threads: there is no second-thread test.)
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class PhpEndToEndTests
{
    private const string Php = "/usr/bin/php8.2";
    private const string Comm = "php8.2";
    private const string LongRun = "300";

    private static readonly string[] s_chain = ["leaf chain.php:7", "level3 chain.php:11", "level2 chain.php:13", "level1 chain.php:15", "spin chain.php:29", "<main> chain.php:33"];

    private static readonly (string, string) s_start = ("_start", Php);

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Interpreters", "scripts", "chain.php");

    [Fact]
    public async Task Four_level_chain_has_every_function_file_and_line_above_the_native_entry_frames()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var php = Tracees.Start(Php, Script, LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, php.Id);
        await InterpreterRuns.CollectAsync(run, php, from, InterpreterRuns.WantedSamples, php.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{php.Id}\"", from));
        InterpreterRuns.AssertChainShare(stacks, s_chain, s_start, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, php.Id);
    }

    [Fact]
    public async Task A_two_second_process_gets_PHP_frames_and_no_log_noise()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        using var php = Tracees.Start(Php, Script, "-2"); // 2 s of CPU
        await php.WaitForExitAsync();
        await InterpreterRuns.WaitForWindowAsync(run);
        await InterpreterRuns.WaitForServerAsync(run, from, php.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{php.Id}\"", from));
        Assert.True(InterpreterRuns.AgentSamples(run, php.Id, from) > 0, "the agent took no sample of the 2-second process");
        Assert.Contains(stacks, s => s.Frames.Any(f => f.ToString() == "leaf chain.php:7"));
        Assert.Contains(stacks, s => InterpreterRuns.IsNative(s.Frames[^1], s_start));
        InterpreterRuns.AssertNoInterpreterWarnings(run, php.Id);
        Assert.True(run.Agent.Logs.Entries.Count(e => e.Level >= LogLevel.Information && e.Message.Contains($"process {php.Id} ", StringComparison.Ordinal)) <= 1);
    }

    [Fact]
    public async Task A_PHP_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        var hidden = HiddenVersionPhp();
        await using var run = await ServerReadback.StartAsync("php8.9");
        using var php = Tracees.Start(hidden, Script, LongRun);
        var from = await run.WaitForTablesAsync(php.Id);
        await InterpreterRuns.CollectAsync(run, php, from, InterpreterRuns.WantedSamples, php.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{php.Id}\"", from));
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        AssertNativeThroughVm(stacks, hidden);
        var line = Assert.Single(run.Agent.Logs.Entries, e => e.Message.Contains($"process {php.Id} ", StringComparison.Ordinal) && e.Level >= LogLevel.Information);
        Assert.Contains("PHP 8.9.36", line.Message, StringComparison.Ordinal);
        Assert.Contains(hidden, line.Message, StringComparison.Ordinal);
        InterpreterRuns.AssertNoInterpreterWarnings(run, php.Id);
        Assert.Equal(1, run.Agent.Agent.Interpreters!.Unsupported);
    }

    [Fact]
    public async Task Php_unwinding_disable_ships_native_stacks_only()
    {
        await using var run = await ServerReadback.StartAsync(Comm, configure: o => o.PhpUnwindingDisable = true);
        using var php = Tracees.Start(Php, Script, LongRun);
        var from = await run.WaitForTablesAsync(php.Id);
        await InterpreterRuns.CollectAsync(run, php, from, InterpreterRuns.WantedSamples, php.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{php.Id}\"", from));
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        AssertNativeThroughVm(stacks, Php);
        Assert.Null(run.Agent.Agent.Interpreters!.Process(php.Id));
        Assert.Equal(0, run.Agent.Agent.Interpreters!.PhpProcesses);
    }

    /// <summary>At least 90 % of the samples run through execute_ex down to the executable's _start.</summary>
    private static void AssertNativeThroughVm(List<(long Value, StackFrame[] Frames)> stacks, string php) =>
        Assert.True(stacks.Where(s => s.Frames.Any(f => InterpreterRuns.IsNative(f, ("execute_ex", php))) && InterpreterRuns.IsNative(s.Frames[^1], ("_start", php))).Sum(s => s.Value) >= stacks.Sum(s => s.Value) * 0.9,
            "native stacks through the VM loop were not shipped:\n" + PprofFrames.Format(stacks));

    /// <summary>Debian's php8.2 copied as php8.9 with its "X-Powered-By: PHP/8.2.x" string patched to 8.9: a version the agent has no table for.</summary>
    private static string HiddenVersionPhp()
    {
        var dir = Path.Combine(Tracees.OutputDirectory, "hidden-php");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "php8.9");
        File.Copy(Php, path, overwrite: true);
        var bytes = File.ReadAllBytes(path);
        var marker = "X-Powered-By: PHP/8.2."u8;
        var at = bytes.AsSpan().IndexOf(marker);
        Assert.True(at > 0, "no PHP version string in " + Php);
        Encoding.ASCII.GetBytes("8.9.").CopyTo(bytes, at + marker.Length - 4);
        File.WriteAllBytes(path, bytes); // the copy keeps php8.2's mode
        using (var handle = File.OpenHandle(path))
        {
            Assert.Equal("8.9.", PhpDetector.ReadVersion(ElfFile.Open(path), handle)?[..4]);
        }
        return path;
    }
}
