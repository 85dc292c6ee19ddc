using Parca.Symbols.Cfi;

namespace Parca.Agent.Runtimes.Dotnet;

/// <summary>
/// Unwind rows for one method compiled by RyuJIT (x64), derived from its prologue, because the runtime keeps JIT
/// unwind info in-process only and optimized methods often have no frame pointer (tier-1 "push rax; call; add rsp, 8;
/// ret" wrappers), so a frame-pointer walk skips them. RyuJIT prologues are a short, fixed vocabulary: pushes of
/// callee-saved registers (rbp first when there is a frame), `sub rsp, N`, then `mov rbp, rsp` or
/// `lea rbp, [rsp+N]` to establish the frame. The rows follow the prologue instruction by instruction and the
/// last one covers the body, where every call site (the return addresses a walk sees) lies. Not covered, and left
/// to the frame-pointer fallback: on-stack-replacement code (it starts on its tier-0 frame, whose size it does not
/// encode) and any prologue with another instruction before the frame is set up. Epilogues are not modelled: a
/// sample interrupting a method's last instructions (pop/ret) may lose its caller.
/// </summary>
internal static class JitPrologue
{
    /// <summary>Bytes of code read per method: the longest prologue analysed is a few pushes, a sub and a lea.</summary>
    public const int MaxBytes = 48;

    /// <summary>
    /// Appends the rows of the method at <paramref name="offset"/> (relative to the table's base) with
    /// <paramref name="size"/> bytes of code whose start is <paramref name="code"/>; returns false (nothing appended)
    /// when the prologue is not one this understands.
    /// </summary>
    public static bool TryAppendRows(ReadOnlySpan<byte> code, uint offset, uint size, List<UnwindRow> rows) =>
        TryAppendRows(code, offset, size, rows, out _, out _);

