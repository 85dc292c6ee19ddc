namespace Parca.Symbols.Cfi;

/// <summary>
/// Turns the rows of every FDE into one sorted table: rows sorted by pc, a row that starts a function wins over
/// the end-of-function gap marker of the function before it, and consecutive rows with the same rule are merged.
/// </summary>
internal static class UnwindRowBuilder
{
    /// <summary>A row before sorting: its pc (64-bit until checked), the rule, and whether it marks a gap.</summary>
    internal readonly record struct Pending(ulong Pc, UnwindRow Row, bool Gap)
    {
        public static Pending Marker(ulong pc) => new(pc, new UnwindRow(0, CfaRule.Invalid, RbpRule.Unchanged, 0, 0), true);

        public static Pending From(ulong pc, in CfaState s, Cie cie)
        {
            var rbp = s.Rbp == RuleForm.Offset && s.RbpOffset is >= short.MinValue and <= short.MaxValue ? RbpRule.CfaOffset : RbpRule.Unchanged;
            var rbpOffset = rbp == RbpRule.CfaOffset ? (short)s.RbpOffset : (short)0;
            if (s.Ra == RuleForm.Undefined)
            {
                return new(pc, new UnwindRow(0, CfaRule.End, RbpRule.Unchanged, 0, 0), false);
            }

            var cfa = s.Form switch
            {
                CfaForm.Register when s.Register == 7 => CfaRule.Rsp,
                CfaForm.Register when s.Register == 6 => CfaRule.Rbp,
                CfaForm.Plt11 => CfaRule.Plt11,
                CfaForm.Plt10 => CfaRule.Plt10,
                CfaForm.Signal => CfaRule.Signal,
                CfaForm.RbpDeref => CfaRule.RbpDeref,
                _ => CfaRule.Invalid,
            };
            // The BPF unwinder reads the return address at CFA - 8, the x86-64 convention; anything else it cannot follow.
            var raOk = cfa == CfaRule.Signal || (s.Ra == RuleForm.Offset && s.RaOffset == -8) || (s.Ra == RuleForm.SameValue && cie.RaRegister == 16);
            if (!raOk || s.Offset is < int.MinValue or > int.MaxValue)
            {
                cfa = CfaRule.Invalid;
            }

            var offset = cfa is CfaRule.Rsp or CfaRule.Rbp or CfaRule.RbpDeref ? (int)s.Offset : 0;
            return new(pc, new UnwindRow(0, cfa, cfa == CfaRule.Invalid ? RbpRule.Unchanged : rbp, cfa == CfaRule.Invalid ? (short)0 : rbpOffset, offset), false);
        }
    }

    /// <summary>Sorts and compacts; throws <see cref="InvalidDataException"/> when a pc does not fit the 32-bit row.</summary>
    public static UnwindRow[] Build(List<Pending> rows)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        var items = rows.ToArray();
        var order = new long[items.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // Stable by construction: equal pcs keep their input order except that gap markers go first, so a
        // function's first row (or a later row of the same FDE at the same pc) is the one that stays.
        Array.Sort(order, (a, b) =>
        {
            var x = items[a];
            var y = items[b];
            var c = x.Pc.CompareTo(y.Pc);
            if (c != 0)
            {
                return c;
            }

            c = y.Gap.CompareTo(x.Gap);
            return c != 0 ? c : a.CompareTo(b);
        });

        var result = new List<UnwindRow>(items.Length);
        for (var k = 0; k < order.Length; k++)
        {
            var p = items[order[k]];
            if (k + 1 < order.Length && items[order[k + 1]].Pc == p.Pc)
            {
                continue; // a later row at the same pc wins
            }

            if (p.Pc > uint.MaxValue)
            {
                throw new InvalidDataException($"code at 0x{p.Pc:x}: unwind rows hold 32-bit addresses");
            }

            var row = p.Row with { Pc = (uint)p.Pc };
            if (result.Count > 0 && result[^1].SameRule(row))
            {
                continue;
            }

            if (result.Count == 0 && row.Cfa == CfaRule.Invalid)
            {
                continue;
            }

            result.Add(row);
        }

        return [.. result];
    }
}
