using System.CommandLine;
using Parca.Agent.Interop;
using Parca.Hosting.CommandLine;
using static Parca.Hosting.CommandLine.FlagOptions;

namespace Parca.Agent.Cli;

/// <summary>
/// The flags of <c>parca-agent</c> (flags.md: same names, defaults and meanings), mapped onto
/// <see cref="ParcaAgentOptions"/>. Flags accepted for compatibility whose behaviour does not exist yet are listed in
/// <see cref="s_notImplemented"/> and produce a warning at start-up when given.
/// </summary>
internal static class AgentCommandLine
{
    private static readonly ParcaAgentOptions s_defaults = new();

    private static readonly Option<string> s_logLevel = Text("--log-level", "Log level.", s_defaults.LogLevel);
    private static readonly Option<string> s_logFormat = Text("--log-format", "Configure if structured logging as JSON or as logfmt", s_defaults.LogFormat);
    private static readonly Option<string> s_httpAddress = Text("--http-address", "Address to bind HTTP server to.", s_defaults.HttpAddress);
    private static readonly Option<bool> s_version = Flag("--version", "Show application version.");
    private static readonly Option<string> s_node = Text("--node", "The name of the node that the process is running on. If on Kubernetes, this must match the Kubernetes node name.", s_defaults.Node);
    private static readonly Option<string> s_configPath = Text("--config-path", "Path to config file (relabel_configs).", "");
    private static readonly Option<ulong> s_memlockRlimit = Number("--memlock-rlimit", "The value for the maximum number of bytes of memory that may be locked into RAM. 0 means no limit.", 0UL);
    private static readonly Option<double> s_mutexProfileFraction = Number("--mutex-profile-fraction", "Fraction of mutex profile samples to collect.", 0.0);
    private static readonly Option<int> s_blockProfileRate = Number("--block-profile-rate", "Sample rate for block profile.", 0);
    private static readonly Option<string> s_profilingDuration = Text("--profiling-duration", "The agent profiling duration to use.", "10s");
    private static readonly Option<int> s_frequency = Number("--profiling-cpu-sampling-frequency", "The frequency at which profiling data is collected, e.g., 19 samples per second.", 19);
    private static readonly Option<string> s_pollInterval = Text("--profiling-perf-event-buffer-poll-interval", "The interval at which the perf event buffer is polled for new events.", "250ms");
    private static readonly Option<string> s_processingInterval = Text("--profiling-perf-event-buffer-processing-interval", "The interval at which the perf event buffer is processed.", "100ms");
    private static readonly Option<int> s_workerCount = Number("--profiling-perf-event-buffer-worker-count", "The number of workers that process the perf event buffer.", 4);
    private static readonly Option<string?> s_externalLabels = OptionalText("--metadata-external-labels", "Label(s) to attach to all profiles (KEY=VALUE;...).");
    private static readonly Option<string?> s_containerSocket = OptionalText("--metadata-container-runtime-socket-path", "The filesystem path to the container runtimes socket.");
    private static readonly Option<bool> s_metadataDisableCaching = Flag("--metadata-disable-caching", "Disable caching of metadata.");
    private static readonly Option<string?> s_localStoreDirectory = OptionalText("--local-store-directory", "The local directory to store the profiling data.");
    private static readonly Option<string?> s_remoteStoreAddress = OptionalText("--remote-store-address", "gRPC address to send profiles and symbols to.");
    private static readonly Option<string?> s_bearerToken = OptionalText("--remote-store-bearer-token", "Bearer token to authenticate with store ($PARCA_BEARER_TOKEN).");
    private static readonly Option<string?> s_bearerTokenFile = OptionalText("--remote-store-bearer-token-file", "File to read bearer token from to authenticate with store.");
    private static readonly Option<bool> s_insecure = Flag("--remote-store-insecure", "Send gRPC requests via plaintext instead of TLS.");
    private static readonly Option<bool> s_insecureSkipVerify = Flag("--remote-store-insecure-skip-verify", "Skip TLS certificate verification.");
    private static readonly Option<string?> s_tlsCaFile = OptionalText("--remote-store-tls-ca-file", "PEM CA bundle trusted for --remote-store-address instead of the system's (not a Parca Agent flag).");
    private static readonly Option<string?> s_tlsCertFile = OptionalText("--remote-store-tls-cert-file", "PEM client certificate presented to the store (mTLS); needs --remote-store-tls-key-file (not a Parca Agent flag).");
    private static readonly Option<string?> s_tlsKeyFile = OptionalText("--remote-store-tls-key-file", "PEM private key of --remote-store-tls-cert-file.");
    private static readonly Option<string> s_batchWriteInterval = Text("--remote-store-batch-write-interval", "Interval between batch remote client writes.", "10s");
    private static readonly Option<bool> s_rpcLogging = Flag("--remote-store-rpc-logging-enable", "Enable gRPC logging.");
    private static readonly Option<bool> s_useV2Schema = Number("--remote-store-use-v2-schema", "Send profiles as Parca's v2 Arrow records (WriteArrow, LZ4) instead of pprof (WriteRaw), as Parca Agent does by default; --remote-store-use-v2-schema=false for servers that only take WriteRaw.", true);
    private static readonly Option<string> s_rpcUnaryTimeout = Text("--remote-store-rpc-unary-timeout", "Maximum timeout window for unary gRPC requests including retries.", "5m");
    private static readonly Option<string> s_debuginfoDirectories = Text("--debuginfo-directories", "Ordered list of local directories to search for debuginfo files (comma-separated; empty disables).", "/usr/lib/debug");
    private static readonly Option<string> s_debuginfoTempDir = Text("--debuginfo-temp-dir", "The local directory path to store the interim debuginfo files.", "/tmp");
    private static readonly Option<bool> s_debuginfoStrip = Number("--debuginfo-strip", "Only upload information needed for symbolization.", true);
    private static readonly Option<bool> s_debuginfoCompress = Flag("--debuginfo-compress", "Compress debuginfo files' DWARF sections before uploading.");
    private static readonly Option<bool> s_debuginfoUploadDisable = Flag("--debuginfo-upload-disable", "Disable debuginfo collection and upload.");
    private static readonly Option<int> s_debuginfoUploadMaxParallel = Number("--debuginfo-upload-max-parallel", "The maximum number of debuginfo upload requests to make in parallel.", 25);
    private static readonly Option<string> s_debuginfoUploadTimeout = Text("--debuginfo-upload-timeout-duration", "The timeout duration to cancel upload requests.", "2m");
    private static readonly Option<string> s_debuginfoUploadCacheDuration = Text("--debuginfo-upload-cache-duration", "The duration to cache debuginfo upload responses for.", "5m");
    private static readonly Option<bool> s_debuginfoDisableCaching = Flag("--debuginfo-disable-caching", "Disable caching of debuginfo.");
    private static readonly Option<bool> s_symbolizerJitDisable = Flag("--symbolizer-jit-disable", "Disable JIT symbolization.");
    private static readonly Option<bool> s_dotnetPerfMapDisable = Flag("--dotnet-perf-map-disable", "Do not turn on the perf map of running .NET 8+ processes through their diagnostics socket (their JIT frames then stay unnamed unless they were started with DOTNET_PerfMapEnabled=1).");
    private static readonly Option<bool> s_javaPerfMapDisable = Flag("--java-perf-map-disable", "Do not have running JVMs (JDK 17+) write their perf map through the attach mechanism (jcmd Compiler.perfmap); their JIT frames then stay unnamed.");
    private static readonly Option<bool> s_dotnetKeepTiers = Flag("--dotnet-keep-tiers", "Keep the JIT tier in .NET frame names ([QuickJitted], [OptimizedTier1], ...) instead of merging a method's tiers into one function.");
    private static readonly Option<string> s_demangleMode = Text("--symbolizer-demangle-mode", "How C++/Rust names are demangled in the agent: none, simple, templates, full.", "simple");
    private static readonly Option<string?> s_otlpAddress = OptionalText("--otlp-address", "The endpoint to send OTLP traces to.");
    private static readonly Option<string> s_otlpExporter = Text("--otlp-exporter", "The OTLP exporter to use.", "grpc");
    private static readonly Option<string> s_objectFilePoolEvictionPolicy = Text("--object-file-pool-eviction-policy", "The eviction policy to use for the object file pool.", "lru");
    private static readonly Option<int> s_objectFilePoolSize = Number("--object-file-pool-size", "The maximum number of object files to keep in the pool that no known process maps (files of known processes stay open besides, up to half the open-file limit). 0 means no limit.", 100);
    private static readonly Option<bool> s_dwarfUnwindingDisable = Flag("--dwarf-unwinding-disable", "Do not unwind using .eh_frame information.");
    private static readonly Option<bool> s_dwarfUnwindingMixed = Number("--dwarf-unwinding-mixed", "Unwind using .eh_frame information and frame pointers.", true);
    private static readonly Option<int> s_dwarfUnwindingMaxRows = Number("--dwarf-unwinding-max-rows", "Rows (12 bytes each) of the BPF unwind table memory; tables that do not fit are walked with frame pointers. 0 sizes it from memory: 1/256 of the memory available, between 1 Mi and 16 Mi rows.", 0);
    private static readonly Option<string> s_dwarfUnwindingCacheDir = Text("--dwarf-unwinding-cache-dir", "Directory where compiled unwind tables are cached (empty: no disk cache).", s_defaults.DwarfUnwindingCacheDirectory);
    private static readonly Option<int> s_dwarfUnwindingCacheMaxMb = Number("--dwarf-unwinding-cache-max-mb", "Size bound of the unwind table cache directory in MiB.", 256);
    private static readonly Option<bool> s_pythonUnwindingDisable = Flag("--python-unwinding-disable", "Disable Python unwinder.");
    private static readonly Option<int> s_interpreterSymbolCacheSize = Number("--interpreter-symbol-cache-size", "Code objects of interpreted languages whose names the agent keeps (a full cache is emptied).", 16384);
    private static readonly Option<bool> s_perlUnwindingDisable = Flag("--perl-unwinding-disable", "Disable the Perl unwinder (not a Parca Agent flag).");
    private static readonly Option<bool> s_rubyUnwindingDisable = Flag("--ruby-unwinding-disable", "Disable Ruby unwinder.");
    private static readonly Option<bool> s_phpUnwindingDisable = Flag("--php-unwinding-disable", "Disable PHP unwinder.");
    private static readonly Option<bool> s_v8UnwindingDisable = Flag("--v8-unwinding-disable", "Disable V8 (Node.js) unwinder.");
    private static readonly Option<bool> s_analyticsOptOut = Flag("--analytics-opt-out", "Opt out of sending anonymous usage statistics.");
    private static readonly Option<bool> s_telemetryDisablePanicReporting = Flag("--telemetry-disable-panic-reporting", "");
    private static readonly Option<int> s_telemetryStderrBufferSizeKb = Number("--telemetry-stderr-buffer-size-kb", "", 4096);
    private static readonly Option<bool> s_bpfVerboseLogging = Flag("--bpf-verbose-logging", "Enable verbose BPF logging.");
    private static readonly Option<int> s_bpfEventsBufferSize = Number("--bpf-events-buffer-size", "Size in pages of the events buffer (0: about one second of samples).", 0);
    private static readonly Option<bool> s_verboseBpfLogging = Flag("--verbose-bpf-logging", "[deprecated] Use --bpf-verbose-logging.");

