using System.Diagnostics;
using Parca.Agent.Cli;
using Parca.Hosting;

namespace Parca.Agent.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Every_flag_of_the_reference_is_accepted()
    {
        // The parca-agent flag list of flags.md (plus --symbolizer-demangle-mode shared with the server).
        string[] reference =
        [
            "--log-level", "--log-format", "--http-address", "--version", "--node", "--config-path", "--memlock-rlimit",
            "--mutex-profile-fraction", "--block-profile-rate", "--profiling-duration", "--profiling-cpu-sampling-frequency",
            "--profiling-perf-event-buffer-poll-interval", "--profiling-perf-event-buffer-processing-interval",
            "--profiling-perf-event-buffer-worker-count", "--metadata-external-labels", "--metadata-container-runtime-socket-path",
            "--metadata-disable-caching", "--local-store-directory", "--remote-store-address", "--remote-store-bearer-token",
            "--remote-store-bearer-token-file", "--remote-store-insecure", "--remote-store-insecure-skip-verify",
            "--remote-store-batch-write-interval", "--remote-store-rpc-logging-enable", "--remote-store-rpc-unary-timeout",
            "--debuginfo-directories", "--debuginfo-temp-dir", "--debuginfo-strip", "--debuginfo-compress",
            "--debuginfo-upload-disable", "--debuginfo-upload-max-parallel", "--debuginfo-upload-timeout-duration",
            "--debuginfo-upload-cache-duration", "--debuginfo-disable-caching", "--symbolizer-jit-disable", "--otlp-address",
            "--otlp-exporter", "--object-file-pool-eviction-policy", "--object-file-pool-size", "--dwarf-unwinding-disable",
            "--dwarf-unwinding-mixed", "--python-unwinding-disable", "--ruby-unwinding-disable", "--analytics-opt-out",
            "--telemetry-disable-panic-reporting", "--telemetry-stderr-buffer-size-kb", "--bpf-verbose-logging",
            "--bpf-events-buffer-size", "--verbose-bpf-logging",
        ];
        var names = AgentCommandLine.AllOptions().Select(o => o.Name).ToHashSet();
        Assert.All(reference, r => Assert.Contains(r, names));
    }

    [Fact]
    public void Defaults_match_parca_agent()
    {
        var o = new ParcaAgentOptions();
        Assert.Equal("127.0.0.1:7071", o.HttpAddress);
        Assert.Equal(19, o.ProfilingCpuSamplingFrequency);
        Assert.Equal(TimeSpan.FromSeconds(10), o.ProfilingDuration);
        Assert.Equal(TimeSpan.FromSeconds(10), o.RemoteStoreBatchWriteInterval);
        Assert.Equal(100, o.ObjectFilePoolSize);
        Assert.Equal(Environment.MachineName, o.Node);
    }

    [Theory]
    [InlineData(2L << 30, 1u << 20)] // 2 GiB: the floor, 1 Mi rows
    [InlineData(24L << 30, 8_388_608u)] // this machine: 96 MiB of rows
    [InlineData(1L << 40, 1u << 24)] // 1 TiB: the cap, 16 Mi rows
    public void Unwind_row_memory_is_sized_from_the_memory_available_by_default(long memory, uint rows)
    {
        Assert.Equal(0, new ParcaAgentOptions().DwarfUnwindingMaxRows);
        Assert.Equal(rows, Unwinding.RowBudget.FromMemory(memory));
        Assert.DoesNotContain(new ParcaAgentOptions { DwarfUnwindingMaxRows = 0 }.Validate(), p => p.Contains("--dwarf-unwinding-max-rows", StringComparison.Ordinal));
        Assert.Contains(new ParcaAgentOptions { DwarfUnwindingMaxRows = -1 }.Validate(), p => p.Contains("--dwarf-unwinding-max-rows=-1", StringComparison.Ordinal));
    }

    [Fact]
    public void Remote_store_sends_v2_arrow_by_default_and_WriteRaw_when_asked()
    {
        Assert.True(new ParcaAgentOptions().RemoteStoreUseV2Schema);
        var root = new System.CommandLine.RootCommand();
        foreach (var option in AgentCommandLine.AllOptions())
        {
            root.Options.Add(option);
        }

        Assert.True(AgentCommandLine.Bind(root.Parse([]), []).RemoteStoreUseV2Schema);
        Assert.False(AgentCommandLine.Bind(root.Parse(["--remote-store-use-v2-schema=false"]), []).RemoteStoreUseV2Schema);
    }

    [Fact]
    public async Task Invalid_flags_are_all_reported_together_with_exit_code_2()
    {
        var (code, _, stderr) = await RunCli("--profiling-cpu-sampling-frequency=0", "--profiling-duration=soon", "--log-format=xml", "--http-address=nowhere");
        Assert.Equal(2, code);
        Assert.Contains("--profiling-cpu-sampling-frequency=0: must be between 1 and 10000", stderr, StringComparison.Ordinal);
        Assert.Contains("--profiling-duration: 'soon' is not a duration", stderr, StringComparison.Ordinal);
        Assert.Contains("--log-format=xml: must be logfmt or json", stderr, StringComparison.Ordinal);
        Assert.Contains("--http-address: 'nowhere' has no port", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Debuginfo_directories_is_a_comma_list_of_absolute_paths_with_usr_lib_debug_by_default()
    {
        Assert.Equal(["/usr/lib/debug"], new ParcaAgentOptions().DebuginfoDirectories);
        var root = new System.CommandLine.RootCommand();
        foreach (var option in AgentCommandLine.AllOptions())
        {
            root.Options.Add(option);
        }

        var options = AgentCommandLine.Bind(root.Parse(["--debuginfo-directories=/usr/lib/debug, /opt/debug"]), []);
        Assert.Equal(["/usr/lib/debug", "/opt/debug"], options.DebuginfoDirectories);
        Assert.Empty(AgentCommandLine.Bind(root.Parse(["--debuginfo-directories", ""]), []).DebuginfoDirectories);

        var (code, _, stderr) = await RunCli("--debuginfo-directories=/usr/lib/debug,debug");
        Assert.Equal(2, code);
        Assert.Contains("--debuginfo-directories: 'debug' must be an absolute path", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("warning: --debuginfo-directories", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_relabel_config_is_reported_with_the_rule_index()
    {
        var config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, "relabel_configs:\n- action: keep\n  regex: '('\n");
        var (code, _, stderr) = await RunCli($"--config-path={config}");
        Assert.Equal(2, code);
        Assert.Contains($"--config-path={config}: relabel_configs[0].regex: invalid regular expression", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_version()
    {
        var (code, stdout, _) = await RunCli("--version");
        Assert.Equal(0, code);
        Assert.Equal(ParcaVersion.Version + "\n", stdout);
    }

    [Fact]
    public async Task Unimplemented_flags_warn_at_start_up()
    {
        // --analytics-opt-out warns (--dwarf-, --python-, --perl-, --ruby-, --php-unwinding-disable and --debuginfo-upload-disable are implemented: no warning); the bad config path then stops before any BPF is loaded.
        var (_, _, stderr) = await RunCli("--analytics-opt-out", "--ruby-unwinding-disable", "--php-unwinding-disable", "--python-unwinding-disable", "--perl-unwinding-disable", "--dwarf-unwinding-disable", "--debuginfo-upload-disable", "--config-path=/nonexistent.yaml");
        Assert.Contains("warning: --analytics-opt-out: this agent sends no analytics", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--ruby-unwinding-disable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--php-unwinding-disable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--dwarf-unwinding-disable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--python-unwinding-disable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--perl-unwinding-disable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--debuginfo-upload-disable", stderr, StringComparison.Ordinal);
        Assert.Contains("--config-path=/nonexistent.yaml:", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunCli(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "parca-agent.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }
}
