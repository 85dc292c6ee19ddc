using System.Diagnostics;
using System.Text.RegularExpressions;
using Parca.Hosting;

namespace Parca.Server.Tests;

/// <summary>Runs the real <c>parca</c> executable the way a user does.</summary>
public sealed partial class CommandLineTests
{
    private static string ParcaDll => Path.Combine(AppContext.BaseDirectory, "parca.dll");

    [Fact]
    public async Task Version_prints_the_version_alone()
    {
        var (exitCode, stdout, _) = await RunAsync("--version");

        Assert.Equal(0, exitCode);
        Assert.Equal(ParcaVersion.Version, stdout.Trim());
    }

    [Fact]
    public async Task Help_lists_every_flag_of_the_reference()
    {
        var reference = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Shared, "reference", "flags.md"));
        var serverSection = reference[reference.IndexOf("## parca (server)", StringComparison.Ordinal)..reference.IndexOf("## parca-agent", StringComparison.Ordinal)];
        var expected = FlagPattern().Matches(serverSection).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.True(expected.Count > 30, $"only {expected.Count} flags found in the reference");

        var (exitCode, stdout, _) = await RunAsync("--help");

        Assert.Equal(0, exitCode);
        var missing = expected.Where(flag => !stdout.Contains(flag + " ", StringComparison.Ordinal) && !stdout.Contains(flag + "\n", StringComparison.Ordinal)).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public async Task Invalid_flags_exit_with_code_2_and_name_each_problem()
    {
        var (exitCode, _, stderr) = await RunAsync("--mode=sideways", "--log-format=xml", "--storage-retention=soon", "--storage-enable-wal");

        Assert.Equal(2, exitCode);
        Assert.Contains("--mode: 'sideways'", stderr, StringComparison.Ordinal);
        Assert.Contains("--log-format: 'xml'", stderr, StringComparison.Ordinal);
        Assert.Contains("--storage-retention: 'soon' is not a duration", stderr, StringComparison.Ordinal);
        Assert.Contains("--storage-enable-wal: needs --enable-persistence", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_config_at_start_up_exits_with_code_1_and_the_reason_without_a_stack_trace()
    {
        var dir = Directory.CreateTempSubdirectory("parca-cli-");
        try
        {
            var config = Path.Combine(dir.FullName, "parca.yaml");
            await File.WriteAllTextAsync(config, "scrape_configs: []\n");

            var (exitCode, _, stderr) = await RunAsync($"--config-path={config}", "--http-address=127.0.0.1:0",
                "--enable-persistence", $"--storage-path={Path.Combine(dir.FullName, "data")}");

            Assert.Equal(1, exitCode);
            Assert.Contains($"parca: invalid configuration {config}:", stderr, StringComparison.Ordinal);
            Assert.Contains("parca.yaml:1:1: object_storage: is required", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("warning", stderr, StringComparison.Ordinal); // implemented flags draw no warning
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"^\s+(?:-h, )?(--[a-z0-9-]+)", RegexOptions.Multiline)]
    private static partial Regex FlagPattern();

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ParcaDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