    /// <summary>Flags accepted for compatibility whose behaviour does not exist yet, with what the user should know.</summary>
    private static readonly (Option Option, string Note)[] s_notImplemented =
    [
        (s_mutexProfileFraction, "self-profiling of lock contention is not implemented; ignored"),
        (s_blockProfileRate, "self-profiling of blocking is not implemented; ignored"),
        (s_processingInterval, "samples are processed as they are read; ignored"),
        (s_workerCount, "one thread reads and aggregates samples; ignored"),
        (s_containerSocket, "container names from the runtime socket are not implemented; container ids come from cgroups"),
        (s_metadataDisableCaching, "metadata is cached per process start; ignored"),
        (s_rpcLogging, "per-call gRPC logging is not implemented; failures are logged"),
        (s_otlpAddress, "trace export is not implemented; no traces are sent"),
        (s_otlpExporter, "trace export is not implemented"),
        (s_objectFilePoolEvictionPolicy, "the pool always evicts least recently used"),
        (s_analyticsOptOut, "this agent sends no analytics"),
        (s_telemetryDisablePanicReporting, "this agent sends no telemetry"),
        (s_telemetryStderrBufferSizeKb, "this agent sends no telemetry"),
    ];

    public static Task<int> RunAsync(string[] args) => ProgramCommand.RunAsync(
        args,
        "parca-agent",
        "parca-agent: eBPF CPU profiler that samples every CPU, builds pprof profiles per process and ships them to Parca.",
        AllOptions(),
        s_version,
        s_notImplemented,
        Bind,
        options => options.Validate(),
        RunAgentAsync);

