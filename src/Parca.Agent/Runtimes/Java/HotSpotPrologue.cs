using System.Buffers.Binary;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// Unwind rows for a method HotSpot compiled (C1 or C2, x86-64), derived from its entry code, because without
/// -XX:+PreserveFramePointer compiled Java code uses rbp as an ordinary register and a frame-pointer walk through it
/// is lost. Compiled Java frames have a fixed size, set up in a fixed way at the verified entry:
/// the stack bang(s) `mov [rsp - N], eax`, `push rbp` (the caller's rbp is always saved), then `sub rsp, N`
/// (C1 and C2), or, for C2 methods that need no bang (on-stack-replacement entries among them),
/// `sub rsp, N` then `mov [rsp + N - 8], rbp`; a method made not entrant has its bang's first bytes patched into
/// a `jmp`; with
/// PreserveFramePointer a `mov rbp, rsp` follows the push (native wrappers always have one). What precedes the
/// verified entry (the inline-cache check of the unverified entry, a class-initialization barrier) runs before
/// the frame exists. The last row covers the body up to the end of the blob; epilogues (add rsp; pop rbp; ret)
/// and the deoptimization/exception handlers at the end are not modelled.
/// </summary>
internal static class HotSpotPrologue
{
    /// <summary>Bytes of code read per method: the unverified entry, a class-init barrier and the frame setup fit.</summary>
    public const int MaxBytes = 96;

    public static bool TryAppendRows(ReadOnlySpan<byte> code, uint offset, uint size, List<UnwindRow> rows)
    {
        for (var at = 0; at + 7 <= code.Length; at++)
        {
            if (IsStackBang(code[at..]) || IsPatchedBang(code[at..]))
            {
                var push = at + 7;
                while (push + 7 <= code.Length && IsStackBang(code[push..]))
                {
                    push += 7; // frames over a page bang each page
                }

                return push < code.Length && code[push] == 0x55 && AppendPushFrame(code, offset, size, push, rows);
            }

            if (TrySub(code[at..], out var subLength, out var frame) && subLength == 7
                && TrySaveRbp(code[(at + 7)..], out var saveLength, out var slot) && slot == frame - 8)
            {
                // C2 without a bang: sub rsp, imm32 (always the 32-bit form) then the caller's rbp into the frame's top.
                var cfa = 8 + frame;
                Add(rows, offset, 0, size, new UnwindRow(0, CfaRule.Rsp, RbpRule.Unchanged, 0, 8));
                Add(rows, offset, (uint)(at + 7), size, new UnwindRow(0, CfaRule.Rsp, RbpRule.Unchanged, 0, cfa));
                Add(rows, offset, (uint)(at + 7 + saveLength), size, new UnwindRow(0, CfaRule.Rsp, RbpRule.CfaOffset, -16, cfa));
                return true;
            }
        }

        return false;
    }

    private static bool AppendPushFrame(ReadOnlySpan<byte> code, uint offset, uint size, int push, List<UnwindRow> rows)
    {
        var start = rows.Count;
        Add(rows, offset, 0, size, new UnwindRow(0, CfaRule.Rsp, RbpRule.Unchanged, 0, 8));
        var at = push + 1;
        Add(rows, offset, (uint)at, size, new UnwindRow(0, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16));
        var rest = code[at..];
        if (rest.Length >= 3 && rest[0] == 0x48 && ((rest[1] == 0x8B && rest[2] == 0xEC) || (rest[1] == 0x89 && rest[2] == 0xE5)))
        {
            // mov rbp, rsp: a framed method (PreserveFramePointer, native wrappers).
            Add(rows, offset, (uint)(at + 3), size, new UnwindRow(0, CfaRule.Rbp, RbpRule.CfaOffset, -16, 16));
            return true;
        }

        if (TrySub(rest, out var length, out var frame) && frame > 0)
        {
            Add(rows, offset, (uint)(at + length), size, new UnwindRow(0, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16 + frame));
            return true;
        }

        // A frame of only the saved rbp (C1 with frame size 0) is what the push already describes.
        return rows.Count > start;
    }

    /// <summary>mov [rsp + disp32], eax with a negative displacement: HotSpot's stack bang.</summary>
    private static bool IsStackBang(ReadOnlySpan<byte> code) =>
        code.Length >= 7 && code[0] == 0x89 && code[1] == 0x84 && code[2] == 0x24 && BinaryPrimitives.ReadInt32LittleEndian(code[3..7]) < 0;

    /// <summary>
    /// A bang whose first 5 bytes HotSpot overwrote with `jmp` when it made the method not entrant (frames of it can
    /// still be running): the jmp, the bang's last 2 bytes, then the push of rbp and the sub of the frame.
    /// </summary>
    private static bool IsPatchedBang(ReadOnlySpan<byte> code) =>
        code.Length >= 12 && code[0] == 0xE9 && code[7] == 0x55 && TrySub(code[8..], out _, out _);

    /// <summary>sub rsp, imm8 / imm32.</summary>
    private static bool TrySub(ReadOnlySpan<byte> code, out int length, out int value)
    {
        if (code.Length >= 4 && code[0] == 0x48 && code[1] == 0x83 && code[2] == 0xEC)
        {
            length = 4;
            value = code[3];
            return true;
        }

        if (code.Length >= 7 && code[0] == 0x48 && code[1] == 0x81 && code[2] == 0xEC)
        {
            length = 7;
            value = BinaryPrimitives.ReadInt32LittleEndian(code[3..7]);
            return value > 0;
        }

        length = value = 0;
        return false;
    }

    /// <summary>mov [rsp + disp8/disp32], rbp.</summary>
    private static bool TrySaveRbp(ReadOnlySpan<byte> code, out int length, out int displacement)
    {
        if (code.Length >= 5 && code[0] == 0x48 && code[1] == 0x89 && code[2] == 0x6C && code[3] == 0x24)
        {
            length = 5;
            displacement = (sbyte)code[4];
            return true;
        }

        if (code.Length >= 8 && code[0] == 0x48 && code[1] == 0x89 && code[2] == 0xAC && code[3] == 0x24)
        {
            length = 8;
            displacement = BinaryPrimitives.ReadInt32LittleEndian(code[4..8]);
            return true;
        }

        length = displacement = 0;
        return false;
    }

    /// <summary>Adds a row at <paramref name="at"/> bytes into the method unless that is past its end.</summary>
    private static void Add(List<UnwindRow> rows, uint offset, uint at, uint size, UnwindRow rule)
    {
        if (at < size)
        {
            rows.Add(rule with { Pc = offset + at });
        }
    }
}
