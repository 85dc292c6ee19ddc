using Parca.Hosting;
using Parca.Symbols.Demangling;

namespace Parca.Agent;

/// <summary>
/// Every parca-agent flag (flags.md) with its default. Unimplemented flags are carried so the command line can
/// accept them and warn; <see cref="Validate"/> reports every problem at once.
/// </summary>
public sealed class ParcaAgentOptions
{
    public string LogLevel { get; set; } = "info";

    public string LogFormat { get; set; } = "logfmt";

    public string HttpAddress { get; set; } = "127.0.0.1:7071";

    public string Node { get; set; } = Environment.MachineName;

    public string ConfigPath { get; set; } = "";

    public ulong MemlockRlimit { get; set; }

    public double MutexProfileFraction { get; set; }

    public int BlockProfileRate { get; set; }

    public TimeSpan ProfilingDuration { get; set; } = TimeSpan.FromSeconds(10);

    public int ProfilingCpuSamplingFrequency { get; set; } = 19;

    public TimeSpan PerfEventBufferPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan PerfEventBufferProcessingInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public int PerfEventBufferWorkerCount { get; set; } = 4;

    public Dictionary<string, string> MetadataExternalLabels { get; set; } = [];

    public string? MetadataContainerRuntimeSocketPath { get; set; }

    public bool MetadataDisableCaching { get; set; }

    public string? LocalStoreDirectory { get; set; }

    public string? RemoteStoreAddress { get; set; }

    public string? RemoteStoreBearerToken { get; set; }

    public string? RemoteStoreBearerTokenFile { get; set; }

    public bool RemoteStoreInsecure { get; set; }

    public bool RemoteStoreInsecureSkipVerify { get; set; }

    /// <summary>--remote-store-tls-ca-file: CA bundle trusted for the store instead of the system's.</summary>
    public string? RemoteStoreTlsCaFile { get; set; }

    /// <summary>--remote-store-tls-cert-file / --remote-store-tls-key-file: client certificate for stores that verify clients.</summary>
    public string? RemoteStoreTlsCertFile { get; set; }

    public string? RemoteStoreTlsKeyFile { get; set; }

    public TimeSpan RemoteStoreBatchWriteInterval { get; set; } = TimeSpan.FromSeconds(10);

    public bool RemoteStoreRpcLoggingEnable { get; set; }

    /// <summary>Ship v2 Arrow records through WriteArrow (Parca Agent's default) rather than pprof through WriteRaw.</summary>
    public bool RemoteStoreUseV2Schema { get; set; } = true;

    public TimeSpan RemoteStoreRpcUnaryTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Profiles kept for the remote store while it is unreachable; beyond that the oldest are dropped (counted on /metrics).</summary>
    public int RemoteStoreBufferCapacity { get; set; } = 1024;

    public bool SymbolizerJitDisable { get; set; }

    /// <summary>Not a Parca Agent flag: leave .NET processes alone (no EnablePerfMap through their diagnostics socket).</summary>
    public bool DotnetPerfMapDisable { get; set; }

    /// <summary>Not a Parca Agent flag: leave JVMs alone (no jcmd Compiler.perfmap through their attach socket).</summary>
    public bool JavaPerfMapDisable { get; set; }

    /// <summary>Not a Parca Agent flag: keep the JIT tier in .NET frame names instead of merging a method's tiers.</summary>
    public bool DotnetKeepTiers { get; set; }

    /// <summary>Not a Parca Agent flag (the server has it): how C++/Rust names are demangled in the agent.</summary>
    public string SymbolizerDemangleMode { get; set; } = "simple";

    /// <summary>Ordered host directories searched for separate debug files by build id and .gnu_debuglink.</summary>
    public List<string> DebuginfoDirectories { get; set; } = ["/usr/lib/debug"];