    private static async Task<int> RunAgentAsync(ParcaAgentOptions options, CancellationToken cancellationToken)
    {
        ParcaAgent agent;
        try
        {
            agent = ParcaAgent.Create(options);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync("parca-agent: " + e.Message);
            return 2;
        }

        await using (agent)
        {
            try
            {
                await agent.RunAsync(cancellationToken);
            }
            catch (BpfException e)
            {
                await Console.Error.WriteLineAsync("parca-agent: cannot start profiling: " + e.Message);
                return 1;
            }
        }

        return 0;
    }

    internal static IEnumerable<Option> AllOptions() =>
    [
        s_logLevel, s_logFormat, s_httpAddress, s_version, s_node, s_configPath, s_memlockRlimit, s_mutexProfileFraction,
        s_blockProfileRate, s_profilingDuration, s_frequency, s_pollInterval, s_processingInterval, s_workerCount,
        s_externalLabels, s_containerSocket, s_metadataDisableCaching, s_localStoreDirectory, s_remoteStoreAddress,
        s_bearerToken, s_bearerTokenFile, s_insecure, s_insecureSkipVerify, s_tlsCaFile, s_tlsCertFile, s_tlsKeyFile, s_batchWriteInterval, s_rpcLogging,
        s_rpcUnaryTimeout, s_useV2Schema, s_debuginfoDirectories, s_debuginfoTempDir, s_debuginfoStrip, s_debuginfoCompress,
        s_debuginfoUploadDisable, s_debuginfoUploadMaxParallel, s_debuginfoUploadTimeout, s_debuginfoUploadCacheDuration,
        s_debuginfoDisableCaching, s_symbolizerJitDisable, s_dotnetPerfMapDisable, s_dotnetKeepTiers, s_javaPerfMapDisable, s_demangleMode, s_otlpAddress, s_otlpExporter,
        s_objectFilePoolEvictionPolicy, s_objectFilePoolSize, s_dwarfUnwindingDisable, s_dwarfUnwindingMixed,
        s_dwarfUnwindingMaxRows, s_dwarfUnwindingCacheDir, s_dwarfUnwindingCacheMaxMb, s_interpreterSymbolCacheSize,
        s_pythonUnwindingDisable, s_perlUnwindingDisable, s_rubyUnwindingDisable, s_phpUnwindingDisable, s_v8UnwindingDisable, s_analyticsOptOut, s_telemetryDisablePanicReporting,
        s_telemetryStderrBufferSizeKb, s_bpfVerboseLogging, s_bpfEventsBufferSize, s_verboseBpfLogging,
    ];

