using System.Diagnostics.Metrics;
using Parca.Agent.Interpreters;

namespace Parca.Agent;

/// <summary>Instruments of the interpreter walker and its code-object cache (none are reported without interpreter support).</summary>
public sealed partial class AgentMetrics
{
    private void CreateInterpreterInstruments()
    {
        InterpreterCounter("parca_agent_interpreter_walks_total", "Samples of interpreter processes whose interpreted frames the BPF walker read.", i => InterpreterStatCount(i, InterpreterStat.Walks));
        InterpreterCounter("parca_agent_interpreter_frames_total", "Interpreted frames appended to samples.", i => InterpreterStatCount(i, InterpreterStat.Frames));
        _meter.CreateObservableCounter(
            "parca_agent_interpreter_walk_events_total",
            () => Interpreters is { } i
                ? [Reason(i, "no_thread_state", InterpreterStat.NoThread), Reason(i, "read_fault", InterpreterStat.ReadFault), Reason(i, "truncated", InterpreterStat.Truncated)]
                : Array.Empty<Measurement<long>>(),
            null,
            "Interpreter walks that stopped early or found nothing, by reason.");
        _meter.CreateObservableCounter(
            "parca_agent_interpreter_bpf_seconds_total",
            () => Interpreters is { } i
                ? [Seconds(i, "sample", InterpreterStat.SampleNanoseconds), Seconds(i, "walk", InterpreterStat.WalkNanoseconds)]
                : Array.Empty<Measurement<double>>(),
            null,
            "BPF run time spent on samples of interpreter processes (part=sample: the whole program; part=walk: of which the interpreter walk); divided by parca_agent_interpreter_walks_total, the cost per sample.");
        _meter.CreateObservableGauge(
            "parca_agent_interpreter_processes",
            () => Interpreters is { } i
                ? [new Measurement<long>(i.PythonProcesses, new KeyValuePair<string, object?>("language", "python")), new Measurement<long>(i.PerlProcesses, new KeyValuePair<string, object?>("language", "perl")), new Measurement<long>(i.RubyProcesses, new KeyValuePair<string, object?>("language", "ruby")), new Measurement<long>(i.PhpProcesses, new KeyValuePair<string, object?>("language", "php")), new Measurement<long>(i.V8Processes, new KeyValuePair<string, object?>("language", "v8js"))]
                : Array.Empty<Measurement<long>>(),
            null,
            "Processes whose interpreted frames are walked, by language.");
        InterpreterCounter("parca_agent_interpreter_unsupported_versions_total", "Interpreter processes of a version without a structure table (profiled natively; one log line each).", i => i.Unsupported);
        InterpreterGauge("parca_agent_interpreter_symbol_cache_entries", "Code objects named in the cache (bounded by --interpreter-symbol-cache-size).", i => i.Symbols.Count);
        InterpreterGauge("parca_agent_interpreter_symbol_cache_bytes", "Approximate bytes of the code-object cache.", i => i.Symbols.Bytes);
        InterpreterCounter("parca_agent_interpreter_symbol_cache_evictions_total", "Times the full code-object cache was emptied.", i => i.Symbols.Evictions);
        InterpreterCounter("parca_agent_interpreter_code_unreadable_total", "Code objects that could not be read (process gone, memory reused).", i => i.Symbols.Unreadable);
        InterpreterCounter("parca_agent_interpreter_code_replaced_total", "Cached Python code objects whose address held another object at the window's check (read again).", i => i.Symbols.Replaced);
    }

    private Measurement<double> Seconds(InterpreterManager interpreters, string part, InterpreterStat stat) =>
        new(InterpreterStatCount(interpreters, stat) / 1e9, new KeyValuePair<string, object?>("part", part));

    private Measurement<long> Reason(InterpreterManager interpreters, string reason, InterpreterStat stat) =>
        new(InterpreterStatCount(interpreters, stat), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>One counter of the walker, from the render's single read of the per-CPU map.</summary>
    private long InterpreterStatCount(InterpreterManager interpreters, InterpreterStat stat) =>
        (long)(_interpreterSnapshot ?? interpreters.Maps.ReadStats())[(int)stat];

    private void InterpreterCounter(string name, string help, Func<InterpreterManager, long> value) =>
        _meter.CreateObservableCounter(name, () => Interpreters is { } i ? [new Measurement<long>(value(i))] : Array.Empty<Measurement<long>>(), null, help);

    private void InterpreterGauge(string name, string help, Func<InterpreterManager, long> value) =>
        _meter.CreateObservableGauge(name, () => Interpreters is { } i ? [new Measurement<long>(value(i))] : Array.Empty<Measurement<long>>(), null, help);
}
