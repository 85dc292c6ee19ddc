namespace Parca.Agent.Interpreters;

/// <summary>
/// Structure offsets of one Ruby (MRI) version on x86-64 (see <see cref="RubyLayouts"/> for each value's source).
/// The first group is what the BPF walker reads (struct parca_ruby_proc in bpf/interp.h); the rest is what the
/// symbolizer reads to name an instruction sequence and map its instructions to lines.
/// </summary>
internal sealed record RubyLayout
{
    public required string Version { get; init; }

    public required ushort ExecutionContextVmStack { get; init; }

    public required ushort ExecutionContextVmStackSize { get; init; }

    public required ushort ExecutionContextCfp { get; init; }

    public required ushort ControlFrameSize { get; init; }

    public required ushort ControlFramePc { get; init; }

    public required ushort ControlFrameIseq { get; init; }

    public required ushort ControlFrameEp { get; init; }

    public required ushort IseqBody { get; init; }

    public required ushort BodyIseqSize { get; init; }

    public required ushort BodyIseqEncoded { get; init; }

    public required int BodyPath { get; init; }

    public required int BodyLabel { get; init; }

    public required int BodyFirstLine { get; init; }

    public required int BodyInsnsInfoBody { get; init; }

    public required int BodyInsnsInfoPositions { get; init; }

    public required int BodyInsnsInfoSize { get; init; }

    public required int BodyInsnsInfoSuccinct { get; init; }

    public required int InsnInfoSize { get; init; }

    public required int InsnInfoLine { get; init; }

    public required int StringLength { get; init; }

    public required int StringPointer { get; init; }

    public required int StringEmbedded { get; init; }

    public required ulong StringNoEmbedFlag { get; init; }

    public required ulong StringEmbedLengthMask { get; init; }

    public required int StringEmbedLengthShift { get; init; }

    public required int ArrayLength { get; init; }

    public required int ArrayPointer { get; init; }

    public required int ArrayEmbedded { get; init; }

    public required ulong ArrayEmbedFlag { get; init; }

    /// <summary>Bytes of an iseq body the symbolizer reads at once (every body offset it uses + 8).</summary>
    public int BodyRead => Math.Max(BodyPath, Math.Max(BodyLabel, Math.Max(BodyFirstLine, Math.Max(BodyInsnsInfoSuccinct, BodyInsnsInfoPositions)))) + 8;
}
