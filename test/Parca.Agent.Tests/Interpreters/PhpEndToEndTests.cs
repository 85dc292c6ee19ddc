using System.Text;
using Parca.Agent.Interpreters;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// PHP frames from Debian's /usr/bin/php8.2 (the CLI, non-ZTS), run with no flags or environment changes, profiled
/// by the real agent on the real kernel and read back from a real parca: function, file and line of every frame,
/// spliced into the native stack in place of execute_ex. The same script also runs on a thread-safe (ZTS) php CLI
/// built from Debian's source package by scripts/build-php-zts.sh, whose executor globals live in the thread's TSRM
/// block. (PHP code cannot start a thread without the parallel or pthreads extension, which Debian does not ship: the
/// CLI's main thread is the only PHP thread, ZTS or not, so there is no second-thread test.)
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class PhpEndToEndTests
{
    private const string Php = "/usr/bin/php8.2";
    private const string LongRun = "300";

    private static readonly Interpreter s_php = new(Php, "php8.2", "chain.php");

    private static readonly string[] s_chain = ["leaf chain.php:7", "level3 chain.php:11", "level2 chain.php:13", "level1 chain.php:15", "spin chain.php:29", "<main> chain.php:33"];

    [Fact]
    public Task Four_level_chain_has_every_function_file_and_line_above_the_native_entry_frames() =>
        InterpreterRuns.AssertChainAsync(s_php, [LongRun], s_chain);

    [Fact]
    public Task Thread_safe_ZTS_build_has_the_same_chain_read_through_its_TSRM_block() =>
        InterpreterRuns.AssertChainAsync(new Interpreter(ZtsPhp(), "php", "chain.php"), [LongRun], s_chain);

    [Fact]
    public Task A_two_second_process_gets_PHP_frames_and_no_log_noise() =>
        InterpreterRuns.AssertShortProcessAsync(s_php, ["-2"], "leaf chain.php:7"); // 2 s of CPU

    [Fact]
    public Task A_PHP_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        var hidden = s_php with { Path = HiddenVersionPhp(), Comm = "php8.9" };
        return InterpreterRuns.AssertUnsupportedVersionAsync(hidden.Comm, () => hidden.Run(LongRun), ("execute_ex", hidden.Path), hidden.Start, "PHP 8.9.36", hidden.Path);
    }

    [Fact]
    public Task Php_unwinding_disable_ships_native_stacks_only() =>
        InterpreterRuns.AssertDisabledAsync(s_php, [LongRun], o => o.PhpUnwindingDisable = true, ("execute_ex", Php), i => i.PhpProcesses);

    /// <summary>The ZTS php CLI scripts/bootstrap.sh test builds (scripts/build-php-zts.sh; PHP_ZTS_DIR overrides its place).</summary>
    internal static string ZtsPhp()
    {
        var dir = Environment.GetEnvironmentVariable("PHP_ZTS_DIR") is { Length: > 0 } d ? d : "/var/cache/parca-test/php-zts-8.2";
        var path = Path.Combine(dir, "bin", "php");
        Assert.True(File.Exists(path), $"no ZTS php at {path}: run scripts/build-php-zts.sh (scripts/bootstrap.sh test does)");
        return path;
    }

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
