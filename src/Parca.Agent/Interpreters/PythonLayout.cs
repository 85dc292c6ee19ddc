namespace Parca.Agent.Interpreters;

/// <summary>How a CPython version records the line of an instruction (docs/agent.md "Python stacks").</summary>
internal enum PythonLineFormat
{
    /// <summary>3.8, 3.9: co_lnotab, (byte offset delta, line delta) byte pairs; f_lasti is a byte offset.</summary>
    Lnotab,

    /// <summary>3.10: co_linetable, (byte offset delta, signed line delta) pairs, -128 = no line; f_lasti counts code units.</summary>
    Linetable310,

    /// <summary>3.11+: co_linetable location entries (Objects/locations.md), lengths in code units.</summary>
    Locations311,
}

/// <summary>
/// Structure offsets of one CPython minor version on x86-64 (see <see cref="PythonLayouts"/> for each value's
/// source). The first group is what the BPF walker reads (struct parca_python_proc in bpf/interp.h); the rest is
/// what the symbolizer reads from a code object.
/// </summary>
internal sealed record PythonLayout
{
    public const ushort None = 0xffff;

    public required int Minor { get; init; }

    public required ushort RuntimeInterpretersHead { get; init; }

    public required ushort InterpreterThreadsHead { get; init; }

    public required ushort ThreadNext { get; init; }

    public required ushort ThreadId { get; init; }

    public required ushort ThreadFrame { get; init; }

    public ushort CFrameCurrentFrame { get; init; } = None;

    public required ushort FrameCode { get; init; }

    public required ushort FramePrevious { get; init; }

    public required ushort FrameInstruction { get; init; }

    public ushort FrameIsEntry { get; init; } = None;

    public ushort FrameOwner { get; init; } = None;

    public byte OwnerCStack { get; init; } = 0xff;

    /// <summary>co_code_adaptive: where the instructions start (versions whose frames hold an instruction pointer).</summary>
    public ushort CodeAdaptive { get; init; }

    public required bool InstructionIsPointer { get; init; }

    public required ushort CodeFirstLine { get; init; }

    public required ushort CodeFilename { get; init; }

    /// <summary>co_qualname (3.11+), else co_name.</summary>
    public required ushort CodeName { get; init; }

    /// <summary>co_linetable (3.10+) or co_lnotab.</summary>
    public required ushort CodeLineTable { get; init; }

    public required PythonLineFormat LineFormat { get; init; }

    /// <summary>sizeof(PyASCIIObject): the characters of a compact ASCII string follow it.</summary>
    public required ushort AsciiHeader { get; init; }

    /// <summary>sizeof(PyCompactUnicodeObject): the characters of a compact non-ASCII string follow it.</summary>
    public required ushort CompactHeader { get; init; }

    /// <summary>Bytes of a frame the walker reads at once (every frame offset + 8).</summary>
    public ushort FrameSize => (ushort)(Math.Max(Math.Max(FrameCode, FramePrevious), Math.Max(FrameInstruction, Math.Max(FrameIsEntry == None ? 0 : FrameIsEntry, FrameOwner == None ? 0 : FrameOwner))) + 8);
}
