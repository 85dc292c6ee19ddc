namespace Parca.Symbols.Cfi;

/// <summary>The parts of a CIE that FDEs and the CFA machine need.</summary>
internal sealed record Cie(ulong CodeAlign, long DataAlign, ulong RaRegister, byte FdeEncoding, byte LsdaEncoding, bool HasAugmentationData, bool IsSignalFrame, int InstructionsStart, int InstructionsEnd);

/// <summary>The register rules the x86-64 unwinder tracks: the CFA, rbp (DWARF register 6) and the return address.</summary>
internal struct CfaState
{
    public CfaForm Form;
    public ulong Register;
    public long Offset;
    public RuleForm Rbp;
    public long RbpOffset;
    public RuleForm Ra;
    public long RaOffset;
}

internal enum CfaForm : byte
{
    Register,
    Plt11,
    Plt10,
    Signal,
    RbpDeref,
    Unsupported,
}

internal enum RuleForm : byte
{
    SameValue,
    Offset,
    Undefined,
    Other,
}

/// <summary>
/// Runs CIE and FDE call-frame programs (DWARF 5 §6.4.2, the x86-64 subset compilers and assemblers emit) and
/// reports a row each time the location advances. Only rsp/rbp-based CFAs, rbp and the return address matter to
/// the BPF unwinder, so other registers' rules are parsed and dropped. The expression forms are recognised by
/// their exact bytes: glibc/binutils PLT stubs, the signal trampoline's "CFA = *(rsp + 160)" and the stack
/// realignment "CFA = *(rbp - 8)"; any other expression makes the row unsupported (frame-pointer fallback).
/// </summary>
internal static class CfaMachine
{
    private const int RegRbp = 6;
    private const int RegRsp = 7;
    private const int MaxStateStack = 64;

    /// <summary>Runs the CIE's initial instructions (no rows: they all apply at the FDE's first pc).</summary>
    public static CfaState Initial(Cie cie, ref CfiCursor cursor)
    {
        var state = new CfaState { Form = CfaForm.Register, Register = RegRsp, Offset = 8, Rbp = RuleForm.SameValue, Ra = RuleForm.SameValue };
        var initial = state;
        var loc = 0UL;
        cursor.Position = cie.InstructionsStart;
        Run(cie, ref cursor, cie.InstructionsEnd, ref state, initial, ref loc, ulong.MaxValue, null, 0xff);
        return state;
    }

    /// <summary>Runs an FDE program from <paramref name="start"/> to <paramref name="end"/>, emitting rows.</summary>
    public static void RunFde(Cie cie, ref CfiCursor cursor, int programEnd, CfaState initial, ulong start, ulong end, List<UnwindRowBuilder.Pending> rows, byte encoding)
    {
        var state = initial;
        var loc = start;
        Run(cie, ref cursor, programEnd, ref state, initial, ref loc, end, rows, encoding);
        if (loc < end)
        {
            rows.Add(UnwindRowBuilder.Pending.From(loc, state, cie));
        }
    }

