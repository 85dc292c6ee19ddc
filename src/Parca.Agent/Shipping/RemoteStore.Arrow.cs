using Google.Protobuf;
using Parca.Agent.Profiling;
using Parca.Agent.Shipping.Arrow;
using Parca.Pprof;
using Parca.Protocol.Profilestore.V1Alpha1;

namespace Parca.Agent.Shipping;

/// <summary>The v2 Arrow form of a batch (WriteArrow): one row per pprof sample and sample type.</summary>
internal sealed partial class RemoteStore
{
    /// <summary>Sends v2 records through WriteArrow (default) instead of pprof through WriteRaw.</summary>
    public bool UseV2Schema { get; init; }

    /// <summary>
    /// Builds the WriteArrow request for a batch. The profile's name is the producer; its labels are the row's labels;
    /// frames keep mapping file and build id, and lines where the agent symbolized them. v2 has no mapping range and no
    /// executable info, so native frames carry ELF file addresses, as Parca Agent sends them and Parca symbolizes them.
    /// </summary>
    internal static WriteArrowRequest BuildArrowRequest(IEnumerable<ProfileSeries> batch)
    {
        var rows = new List<ArrowSample>();
        foreach (var s in batch)
        {
            if (s.Stacks is { } stacks)
            {
                AddRows(rows, s, stacks);
                continue;
            }

            var p = PprofDecoder.DecodeProfile(s.PprofGzip);
            var labels = s.Labels.ToDictionary(kv => kv.Key, kv => (string?)kv.Value, StringComparer.Ordinal);
            var mappings = p.Mappings.ToDictionary(m => m.Id);
            var functions = p.Functions.ToDictionary(f => f.Id);
            var frames = new Dictionary<ulong, Frame>();
            foreach (var l in p.Locations)
            {
                var m = mappings.GetValueOrDefault(l.MappingId);
                var type = m is not null && m.Filename.StartsWith("[kernel", StringComparison.Ordinal) ? "kernel" : Parca.Agent.Interpreters.InterpreterFrames.FrameType(m?.Filename) ?? "native";
                frames[l.Id] = new Frame(FileAddress(l.Address, m, s.Executables, type), type, m?.Filename, string.IsNullOrEmpty(m?.BuildId) ? null : m.BuildId,
                    [.. l.Lines.Select(line => functions.TryGetValue(line.FunctionId, out var f)
                        ? new FrameLine(f.Name.Length > 0 ? f.Name : f.SystemName, f.Filename.Length > 0 ? f.Filename : null, (ulong)Math.Max(0, line.LineNumber), (ulong)Math.Max(0, f.StartLine))
                        : new FrameLine("", null, (ulong)Math.Max(0, line.LineNumber)))]);
            }

            for (var t = 0; t < p.SampleTypes.Count; t++)
            {
                foreach (var sample in p.Samples)
                {
                    rows.Add(new ArrowSample([.. sample.LocationIds.Select(id => frames[id])], sample.Values[t], labels, p.TimeNanos)
                    {
                        Producer = ProfileName,
                        SampleType = p.SampleTypes[t].Type,
                        SampleUnit = p.SampleTypes[t].Unit,
                        PeriodType = p.PeriodType?.Type ?? "",
                        PeriodUnit = p.PeriodType?.Unit ?? "",
                        Period = p.Period,
                        Duration = (ulong)Math.Max(0, p.DurationNanos),
                        Temporality = p.DurationNanos != 0 ? "delta" : null,
                    });
                }
            }
        }

        return new WriteArrowRequest { IpcBuffer = ByteString.CopyFrom(V2RecordWriter.Write([rows], lz4: true)) };
    }

    /// <summary>
    /// A pprof location's address as v2 carries it: the ELF file's virtual address (v2 has no mapping range), from the
    /// mapping and the executable segment WriteRaw would send as executable_info; unchanged where that is unknown.
    /// </summary>
    private static ulong FileAddress(ulong address, Mapping? m, IReadOnlyList<ExecutableSegment> executables, string type)
    {
        var index = (int)(m?.Id ?? 0) - 1;
        if (type != "native" || m is null || index < 0 || index >= executables.Count || executables[index].ElfType == 0 || string.IsNullOrEmpty(m.BuildId))
        {
            return address;
        }

        var segment = executables[index];
        return address - m.MemoryStart + m.FileOffset - segment.Offset + segment.VirtualAddress;
    }

    /// <summary>
    /// The rows of a window straight from the agent's aggregation: the same two sample types the pprof carries
    /// (samples/count and cpu/nanoseconds = count × period), frames shared by every row that uses them.
    /// </summary>
    private static void AddRows(List<ArrowSample> rows, ProfileSeries s, AggregatedStacks stacks)
    {
        var labels = s.Labels.ToDictionary(kv => kv.Key, kv => (string?)kv.Value, StringComparer.Ordinal);
        var time = s.TimeUnixNanos; // the pprof's time_nanos, exactly
        var duration = (ulong)((long)s.Duration.TotalMilliseconds * 1_000_000); // as the pprof states it
        foreach (var (type, unit) in s_agentTypes)
        {
            foreach (var (stack, count) in stacks.Samples)
            {
                rows.Add(new ArrowSample(stack, type == "samples" ? count : count * stacks.PeriodNanos, labels, time)
                {
                    Producer = ProfileName,
                    SampleType = type,
                    SampleUnit = unit,
                    PeriodType = "cpu",
                    PeriodUnit = "nanoseconds",
                    Period = stacks.PeriodNanos,
                    Duration = duration,
                    Temporality = duration != 0 ? "delta" : null,
                });
            }
        }
    }

    private static readonly (string Type, string Unit)[] s_agentTypes = [("samples", "count"), ("cpu", "nanoseconds")];
}