    internal static ParcaAgentOptions Bind(ParseResult r, List<string> problems) => new()
    {
        LogLevel = r.GetValue(s_logLevel)!,
        LogFormat = r.GetValue(s_logFormat)!,
        HttpAddress = r.GetValue(s_httpAddress)!,
        Node = r.GetValue(s_node)!,
        ConfigPath = r.GetValue(s_configPath)!,
        MemlockRlimit = r.GetValue(s_memlockRlimit),
        MutexProfileFraction = r.GetValue(s_mutexProfileFraction),
        BlockProfileRate = r.GetValue(s_blockProfileRate),
        ProfilingDuration = Duration(r, s_profilingDuration, problems),
        ProfilingCpuSamplingFrequency = r.GetValue(s_frequency),
        PerfEventBufferPollInterval = Duration(r, s_pollInterval, problems),
        PerfEventBufferProcessingInterval = Duration(r, s_processingInterval, problems),
        PerfEventBufferWorkerCount = r.GetValue(s_workerCount),
        MetadataExternalLabels = KeyValues(r.GetValue(s_externalLabels), "--metadata-external-labels", problems),
        MetadataContainerRuntimeSocketPath = r.GetValue(s_containerSocket),
        MetadataDisableCaching = r.GetValue(s_metadataDisableCaching),
        LocalStoreDirectory = r.GetValue(s_localStoreDirectory),
        RemoteStoreAddress = r.GetValue(s_remoteStoreAddress),
        RemoteStoreBearerToken = r.GetValue(s_bearerToken) ?? Environment.GetEnvironmentVariable("PARCA_BEARER_TOKEN"),
        RemoteStoreBearerTokenFile = r.GetValue(s_bearerTokenFile),
        RemoteStoreInsecure = r.GetValue(s_insecure),
        RemoteStoreUseV2Schema = r.GetValue(s_useV2Schema),
        RemoteStoreInsecureSkipVerify = r.GetValue(s_insecureSkipVerify),
        RemoteStoreTlsCaFile = r.GetValue(s_tlsCaFile),
        RemoteStoreTlsCertFile = r.GetValue(s_tlsCertFile),
        RemoteStoreTlsKeyFile = r.GetValue(s_tlsKeyFile),
        RemoteStoreBatchWriteInterval = Duration(r, s_batchWriteInterval, problems),
        RemoteStoreRpcLoggingEnable = r.GetValue(s_rpcLogging),
        RemoteStoreRpcUnaryTimeout = Duration(r, s_rpcUnaryTimeout, problems),
        SymbolizerJitDisable = r.GetValue(s_symbolizerJitDisable),
        DotnetPerfMapDisable = r.GetValue(s_dotnetPerfMapDisable),
        DotnetKeepTiers = r.GetValue(s_dotnetKeepTiers),
        JavaPerfMapDisable = r.GetValue(s_javaPerfMapDisable),
        SymbolizerDemangleMode = r.GetValue(s_demangleMode)!,
        ObjectFilePoolEvictionPolicy = r.GetValue(s_objectFilePoolEvictionPolicy)!,
        ObjectFilePoolSize = r.GetValue(s_objectFilePoolSize),
        DebuginfoDirectories = [.. r.GetValue(s_debuginfoDirectories)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        DebuginfoTempDir = r.GetValue(s_debuginfoTempDir)!,
        DebuginfoStrip = r.GetValue(s_debuginfoStrip),
        DebuginfoCompress = r.GetValue(s_debuginfoCompress),
        DebuginfoUploadDisable = r.GetValue(s_debuginfoUploadDisable),
        DebuginfoUploadMaxParallel = r.GetValue(s_debuginfoUploadMaxParallel),
        DebuginfoUploadTimeout = Duration(r, s_debuginfoUploadTimeout, problems),
        DebuginfoUploadCacheDuration = Duration(r, s_debuginfoUploadCacheDuration, problems),
        DebuginfoDisableCaching = r.GetValue(s_debuginfoDisableCaching),
        BpfVerboseLogging = r.GetValue(s_bpfVerboseLogging) || r.GetValue(s_verboseBpfLogging),
        BpfEventsBufferSize = r.GetValue(s_bpfEventsBufferSize),
        DwarfUnwindingDisable = r.GetValue(s_dwarfUnwindingDisable),
        DwarfUnwindingMixed = r.GetValue(s_dwarfUnwindingMixed),
        DwarfUnwindingMaxRows = r.GetValue(s_dwarfUnwindingMaxRows),
        DwarfUnwindingCacheDirectory = r.GetValue(s_dwarfUnwindingCacheDir) ?? "",
        DwarfUnwindingCacheMaxMb = r.GetValue(s_dwarfUnwindingCacheMaxMb),
        PythonUnwindingDisable = r.GetValue(s_pythonUnwindingDisable),
        PerlUnwindingDisable = r.GetValue(s_perlUnwindingDisable),
        RubyUnwindingDisable = r.GetValue(s_rubyUnwindingDisable),
        PhpUnwindingDisable = r.GetValue(s_phpUnwindingDisable),
        V8UnwindingDisable = r.GetValue(s_v8UnwindingDisable),
        InterpreterSymbolCacheSize = r.GetValue(s_interpreterSymbolCacheSize),
    };
}
