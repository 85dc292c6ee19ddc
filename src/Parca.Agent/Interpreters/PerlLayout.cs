namespace Parca.Agent.Interpreters;

/// <summary>
/// Structure offsets of one Perl 5 version on x86-64 built with ithreads and MULTIPLICITY (as distributions build
/// it; see <see cref="PerlLayouts"/> for each value's source). The first group is what the BPF walker reads
/// (struct parca_perl_proc in bpf/interp.h); the rest is what the symbolizer reads to name a sub.
/// </summary>
internal sealed record PerlLayout
{
    public required int Version { get; init; }

    public required ushort InterpCurcop { get; init; }

    public required ushort InterpCurstackinfo { get; init; }

    public required ushort StackInfoCxstack { get; init; }

    public required ushort StackInfoPrev { get; init; }

    public required ushort StackInfoCxix { get; init; }

    public required ushort ContextSize { get; init; }

    public required ushort ContextType { get; init; }

    public required ushort ContextOldcop { get; init; }

    public required ushort ContextSubCv { get; init; }

    public required ushort CopLine { get; init; }

    public required ushort CopFile { get; init; }

    public required int SvFlags { get; init; }

    public required int CvStash { get; init; }

    public required int CvGvOrHek { get; init; }

    public required int CvFile { get; init; }

    public required int CvFlags { get; init; }

    public required uint CvNamedFlag { get; init; }

    public required int GvNameHek { get; init; }

    public required int GvStash { get; init; }

    public required int HvAux { get; init; }

    public required int HvAuxName { get; init; }

    public required int HvAuxNameCount { get; init; }

    public required uint SvOokFlag { get; init; }

    public required int HekLength { get; init; }

    public required int HekKey { get; init; }

    /// <summary>Bytes of a context the walker reads at once: every context offset it uses + 8.</summary>
    public ushort ContextRead => (ushort)(Math.Max(ContextType, Math.Max(ContextOldcop, ContextSubCv)) + 8);
}
