using System.Runtime.InteropServices;

namespace Parca.Symbols.Cfi;

/// <summary>How the canonical frame address (the caller's rsp) of a row is found. Values are shared with bpf/parca_agent.h.</summary>
public enum CfaRule : byte
{
    /// <summary>No usable rule: a gap between functions, or a rule the BPF unwinder cannot follow (it falls back to frame pointers).</summary>
    Invalid = 0,

    /// <summary>CFA = rsp + offset.</summary>
    Rsp = 1,

    /// <summary>CFA = rbp + offset.</summary>
    Rbp = 2,

    /// <summary>A PLT stub: CFA = rsp + 8, plus 8 when (rip &amp; 15) &gt;= 11 (glibc's/binutils' expression).</summary>
    Plt11 = 3,

    /// <summary>The same PLT expression with threshold 10 (the other stub layout binutils emits).</summary>
    Plt10 = 4,

    /// <summary>A signal trampoline (__restore_rt): pc, rsp and rbp come from the kernel's ucontext at rsp.</summary>
    Signal = 5,

    /// <summary>The return address is undefined: the outermost frame (_start, clone3, start_thread's caller).</summary>
    End = 6,

    /// <summary>CFA = *(rbp + offset): gcc's stack-realigning prologue (DRAP) once rbp is set up.</summary>
    RbpDeref = 7,
}

/// <summary>Where the caller's rbp is. Values are shared with bpf/parca_agent.h.</summary>
public enum RbpRule : byte
{
    /// <summary>rbp still holds the caller's value.</summary>
    Unchanged = 0,

    /// <summary>The caller's rbp is saved at CFA + offset.</summary>
    CfaOffset = 1,
}

/// <summary>
/// One row of a compact unwind table, laid out exactly as <c>struct parca_unwind_row</c> (bpf/parca_agent.h): it
/// holds from <see cref="Pc"/> (an ELF virtual address) up to the next row's pc. 12 bytes, so a 1 MB .eh_frame
/// (about 60 000 rows on this machine's binaries) becomes about 700 KB of BPF map.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public readonly record struct UnwindRow(uint Pc, CfaRule Cfa, RbpRule Rbp, short RbpOffset, int CfaOffset)
{
    /// <summary>Bytes of one row in a table file and in the BPF map.</summary>
    public const int Size = 12;

    public override string ToString() => $"{Pc:x} {Cfa}{(Cfa is CfaRule.Rsp or CfaRule.Rbp or CfaRule.RbpDeref ? $"{CfaOffset:+0;-0}" : "")} rbp={(Rbp == RbpRule.CfaOffset ? $"c{RbpOffset:+0;-0}" : "u")}";

    /// <summary>Same rule (ignoring the pc): consecutive rows with the same rule are merged.</summary>
    public bool SameRule(UnwindRow other) => Cfa == other.Cfa && Rbp == other.Rbp && CfaOffset == other.CfaOffset && RbpOffset == other.RbpOffset;
}
