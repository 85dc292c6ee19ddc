namespace Parca.Agent.Profiling;

/// <summary>One built profile: its final labels, the gzipped pprof and what went into it.</summary>
/// <param name="Executables">Per pprof mapping, in order: ELF type and first executable load segment (WriteRaw's executable_info).</param>
public sealed record ProfileSeries(
    IReadOnlyDictionary<string, string> Labels,
    byte[] PprofGzip,
    IReadOnlyList<int> Pids,
    long Samples,
    DateTimeOffset Time,
    TimeSpan Duration,
    IReadOnlyList<ExecutableSegment> Executables)
{
    /// <summary>
    /// <see cref="Time"/> in nanoseconds since the Unix epoch, as every shipped form states it (pprof time_nanos, the
    /// Arrow rows' timestamp). Exact, not cut to milliseconds: a store must hold the profile at the time the agent
    /// reports for it, or a query starting between the two (e.g. at a window's first millisecond) misses the window.
    /// </summary>
    public long TimeUnixNanos => UnixNanos(Time);

    /// <summary>A time in nanoseconds since the Unix epoch (100 ns resolution, as <see cref="DateTimeOffset"/> has).</summary>
    public static long UnixNanos(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>
    /// The window's aggregation the pprof was built from, kept so the v2 Arrow writer builds its rows from it instead
    /// of decoding the pprof again; null for series made elsewhere (the writer then decodes <see cref="PprofGzip"/>).
    /// </summary>
    internal AggregatedStacks? Stacks { get; init; }
}

/// <summary>Stacks (leaf first, one shared <see cref="Shipping.Arrow.Frame"/> per location) with their sample counts.</summary>
internal sealed record AggregatedStacks(long PeriodNanos, IReadOnlyList<(Shipping.Arrow.Frame[] Stack, long Count)> Samples);

/// <summary>ELF type (e_type) and the executable PT_LOAD segment's file offset and virtual address; zeros when not ELF.</summary>
public readonly record struct ExecutableSegment(uint ElfType, ulong Offset, ulong VirtualAddress);
