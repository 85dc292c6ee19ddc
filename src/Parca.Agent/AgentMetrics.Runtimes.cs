using System.Diagnostics.Metrics;

namespace Parca.Agent;

/// <summary>Instruments of the JIT runtimes' support (none are reported without JIT unwind tables).</summary>
public sealed partial class AgentMetrics
{
    internal Runtimes.Dotnet.JitCodeWatch? JitWatch { get; set; }

    internal Runtimes.Java.JavaPerfMaps? Java { get; set; }

    /// <summary>.NET perf maps read again within a window (0 without JIT unwind tables).</summary>
    public long DotnetPerfMapRereads => JitWatch?.Rereads ?? 0;

    /// <summary>JVM perf maps asked for within a window (0 without JIT unwind tables or with --java-perf-map-disable).</summary>
    public long JavaPerfMapRereads => JitWatch is null ? 0 : Java?.WrittenWithinWindows ?? 0;

    private void CreateRuntimeInstruments()
    {
        _meter.CreateObservableCounter(
            "parca_agent_dotnet_perf_map_rereads_total",
            () => JitWatch is { } w ? [new Measurement<long>(w.Rereads)] : Array.Empty<Measurement<long>>(),
            null,
            ".NET perf maps read again within a window because samples ran JIT code without unwind rows (code compiled since: tier-1, on-stack replacement).");
        _meter.CreateObservableCounter(
            "parca_agent_java_perf_map_rereads_total",
            () => JitWatch is not null && Java is { } j ? [new Measurement<long>(j.WrittenWithinWindows)] : Array.Empty<Measurement<long>>(),
            null,
            "JVM perf maps written at the agent's request (jcmd Compiler.perfmap) within a window because samples ran compiled code without unwind rows.");
    }
}