    /// <summary>The --debuginfo-* upload flags (see Debuginfo.DebuginfoUploader).</summary>
    public string DebuginfoTempDir { get; set; } = "/tmp";
    public bool DebuginfoStrip { get; set; } = true;
    public bool DebuginfoCompress { get; set; }
    public bool DebuginfoUploadDisable { get; set; }
    public int DebuginfoUploadMaxParallel { get; set; } = 25;
    public TimeSpan DebuginfoUploadTimeout { get; set; } = TimeSpan.FromMinutes(2);
    public TimeSpan DebuginfoUploadCacheDuration { get; set; } = TimeSpan.FromMinutes(5);
    public bool DebuginfoDisableCaching { get; set; }

    public string ObjectFilePoolEvictionPolicy { get; set; } = "lru";

    /// <summary>Object files kept open that no known process maps (0 = no limit); files of known processes are held besides (see ObjectFileCache).</summary>
    public int ObjectFilePoolSize { get; set; } = 100;

    public bool BpfVerboseLogging { get; set; }

    /// <summary>Ring buffer size in pages; 0 (our default) sizes it for about one second of samples at the frequency.</summary>
    public int BpfEventsBufferSize { get; set; }

    /// <summary>Caps, budgets and waits for the files read on behalf of processes (docs/agent.md; tests lower them).</summary>
    internal Processes.ProcessFileLimits ProcessFileLimits { get; set; } = new();

    /// <summary>Walk user stacks with frame pointers only (the walker before unwind tables; kept for comparison).</summary>
    public bool DwarfUnwindingDisable { get; set; }

    /// <summary>Inside a table walk, take a frame-pointer step where a pc has no table (JIT, anonymous code); false stops there.</summary>
    public bool DwarfUnwindingMixed { get; set; } = true;

    /// <summary>Rows of the BPF unwind table memory (12 bytes each): the bound on table memory in the kernel; 0 sizes it from memory (<see cref="Unwinding.RowBudget"/>).</summary>
    public int DwarfUnwindingMaxRows { get; set; }

