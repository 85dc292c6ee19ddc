using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parca.Agent.Bpf;
using Parca.Agent.Labels;
using Parca.Agent.Processes;
using Parca.Agent.Profiling;
using Parca.Agent.Shipping;
using Parca.Hosting;
using Parca.Hosting.Logging;
using Parca.Relabel;
using Parca.Symbols.Kernel;

namespace Parca.Agent;

/// <summary>
/// The <c>parca-agent</c> as an object (the composition root): the executable, tests and benchmarks start it the
/// same way. It loads the BPF sampler, aggregates samples per window, builds labelled pprof profiles and hands them
/// to the stores (local directory, latest-profile set for HTTP, remote Parca store), and serves /metrics, /healthy,
/// /ready, its own pprof and a status page on --http-address.
/// </summary>
public sealed partial class ParcaAgent : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private readonly LabelSetBuilder _labels;
    private readonly ProcessTable _processes;
    private readonly Symbolizer _symbolizer;
    private readonly WindowProcessor _windows;
    private readonly WindowWatchdog _watchdog;
    private readonly LatestProfiles _latest = new();
    private readonly List<IProfileStore> _stores = [];
    private readonly Channel<Window> _closedWindows = Channel.CreateBounded<Window>(new BoundedChannelOptions(4) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private RemoteStore? _remote;
    private Debuginfo.DebuginfoUploader? _uploader;
    private SampleAggregator? _aggregator;
    private CpuSampler? _sampler;
    private Unwinding.UnwindTableManager? _unwinder;
    private readonly Runtimes.Dotnet.DotnetPerfMapEnabler? _dotnet;
    private readonly Runtimes.Java.JavaPerfMaps? _java;
    private Interpreters.InterpreterManager? _interpreters;
    private Thread? _samplingThread;
    private Task? _processing;
    private volatile bool _ready;

    private ParcaAgent(WebApplication app, ParcaAgentOptions options, Relabeler relabeler)
    {
        _app = app;
        Options = options;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("parca.agent");
        _labels = new LabelSetBuilder(options.Node, options.MetadataExternalLabels, relabeler, ParcaVersion.Version);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var debugSymbols = new DebugSymbolLoader(options.DebuginfoDirectories, loggers.CreateLogger("parca.agent.symbols"));
        var files = new ProcessFiles(options.ProcRoot, options.ProcessFileLimits, loggers.CreateLogger("parca.agent.files"));
        _processes = new ProcessTable(files, new ObjectFileCache(options.ObjectFilePoolSize, debugSymbols), loggers.CreateLogger("parca.agent.processes"));
        _symbolizer = new Symbolizer(new KernelSymbols(), options.Demangle, !options.SymbolizerJitDisable, options.DotnetKeepTiers);
        var jobs = new ProcessJobs(loggers.CreateLogger("parca.agent.files"), files.Log);
        _dotnet = options.DotnetPerfMapDisable || options.SymbolizerJitDisable ? null : new Runtimes.Dotnet.DotnetPerfMapEnabler(files, loggers.CreateLogger("parca.agent.dotnet"));
        _java = options.JavaPerfMapDisable || options.SymbolizerJitDisable ? null : new Runtimes.Java.JavaPerfMaps(files, loggers.CreateLogger("parca.agent.java"));
        _windows = new WindowProcessor(_processes, _symbolizer, _labels, options.ProfilingCpuSamplingFrequency, jobs) { Dotnet = _dotnet, Java = _java };
        _watchdog = new WindowWatchdog(options.ProfilingDuration, TimeProvider.System);
        _stores.Add(_latest);
        if (!string.IsNullOrEmpty(options.LocalStoreDirectory))
        {
            _stores.Add(new LocalStore(options.LocalStoreDirectory));
        }

        if (!string.IsNullOrEmpty(options.RemoteStoreAddress))
        {
            var token = options.RemoteStoreBearerToken;
            if (options.RemoteStoreBearerTokenFile is { } tokenFile)
            {
                token = File.ReadAllText(tokenFile).Trim();
            }

            // One set of transport settings for everything the agent sends to the server (profiles, debuginfo).
            var channelOptions = new Parca.Rpc.Client.RpcChannelOptions
            {
                Insecure = options.RemoteStoreInsecure,
                InsecureSkipVerify = options.RemoteStoreInsecureSkipVerify,
                TlsCaFile = options.RemoteStoreTlsCaFile,
                TlsCertFile = options.RemoteStoreTlsCertFile,
                TlsKeyFile = options.RemoteStoreTlsKeyFile,
                BearerToken = token,
            };
            _remote = new RemoteStore(
                options.RemoteStoreAddress,
                channelOptions,
                options.RemoteStoreBatchWriteInterval,
                options.RemoteStoreRpcUnaryTimeout,
                options.RemoteStoreBufferCapacity,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("parca.agent.remote"))
            {
                UseV2Schema = options.RemoteStoreUseV2Schema,
            };
            _stores.Add(_remote);
            var remote = _remote;
            Metrics.Shipping = () => remote.Stats;
            Metrics.ShippingRejected = () => remote.Rejected;
            if (!options.DebuginfoUploadDisable)
            {
                _uploader = Debuginfo.DebuginfoUploaderFactory.Create(options, channelOptions, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("parca.agent.debuginfo"));
                _windows.NativeFileSeen = (pid, file) => Debuginfo.DebuginfoUploaderFactory.Enqueue(_uploader, options.ProcRoot, pid, file);
            }
        }

        Metrics.SamplesDroppedByRelabel = () => _windows.DroppedByRelabel;
        Metrics.ProcessesMissed = () => _processes.Missed;
        Metrics.ObjectFiles = () => _processes.Objects.Count;
        Metrics.ObjectFileSymbolBytes = () => _processes.Objects.SymbolBytes;
        Metrics.ObjectFileEvictions = () => _processes.Objects.Evictions;
        Metrics.ObjectFilesHeld = () => (_processes.Objects.Held, _processes.Objects.HeldEvictions);
        Metrics.ProcessExecs = () => _processes.Execs;
        Metrics.KernelSymbolLoads = () => _symbolizer.Kernel.Loads;
        Metrics.Debuginfo = () => (debugSymbols.DebugFilesLoaded, debugSymbols.Skipped);
        Metrics.FilesRefused = files.Refused;
        Metrics.FileLogLinesSuppressed = () => files.LogLinesSuppressed;
        Metrics.ProcessJobs = () => (jobs.TimedOut, jobs.Failed, jobs.Unfinished, _windows.MetadataTimeouts);
    }

    public ParcaAgentOptions Options { get; }

    /// <summary>The unwind table lifecycle (null with --dwarf-unwinding-disable or before start).</summary>
    internal Unwinding.UnwindTableManager? Unwinder => _unwinder;

    internal Runtimes.Dotnet.DotnetPerfMapEnabler? Dotnet => _dotnet;

    internal Runtimes.Dotnet.JitUnwindTables? JitUnwind => _windows.JitUnwind;

    internal Runtimes.Java.JavaPerfMaps? Java => _java;

    internal Runtimes.Java.HotSpotInterpreter? JavaInterpreter => _windows.JavaInterpreter;

    public AgentMetrics Metrics { get; } = new();

    /// <summary>The HTTP address actually bound (useful with port 0). Valid after <see cref="StartAsync"/>.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Raised (on the processing task) for every profile built.</summary>
    public event Action<ProfileSeries>? ProfileStored
    {
        add => _latest.Stored += value;
        remove => _latest.Stored -= value;
    }

    /// <summary>Validates options and the relabel config; throws <see cref="ArgumentException"/> listing every problem.</summary>
    public static ParcaAgent Create(ParcaAgentOptions options)
    {
        var problems = options.Validate();
        var relabeler = Relabeler.Empty;
        if (!string.IsNullOrEmpty(options.ConfigPath))
        {
            try
            {
                relabeler = Relabeler.Create(RelabelConfigFile.Parse(File.ReadAllText(options.ConfigPath)).RelabelConfigs);
            }
            catch (RelabelConfigException e)
            {
                problems.AddRange(e.Problems.Select(p => $"--config-path={options.ConfigPath}: {p}"));
            }
            catch (IOException e)
            {
                problems.Add($"--config-path={options.ConfigPath}: {e.Message}");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid options:\n  " + string.Join("\n  ", problems));
        }

        if (!ListenAddress.TryParse(options.HttpAddress, out var endPoint, out var addressError))
        {
            throw new ArgumentException("--http-address: " + addressError);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddParcaConsole(options.LogFormat, options.LogLevel);
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                kestrel.ListenAnyIP(endPoint.Port);
            }
            else
            {
                kestrel.Listen(endPoint);
            }
        });
        var app = builder.Build();
        var agent = new ParcaAgent(app, options, relabeler);
        agent.MapEndpoints(app);
        return agent;
    }

    /// <summary>Starts HTTP, loads and attaches the BPF sampler and begins profiling; throws <see cref="Interop.BpfException"/> when the kernel side cannot start.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var first = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        BaseAddress = new Uri($"{first.Scheme}://{first.Host}:{first.Port}/");

        _aggregator = new SampleAggregator(_processes.Observe) { ProcessRenamed = _processes.ObserveRename };
        Metrics.SamplesReceived = () => _aggregator.Received;
        LibbpfLog.Sink = line => LogLibbpf(_logger, line);
        _sampler = CpuSampler.Start(new CpuSamplerOptions
        {
            Frequency = Options.ProfilingCpuSamplingFrequency,
            RingBufferBytes = Options.BpfEventsBufferSize * Environment.SystemPageSize,
            MemlockLimit = Options.MemlockRlimit,
            BtfPath = Options.BtfPath,
            VerboseLogging = Options.BpfVerboseLogging,
            UnwindTables = !Options.DwarfUnwindingDisable,
            UnwindMixed = Options.DwarfUnwindingMixed,
            UnwindMaxRows = Options.DwarfUnwindingMaxRows > 0 ? (uint)Options.DwarfUnwindingMaxRows : Unwinding.RowBudget.FromMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes),
        }, _aggregator);
        if (!Options.DwarfUnwindingDisable)
        {
            var loggers = _app.Services.GetRequiredService<ILoggerFactory>();
            _unwinder = new Unwinding.UnwindTableManager(
                _sampler.Unwind,
                new Unwinding.UnwindTableCache(Options.DwarfUnwindingCacheDirectory, (long)Options.DwarfUnwindingCacheMaxMb << 20),
                _processes.Objects,
                _processes.Files,
                loggers.CreateLogger("parca.agent.unwind"));
            _processes.Captured = _unwinder.AddProcess;
            // Off the window's job: a newly dlopen'ed library may take a while to parse; its frames keep their names meanwhile.
            var unwinder = _unwinder;
            _processes.MappingsChanged = info => _ = Task.Run(() => unwinder.AddProcess(info));
            Metrics.Unwinder = _unwinder;
            if (_dotnet is not null || _java is not null)
            {
                _windows.JitUnwind = new Runtimes.Dotnet.JitUnwindTables(_unwinder, Options.ProcRoot);
            }

            if (_java is not null)
            {
                // Interpreted Java frames are read by the table walk (bpf/java.h), so only with unwind tables.
                _windows.JavaInterpreter = new Runtimes.Java.HotSpotInterpreter(
                    _sampler.MapFd("parca_java_procs"), _processes.Objects, _processes.Files, loggers.CreateLogger("parca.agent.java"));
            }
        }

        StartJitWatch();
        if (!Options.PythonUnwindingDisable || !Options.PerlUnwindingDisable || !Options.RubyUnwindingDisable || !Options.PhpUnwindingDisable || !Options.V8UnwindingDisable)
        {
            StartInterpreters();
        }

        if (_sampler.MemlockWarning is { } warning)
        {
            LogMemlock(_logger, warning);
        }

        Metrics.BpfStats = _sampler.ReadStats;
        _ = Interop.Libc.MallocTrim(0);
        _watchdog.Started();
        _processing = Task.Run(ProcessWindowsAsync, CancellationToken.None);
        _samplingThread = new Thread(SamplingLoop) { IsBackground = true, Name = "parca-agent sampling" };
        _samplingThread.Start();
        _ready = true;
        LogStarted(_logger, ParcaVersion.Version, string.Join(", ", addresses), _sampler.Cpus.Count, Options.ProfilingCpuSamplingFrequency, _sampler.RingBufferBytes);
    }

    /// <summary>Runs until the process is asked to stop (Ctrl-C, SIGTERM).</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        await _app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>Stops sampling, builds the profiles of the last (partial) window, stops HTTP.</summary>
    public async Task StopAsync()
    {
        _ready = false;
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        _samplingThread?.Join();
        _samplingThread = null;
        _closedWindows.Writer.TryComplete();
        if (_processing is not null)
        {
            await _processing.ConfigureAwait(false);
            _processing = null;
        }

        _sampler?.Dispose();
        _sampler = null;
        if (_uploader is not null)
        {
            await _uploader.DisposeAsync().ConfigureAwait(false);
            _uploader = null;
        }

        if (_dotnet is not null)
        {
            await _dotnet.DisableAllAsync().ConfigureAwait(false);
        }

        if (_remote is not null)
        {
            // Sends what is still buffered, once, before the process goes away.
            await _remote.DisposeAsync().ConfigureAwait(false);
            _remote = null;
        }

        await _app.StopAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        StopJitWatch();
        await _processes.DisposeAsync().ConfigureAwait(false);
        if (_interpreters is not null)
        {
            await _interpreters.DisposeAsync().ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        Metrics.Dispose();
    }

    private sealed record Window(StackTable Stacks, Dictionary<int, string> ThreadNames, DateTimeOffset Start, TimeSpan Duration);

    [LoggerMessage(Level = LogLevel.Information, Message = "parca-agent {Version} started: http on {Addresses}, sampling {Cpus} CPUs at {Frequency} Hz, ring buffer {RingBufferBytes} bytes")]
    private static partial void LogStarted(ILogger logger, string version, string addresses, int cpus, int frequency, int ringBufferBytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "memlock: {Warning}")]
    private static partial void LogMemlock(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "libbpf: {Line}")]
    private static partial void LogLibbpf(ILogger logger, string line);
}
