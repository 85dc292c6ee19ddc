using System.Globalization;
using System.Text;
using Parca.Agent.Interpreters;

namespace Parca.Agent;

/// <summary>Metrics of the interpreter walker and its code-object cache.</summary>
public sealed partial class AgentMetrics
{
    private void RenderInterpreters(StringBuilder sb)
    {
        if (Interpreters is not { } i)
        {
            return;
        }

        var bpf = i.Maps.ReadStats();
        Counter(sb, "parca_agent_interpreter_walks_total", "Samples of interpreter processes whose interpreted frames the BPF walker read.", bpf[(int)InterpreterStat.Walks]);
        Counter(sb, "parca_agent_interpreter_frames_total", "Interpreted frames appended to samples.", bpf[(int)InterpreterStat.Frames]);
        sb.Append("# HELP parca_agent_interpreter_walk_events_total Interpreter walks that stopped early or found nothing, by reason.\n# TYPE parca_agent_interpreter_walk_events_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_interpreter_walk_events_total{{reason=\"no_thread_state\"}} {bpf[(int)InterpreterStat.NoThread]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_interpreter_walk_events_total{{reason=\"read_fault\"}} {bpf[(int)InterpreterStat.ReadFault]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_interpreter_walk_events_total{{reason=\"truncated\"}} {bpf[(int)InterpreterStat.Truncated]}\n");
        sb.Append("# HELP parca_agent_interpreter_processes Processes whose interpreted frames are walked, by language.\n# TYPE parca_agent_interpreter_processes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_interpreter_processes{{language=\"python\"}} {i.PythonProcesses}\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_interpreter_processes{{language=\"perl\"}} {i.PerlProcesses}\n");
        Counter(sb, "parca_agent_interpreter_unsupported_versions_total", "Interpreter processes of a version without a structure table (profiled natively; one log line each).", (ulong)i.Unsupported);
        Gauge(sb, "parca_agent_interpreter_symbol_cache_entries", "Code objects named in the cache (bounded by --interpreter-symbol-cache-size).", i.Symbols.Count);
        Gauge(sb, "parca_agent_interpreter_symbol_cache_bytes", "Approximate bytes of the code-object cache.", i.Symbols.Bytes);
        Counter(sb, "parca_agent_interpreter_symbol_cache_evictions_total", "Times the full code-object cache was emptied.", (ulong)i.Symbols.Evictions);
        Counter(sb, "parca_agent_interpreter_code_unreadable_total", "Code objects that could not be read (process gone, memory reused).", (ulong)i.Symbols.Unreadable);
    }
}
