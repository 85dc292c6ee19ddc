using static Parca.Symbols.Dwarf.DwarfConstants;

namespace Parca.Symbols.Dwarf;

/// <summary>What an attribute's raw value means, decided by its form.</summary>
internal enum ValueKind : byte
{
    None,
    Constant,
    Address,
    AddressIndex,
    StrOffset,
    LineStrOffset,
    StrIndex,
    InlineString,
    Reference,
    SectionOffset,
    RangeListIndex,
    Unresolvable,
}

/// <summary>A decoded attribute: <see cref="Value"/> is the constant, address, index, offset or (for references) the absolute .debug_info offset.</summary>
internal readonly record struct AttributeValue(ValueKind Kind, ulong Value);

/// <summary>Reads one attribute of a DIE according to its form (DWARF 2–5 and the GNU extensions gcc and dwz emit).</summary>
internal static class Forms
{
    public static AttributeValue Read(ref DwarfCursor c, ushort form, long implicitConst, in UnitHeader unit, int depth = 0)
    {
        switch (form)
        {
            case FormAddr: return new(ValueKind.Address, c.Address(unit.AddressSize));
            case FormData1: return new(ValueKind.Constant, c.U8());
            case FormData2: return new(ValueKind.Constant, c.U16());
            case FormData4: return new(ValueKind.Constant, c.U32());
            case FormData8: return new(ValueKind.Constant, c.U64());
            case FormData16: c.Skip(16); return default;
            case FormSdata: return new(ValueKind.Constant, (ulong)c.Sleb());
            case FormUdata: return new(ValueKind.Constant, c.Uleb());
            case FormImplicitConst: return new(ValueKind.Constant, (ulong)implicitConst);
            case FormFlag: return new(ValueKind.Constant, c.U8());
            case FormFlagPresent: return new(ValueKind.Constant, 1);
            case FormString:
                {
                    var at = c.Position;
                    c.CString();
                    return new(ValueKind.InlineString, (ulong)at);
                }

            case FormStrp: return new(ValueKind.StrOffset, c.Offset(unit.OffsetSize));
            case FormLineStrp: return new(ValueKind.LineStrOffset, c.Offset(unit.OffsetSize));
            case FormStrx: case FormGnuStrIndex: return new(ValueKind.StrIndex, c.Uleb());
            case FormStrx1: return new(ValueKind.StrIndex, c.U8());
            case FormStrx2: return new(ValueKind.StrIndex, c.U16());
            case FormStrx3: return new(ValueKind.StrIndex, c.U24());
            case FormStrx4: return new(ValueKind.StrIndex, c.U32());
            case FormAddrx: case FormGnuAddrIndex: return new(ValueKind.AddressIndex, c.Uleb());
            case FormAddrx1: return new(ValueKind.AddressIndex, c.U8());
            case FormAddrx2: return new(ValueKind.AddressIndex, c.U16());
            case FormAddrx3: return new(ValueKind.AddressIndex, c.U24());
            case FormAddrx4: return new(ValueKind.AddressIndex, c.U32());
            case FormRef1: return new(ValueKind.Reference, unit.Offset + c.U8());
            case FormRef2: return new(ValueKind.Reference, unit.Offset + c.U16());
            case FormRef4: return new(ValueKind.Reference, unit.Offset + c.U32());
            case FormRef8: return new(ValueKind.Reference, unit.Offset + c.U64());
            case FormRefUdata: return new(ValueKind.Reference, unit.Offset + c.Uleb());
            case FormRefAddr: return new(ValueKind.Reference, unit.Version <= 2 ? c.Address(unit.AddressSize) : c.Offset(unit.OffsetSize));
            case FormSecOffset: return new(ValueKind.SectionOffset, c.Offset(unit.OffsetSize));
            case FormRnglistx: return new(ValueKind.RangeListIndex, c.Uleb());
            case FormLoclistx: c.Uleb(); return default;
            case FormRefSig8: c.Skip(8); return new(ValueKind.Unresolvable, 0);
            case FormRefSup4: c.Skip(4); return new(ValueKind.Unresolvable, 0);
            case FormRefSup8: c.Skip(8); return new(ValueKind.Unresolvable, 0);
            case FormStrpSup:
            case FormGnuStrpAlt:
            case FormGnuRefAlt:
                c.Skip((ulong)unit.OffsetSize);
                return new(ValueKind.Unresolvable, 0);
            case FormExprloc: case FormBlock: c.Skip(c.Uleb()); return default;
            case FormBlock1: c.Skip(c.U8()); return default;
            case FormBlock2: c.Skip(c.U16()); return default;
            case FormBlock4: c.Skip(c.U32()); return default;
            case FormIndirect:
                if (depth > 4)
                {
                    return DwarfCursor.Fail<AttributeValue>("DW_FORM_indirect chain too long");
                }

                var actual = c.Uleb();
                return Read(ref c, (ushort)Math.Min(actual, ushort.MaxValue), actual == FormImplicitConst ? c.Sleb() : 0, unit, depth + 1);
            default:
                return DwarfCursor.Fail<AttributeValue>($"unknown attribute form 0x{form:x} in unit at 0x{unit.Offset:x}");
        }
    }
}