    private static void Run(Cie cie, ref CfiCursor c, int programEnd, ref CfaState state, CfaState initial, ref ulong loc, ulong end, List<UnwindRowBuilder.Pending>? rows, byte encoding)
    {
        Span<CfaState> stack = stackalloc CfaState[MaxStateStack];
        var depth = 0;
        while (c.Position < programEnd)
        {
            var op = c.U8();
            ulong advance = 0;
            switch (op >> 6)
            {
                case 1:
                    advance = (ulong)(op & 0x3f) * cie.CodeAlign;
                    break;
                case 2:
                    SetOffset(ref state, (ulong)(op & 0x3f), (long)c.Uleb() * cie.DataAlign, cie);
                    continue;
                case 3:
                    Restore(ref state, initial, (ulong)(op & 0x3f), cie);
                    continue;
            }

            if (op >> 6 == 0)
            {
                switch (op)
                {
                    case 0x00: // nop
                        continue;
                    case 0x01: // set_loc
                        var to = c.Pointer(encoding);
                        advance = to > loc ? to - loc : 0;
                        break;
                    case 0x02:
                        advance = c.U8() * cie.CodeAlign;
                        break;
                    case 0x03:
                        advance = c.U16() * cie.CodeAlign;
                        break;
                    case 0x04:
                        advance = c.U32() * cie.CodeAlign;
                        break;
                    case 0x05: // offset_extended
                        SetOffset(ref state, c.Uleb(), (long)c.Uleb() * cie.DataAlign, cie);
                        continue;
                    case 0x06: // restore_extended
                        Restore(ref state, initial, c.Uleb(), cie);
                        continue;
                    case 0x07: // undefined
                        SetRule(ref state, c.Uleb(), RuleForm.Undefined, 0, cie);
                        continue;
                    case 0x08: // same_value
                        SetRule(ref state, c.Uleb(), RuleForm.SameValue, 0, cie);
                        continue;
                    case 0x09: // register
                        var reg = c.Uleb();
                        _ = c.Uleb();
                        SetRule(ref state, reg, RuleForm.Other, 0, cie);
                        continue;
                    case 0x0a: // remember_state
                        if (depth >= MaxStateStack)
                        {
                            c.Throw("DW_CFA_remember_state nested too deeply");
                        }

                        stack[depth++] = state;
                        continue;
                    case 0x0b: // restore_state
                        if (depth == 0)
                        {
                            c.Throw("DW_CFA_restore_state without remember_state");
                        }

                        state = stack[--depth];
                        continue;
                    case 0x0c: // def_cfa
                        state.Form = CfaForm.Register;
                        state.Register = c.Uleb();
                        state.Offset = (long)c.Uleb();
                        continue;
                    case 0x0d: // def_cfa_register
                        state.Form = state.Form == CfaForm.Register ? CfaForm.Register : CfaForm.Unsupported;
                        state.Register = c.Uleb();
                        continue;
                    case 0x0e: // def_cfa_offset
                        state.Offset = (long)c.Uleb();
                        continue;
                    case 0x0f: // def_cfa_expression
                        var length = checked((int)c.Uleb());
                        state.Form = Recognise(c.Bytes(length), cie, out state.Offset);
                        continue;
                    case 0x10: // expression
                        var ereg = c.Uleb();
                        _ = c.Bytes(checked((int)c.Uleb()));
                        SetRule(ref state, ereg, RuleForm.Other, 0, cie);
                        continue;
                    case 0x11: // offset_extended_sf
                        SetOffset(ref state, c.Uleb(), c.Sleb() * cie.DataAlign, cie);
                        continue;
                    case 0x12: // def_cfa_sf
                        state.Form = CfaForm.Register;
                        state.Register = c.Uleb();
                        state.Offset = c.Sleb() * cie.DataAlign;
                        continue;
                    case 0x13: // def_cfa_offset_sf
                        state.Offset = c.Sleb() * cie.DataAlign;
                        continue;
                    case 0x14: // val_offset
                        SetRule(ref state, c.Uleb(), RuleForm.Other, (long)c.Uleb(), cie);
                        continue;
                    case 0x15: // val_offset_sf
                        SetRule(ref state, c.Uleb(), RuleForm.Other, c.Sleb(), cie);
                        continue;
                    case 0x16: // val_expression
                        var vreg = c.Uleb();
                        _ = c.Bytes(checked((int)c.Uleb()));
                        SetRule(ref state, vreg, RuleForm.Other, 0, cie);
                        continue;
                    case 0x2e: // GNU_args_size
                        _ = c.Uleb();
                        continue;
                    case 0x2f: // GNU_negative_offset_extended
                        SetOffset(ref state, c.Uleb(), -(long)c.Uleb() * cie.DataAlign, cie);
                        continue;
                    default:
                        c.Throw($"unknown DW_CFA opcode 0x{op:x2}");
                        break;
                }
            }

            if (rows is not null && advance > 0 && loc < end)
            {
                rows.Add(UnwindRowBuilder.Pending.From(loc, state, cie));
            }

            loc += advance;
        }
    }

    /// <summary>The CFA expressions x86-64 code carries in practice, by their exact bytes.</summary>
    internal static CfaForm Recognise(ReadOnlySpan<byte> e, Cie cie, out long offset)
    {
        offset = 0;
        // PLT: DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_lit11|lit10; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus
        if (e.Length == 11 && e[..6].SequenceEqual((ReadOnlySpan<byte>)[0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a]) && e[7..].SequenceEqual((ReadOnlySpan<byte>)[0x2a, 0x33, 0x24, 0x22]))
        {
            return e[6] switch { 0x3b => CfaForm.Plt11, 0x3a => CfaForm.Plt10, _ => CfaForm.Unsupported };
        }

        // DW_OP_breg<N> sleb; DW_OP_deref
        if (e.Length >= 3 && e[^1] == 0x06 && (e[0] == 0x77 || e[0] == 0x76))
        {
            var c = new CfiCursor(e, 1, 0);
            var n = c.Sleb();
            if (c.Position != e.Length - 1)
            {
                return CfaForm.Unsupported;
            }

            if (e[0] == 0x77 && n == 160 && cie.IsSignalFrame)
            {
                return CfaForm.Signal; // uc_mcontext.rsp of the rt_sigframe at rsp: glibc's __restore_rt
            }

            if (e[0] == 0x76)
            {
                offset = n;
                return CfaForm.RbpDeref;
            }
        }

        return CfaForm.Unsupported;
    }

    private static void SetOffset(ref CfaState state, ulong reg, long offset, Cie cie) => SetRule(ref state, reg, RuleForm.Offset, offset, cie);

    private static void SetRule(ref CfaState state, ulong reg, RuleForm form, long offset, Cie cie)
    {
        if (reg == RegRbp)
        {
            state.Rbp = form;
            state.RbpOffset = offset;
        }
        else if (reg == cie.RaRegister)
        {
            state.Ra = form;
            state.RaOffset = offset;
        }
    }

    private static void Restore(ref CfaState state, CfaState initial, ulong reg, Cie cie)
    {
        if (reg == RegRbp)
        {
            state.Rbp = initial.Rbp;
            state.RbpOffset = initial.RbpOffset;
        }
        else if (reg == cie.RaRegister)
        {
            state.Ra = initial.Ra;
            state.RaOffset = initial.RaOffset;
        }
    }
}
