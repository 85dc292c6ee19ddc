using System.Diagnostics.Metrics;
using Parca.Agent.Bpf;
using Parca.Hosting.Metrics;

namespace Parca.Agent;

/// <summary>
/// The agent's counters and gauges: observable <c>System.Diagnostics.Metrics</c> instruments on this agent's own
/// meter (read from the sampler, unwinder, stores... when scraped), rendered on /metrics by the exporter the server
/// uses too (<see cref="PrometheusExporter"/>).
/// </summary>
public sealed partial class AgentMetrics : IDisposable
{
    private readonly Meter _meter = new("Parca.Agent");
    private readonly PrometheusExporter _exporter;
    private readonly Lock _renderLock = new();
    private ulong[]? _bpfSnapshot; // one read of the BPF counters per render, so they add up within one scrape
    private ulong[]? _interpreterSnapshot; // the same for the interpreter walker's counters
    private long _profilesWritten;
    private long _profileWriteErrors;
    private long _windows;

    internal Func<ulong[]>? BpfStats { get; set; }

    internal Func<long>? SamplesReceived { get; set; }

    internal Func<long>? SamplesDroppedByRelabel { get; set; }

    internal Func<long>? ProcessesMissed { get; set; }

    internal Func<int>? ObjectFiles { get; set; }

    internal Func<long>? ObjectFileSymbolBytes { get; set; }

    internal Func<long>? ObjectFileEvictions { get; set; }

    internal Func<(int Held, long HeldEvictions)>? ObjectFilesHeld { get; set; }

    internal Func<long>? ProcessExecs { get; set; }

    internal Func<int>? KernelSymbolLoads { get; set; }

    internal Func<(long DebugFiles, long Skipped)>? Debuginfo { get; set; }

    internal Unwinding.UnwindTableManager? Unwinder { get; set; }

    internal Func<(long Buffered, long Dropped, long Sent, long Failed)>? Shipping { get; set; }

    internal Func<long>? ShippingRejected { get; set; }

    internal Interpreters.InterpreterManager? Interpreters { get; set; }

    internal Func<Parca.Symbols.IO.FileRefusal, long>? FilesRefused { get; set; }

    internal Func<long>? FileLogLinesSuppressed { get; set; }

    internal Func<(long TimedOut, long Failed, int Unfinished, long MetadataTimeouts)>? ProcessJobs { get; set; }

    public AgentMetrics()
    {
        CreateInstruments();
        _exporter = new PrometheusExporter(meter => ReferenceEquals(meter, _meter));
    }

    public long ProfilesWritten => Interlocked.Read(ref _profilesWritten);

    public long Windows => Interlocked.Read(ref _windows);

    internal void ProfileWritten() => Interlocked.Increment(ref _profilesWritten);

    internal void ProfileWriteFailed() => Interlocked.Increment(ref _profileWriteErrors);

    internal void WindowClosed() => Interlocked.Increment(ref _windows);

    /// <summary>The BPF counter of <paramref name="stat"/> summed over CPUs (0 before the sampler started).</summary>
    internal ulong Bpf(BpfStat stat) => BpfStats?.Invoke() is { } s ? s[(int)stat] : 0;

    /// <summary>The Prometheus text of every instrument (observable ones are read now, the BPF counters once).</summary>
    public string Render()
    {
        lock (_renderLock)
        {
            _bpfSnapshot = BpfStats?.Invoke();
            _interpreterSnapshot = Interpreters?.Maps.ReadStats();
            try
            {
                return _exporter.Render();
            }
            finally
            {
                _bpfSnapshot = null;
                _interpreterSnapshot = null;
            }
        }
    }

    private long BpfCount(BpfStat stat) => (long)((_bpfSnapshot ?? BpfStats?.Invoke()) is { } s ? s[(int)stat] : 0);

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }
}
