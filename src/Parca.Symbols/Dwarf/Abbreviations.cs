namespace Parca.Symbols.Dwarf;

/// <summary>One attribute specification of an abbreviation: DW_AT_*, DW_FORM_* and the value of DW_FORM_implicit_const.</summary>
internal readonly record struct AttributeSpec(ushort Name, ushort Form, long ImplicitConst);

/// <summary>A DIE shape: its tag, whether children follow, and its attributes in order.</summary>
internal sealed record Abbreviation(ushort Tag, bool HasChildren, AttributeSpec[] Attributes);

/// <summary>
/// An abbreviation table of .debug_abbrev. Codes are usually dense from 1, so they index an array; sparse codes
/// (rare) fall back to a dictionary.
/// </summary>
internal sealed class Abbreviations
{
    private readonly Abbreviation?[] _dense;
    private readonly Dictionary<ulong, Abbreviation>? _sparse;

    private Abbreviations(Abbreviation?[] dense, Dictionary<ulong, Abbreviation>? sparse)
    {
        _dense = dense;
        _sparse = sparse;
    }

    public Abbreviation Get(ulong code)
    {
        if (code < (ulong)_dense.Length && _dense[code] is { } a)
        {
            return a;
        }

        if (_sparse is not null && _sparse.TryGetValue(code, out var s))
        {
            return s;
        }

        return DwarfCursor.Fail<Abbreviation>($"abbreviation code {code} not in its table");
    }

    public static Abbreviations Parse(ReadOnlySpan<byte> section, ulong offset)
    {
        if (offset >= (ulong)section.Length)
        {
            return DwarfCursor.Fail<Abbreviations>($"abbreviation table offset {offset} outside .debug_abbrev ({section.Length} bytes)");
        }

        var c = new DwarfCursor(section, (int)offset);
        var list = new List<(ulong Code, Abbreviation A)>();
        var attrs = new List<AttributeSpec>();
        ulong max = 0;
        while (true)
        {
            var code = c.Uleb();
            if (code == 0)
            {
                break;
            }

            var tag = c.Uleb();
            var children = c.U8() != 0;
            attrs.Clear();
            while (true)
            {
                var name = c.Uleb();
                var form = c.Uleb();
                if (name == 0 && form == 0)
                {
                    break;
                }

                var implicitConst = form == DwarfConstants.FormImplicitConst ? c.Sleb() : 0;
                attrs.Add(new AttributeSpec((ushort)Math.Min(name, ushort.MaxValue), (ushort)Math.Min(form, ushort.MaxValue), implicitConst));
            }

            list.Add((code, new Abbreviation((ushort)Math.Min(tag, ushort.MaxValue), children, [.. attrs])));
            max = Math.Max(max, code);
        }

        if (max < 65536 && max <= (ulong)list.Count * 4 + 16)
        {
            var dense = new Abbreviation?[max + 1];
            foreach (var (code, a) in list)
            {
                dense[code] = a;
            }

            return new Abbreviations(dense, null);
        }

        var sparse = new Dictionary<ulong, Abbreviation>();
        foreach (var (code, a) in list)
        {
            sparse[code] = a;
        }

        return new Abbreviations([], sparse);
    }
}