    /// <summary>Where compiled tables are cached between runs; empty: no disk cache.</summary>
    public string DwarfUnwindingCacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "parca-agent-unwind-tables");

    public int DwarfUnwindingCacheMaxMb { get; set; } = 256;

    /// <summary>Do not walk Python frames (Parca Agent's flag): Python processes get native stacks only.</summary>
    public bool PythonUnwindingDisable { get; set; }

    /// <summary>Not a Parca Agent flag: do not walk Perl frames (Perl processes get native stacks only).</summary>
    public bool PerlUnwindingDisable { get; set; }

    /// <summary>Do not walk Ruby frames (Parca Agent's flag): Ruby processes get native stacks only.</summary>
    public bool RubyUnwindingDisable { get; set; }

    /// <summary>Do not walk PHP frames (Parca Agent's flag): PHP processes get native stacks only.</summary>
    public bool PhpUnwindingDisable { get; set; }

    /// <summary>Do not walk V8 (Node.js) JavaScript frames: node processes get native stacks only.</summary>
    public bool V8UnwindingDisable { get; set; }

    /// <summary>Code objects (per process) whose names the agent keeps; a full cache is emptied and counted.</summary>
    public int InterpreterSymbolCacheSize { get; set; } = 16384;

    /// <summary>Where /proc is (tests can point it elsewhere).</summary>
    internal string ProcRoot { get; set; } = "/proc";

    internal string BtfPath { get; set; } = "/sys/kernel/btf/vmlinux";

    /// <summary>Extra logging setup (tests add a provider that records every entry).</summary>
    internal Action<Microsoft.Extensions.Logging.ILoggingBuilder>? ConfigureLogging { get; set; }

    internal DemangleMode Demangle => DemangleModes.TryParse(SymbolizerDemangleMode, out var mode) ? mode : DemangleMode.Simple;

    public List<string> Validate()
    {
        var problems = new List<string>();
        if (ProfilingCpuSamplingFrequency is <= 0 or > 10_000)
        {
            problems.Add($"--profiling-cpu-sampling-frequency={ProfilingCpuSamplingFrequency}: must be between 1 and 10000");
        }

        if (ProfilingDuration < TimeSpan.FromMilliseconds(100))
        {
            problems.Add($"--profiling-duration={ProfilingDuration}: must be at least 100ms");
        }

        if (InterpreterSymbolCacheSize < 1)
        {
            problems.Add($"--interpreter-symbol-cache-size={InterpreterSymbolCacheSize}: must be at least 1");
        }

        if (PerfEventBufferPollInterval <= TimeSpan.Zero)
        {
            problems.Add("--profiling-perf-event-buffer-poll-interval: must be positive");
        }

        if (RemoteStoreBatchWriteInterval <= TimeSpan.Zero)
        {
            problems.Add("--remote-store-batch-write-interval: must be positive");
        }

        if (DwarfUnwindingMaxRows < 0)
        {
            problems.Add($"--dwarf-unwinding-max-rows={DwarfUnwindingMaxRows}: must not be negative (0 = sized from memory)");
        }

        if (DwarfUnwindingCacheMaxMb < 0)
        {
            problems.Add($"--dwarf-unwinding-cache-max-mb={DwarfUnwindingCacheMaxMb}: must not be negative");
        }

        if (ObjectFilePoolSize < 0)
        {
            problems.Add("--object-file-pool-size: must be >= 0 (0 = no limit)");
        }

        foreach (var dir in DebuginfoDirectories)
        {
            if (!dir.StartsWith('/'))
            {
                problems.Add($"--debuginfo-directories: '{dir}' must be an absolute path");
            }
        }

        if (ObjectFilePoolEvictionPolicy is not ("lru" or "lfu"))
        {
            problems.Add($"--object-file-pool-eviction-policy={ObjectFilePoolEvictionPolicy}: must be lru or lfu");
        }

        if (!DemangleModes.TryParse(SymbolizerDemangleMode, out _))
        {
            problems.Add($"--symbolizer-demangle-mode={SymbolizerDemangleMode}: must be one of none, simple, templates, full");
        }

        if (BpfEventsBufferSize < 0 || (BpfEventsBufferSize & (BpfEventsBufferSize - 1)) != 0)
        {
            problems.Add($"--bpf-events-buffer-size={BpfEventsBufferSize}: must be a power of two (pages)");
        }

        if (LogFormat is not ("logfmt" or "json"))
        {
            problems.Add($"--log-format={LogFormat}: must be logfmt or json");
        }

        if (LogLevel is not ("debug" or "info" or "warn" or "error"))
        {
            problems.Add($"--log-level={LogLevel}: must be debug, info, warn or error");
        }

        if (!ListenAddress.TryParse(HttpAddress, out _, out var error))
        {
            problems.Add("--http-address: " + error);
        }

        if (string.IsNullOrWhiteSpace(Node))
        {
            problems.Add("--node: must not be empty");
        }

        if (RemoteStoreBufferCapacity <= 0)
        {
            problems.Add("remote store buffer capacity must be positive");
        }

        if (RemoteStoreBearerTokenFile is not null && !File.Exists(RemoteStoreBearerTokenFile))
        {
            problems.Add($"--remote-store-bearer-token-file={RemoteStoreBearerTokenFile}: file not found");
        }

        if ((RemoteStoreTlsCertFile is null) != (RemoteStoreTlsKeyFile is null))
        {
            problems.Add("--remote-store-tls-cert-file and --remote-store-tls-key-file: give both");
        }

        foreach (var (flag, file) in new[] { ("--remote-store-tls-ca-file", RemoteStoreTlsCaFile), ("--remote-store-tls-cert-file", RemoteStoreTlsCertFile), ("--remote-store-tls-key-file", RemoteStoreTlsKeyFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                problems.Add($"{flag}={file}: file not found");
            }
        }

        if (RemoteStoreBearerToken is not null && RemoteStoreBearerTokenFile is not null)
        {
            problems.Add("--remote-store-bearer-token and --remote-store-bearer-token-file: give only one");
        }

        return problems;
    }
}