    /// <summary>
    /// The same; for a method with a frame also its shape once the prologue ran: <paramref name="frameBytes"/> from
    /// the CFA down to rsp and the caller's rbp at CFA - <paramref name="rbpSlot"/> (both 0 when frameless).
    /// </summary>
    public static bool TryAppendRows(ReadOnlySpan<byte> code, uint offset, uint size, List<UnwindRow> rows, out int frameBytes, out int rbpSlot)
    {
        frameBytes = 0;
        var start = rows.Count;
        var rspOffset = 8; // CFA - rsp: the return address
        var pushes = 0;
        rbpSlot = 0;       // the caller's rbp is at CFA - rbpSlot once pushed (0: not pushed)
        var at = 0;
        rows.Add(new UnwindRow(offset, CfaRule.Rsp, RbpRule.Unchanged, 0, rspOffset));
        while (at < code.Length && at < size)
        {
            var rest = code[at..];
            int length;
            if (rest[0] is >= 0x50 and <= 0x57)
            {
                // push r64 (0x55 = rbp)
                length = 1;
                pushes++;
                rspOffset += 8;
                if (rest[0] == 0x55)
                {
                    rbpSlot = rspOffset;
                }
            }
            else if (rest.Length >= 2 && rest[0] == 0x41 && rest[1] is >= 0x50 and <= 0x57)
            {
                length = 2; // push r8..r15
                pushes++;
                rspOffset += 8;
            }
            else if (rest.Length >= 4 && rest[0] == 0x48 && rest[1] == 0x83 && rest[2] == 0xEC)
            {
                length = 4; // sub rsp, imm8
                rspOffset += rest[3];
            }
            else if (rest.Length >= 7 && rest[0] == 0x48 && rest[1] == 0x81 && rest[2] == 0xEC)
            {
                length = 7; // sub rsp, imm32
                rspOffset += BitConverter.ToInt32(rest[3..7]);
            }
            else if (rest.Length >= 3 && rest[0] == 0xC5 && rest[1] == 0xF8 && rest[2] == 0x77)
            {
                at += 3; // vzeroupper: no stack effect
                continue;
            }
            else if (rbpSlot != 0 && TryFrameSetup(rest, out length, out var displacement))
            {
                // rbp = rsp + displacement: CFA = rbp + (rspOffset - displacement) for the rest of the method.
                at += length;
                AddRow(rows, offset + (uint)at, size, offset, new UnwindRow(0, CfaRule.Rbp, RbpRule.CfaOffset, (short)-rbpSlot, rspOffset - displacement));
                frameBytes = rspOffset;
                return true;
            }
            else
            {
                break;
            }

            at += length;
            AddRow(rows, offset + (uint)at, size, offset, rbpSlot != 0
                ? new UnwindRow(0, CfaRule.Rsp, RbpRule.CfaOffset, (short)-rbpSlot, rspOffset)
                : new UnwindRow(0, CfaRule.Rsp, RbpRule.Unchanged, 0, rspOffset));
        }

        // No frame set up: frameless (rbp untouched; a method without any prologue is a leaf with CFA = rsp + 8).
        // A pushed rbp with no frame, or on-stack-replacement code (it starts by reading its tier-0 frame through
        // rbp: mov rax, [rbp+0]), is not understood.
        if (rbpSlot != 0 || (at == 0 && code.Length >= 3 && code[0] == 0x48 && code[1] == 0x8B && code[2] == 0x45))
        {
            rows.RemoveRange(start, rows.Count - start);
            rbpSlot = 0;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Rows for on-stack-replacement code, which RyuJIT starts with `mov rax, [rbp]; push rax; mov rbp, rsp` while
    /// still on the frame of the method's tier-0 version: the runtime enters it as if called from the tier-0 code
    /// (a return address into it at [rsp]) with the tier-0 frame of <paramref name="tier0FrameBytes"/> above. The
    /// rows step over both frames at once to the real caller (the tier-0 frame is the same method), using the
    /// tier-0 version's frame shape. False when the code does not start that way.
    /// </summary>
    public static bool TryAppendOsrRows(ReadOnlySpan<byte> code, uint offset, uint size, List<UnwindRow> rows, int tier0FrameBytes, int tier0RbpSlot)
    {
        if (code.Length < 8 || !code[..8].SequenceEqual((ReadOnlySpan<byte>)[0x48, 0x8B, 0x45, 0x00, 0x50, 0x48, 0x8B, 0xEC]) || size <= 8)
        {
            return false;
        }

        // CFA (the caller's) = rsp at entry + 8 (the return address into tier-0 code) + the tier-0 frame.
        var entry = 8 + tier0FrameBytes;
        var rbp = (short)-tier0RbpSlot;
        rows.Add(new UnwindRow(offset, CfaRule.Rsp, RbpRule.CfaOffset, rbp, entry));
        rows.Add(new UnwindRow(offset + 5, CfaRule.Rsp, RbpRule.CfaOffset, rbp, entry + 8));
        rows.Add(new UnwindRow(offset + 8, CfaRule.Rbp, RbpRule.CfaOffset, rbp, entry + 8));
        return true;
    }

    private static bool TryFrameSetup(ReadOnlySpan<byte> code, out int length, out int displacement)
    {
        length = 0;
        displacement = 0;
        if (code.Length >= 3 && code[0] == 0x48 && ((code[1] == 0x8B && code[2] == 0xEC) || (code[1] == 0x89 && code[2] == 0xE5)))
        {
            length = 3; // mov rbp, rsp
            return true;
        }

        if (code.Length >= 5 && code[0] == 0x48 && code[1] == 0x8D && code[2] == 0x6C && code[3] == 0x24)
        {
            length = 5; // lea rbp, [rsp+disp8]
            displacement = (sbyte)code[4];
            return true;
        }

        if (code.Length >= 8 && code[0] == 0x48 && code[1] == 0x8D && code[2] == 0xAC && code[3] == 0x24)
        {
            length = 8; // lea rbp, [rsp+disp32]
            displacement = BitConverter.ToInt32(code[4..8]);
            return true;
        }

        return false;
    }

    /// <summary>Adds a row at <paramref name="pc"/> unless it is past the method (then the previous row covers the rest).</summary>
    private static void AddRow(List<UnwindRow> rows, uint pc, uint size, uint offset, UnwindRow rule)
    {
        if (pc - offset < size)
        {
            rows.Add(rule with { Pc = pc });
        }
    }
}
