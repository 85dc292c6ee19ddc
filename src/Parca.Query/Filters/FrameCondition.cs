using Parca.Storage.Symbols;

namespace Parca.Query.Filters;

/// <summary>
/// One condition of a criteria, evaluated against one location of a partition: as a whole (stack filters: any / all of
/// its lines) or line by line (frame filters hide single inlined functions).
/// </summary>
internal sealed class FrameCondition
{
    private enum Field
    {
        Function,
        System,
        Binary,
        File,
        Address,
        Line,
    }

    private readonly Field _field;
    private readonly StringCondition _s;
    private readonly NumberCondition _n;

    private FrameCondition(Field field, StringCondition s, NumberCondition n)
    {
        _field = field;
        _s = s;
        _n = n;
    }

    public bool IsNegative => _field is Field.Address or Field.Line ? _n.IsNegative : _s.IsNegative;

    public static List<FrameCondition> From(FilterCriteria c)
    {
        var list = new List<FrameCondition>();
        if (c.FunctionName is { } f)
        {
            list.Add(new(Field.Function, f, default));
        }

        if (c.SystemName is { } s)
        {
            list.Add(new(Field.System, s, default));
        }

        if (c.Binary is { } b)
        {
            list.Add(new(Field.Binary, b, default));
        }

        if (c.Filename is { } fn)
        {
            list.Add(new(Field.File, fn, default));
        }

        if (c.Address is { } a)
        {
            list.Add(new(Field.Address, default, a));
        }

        if (c.LineNumber is { } l)
        {
            list.Add(new(Field.Line, default, l));
        }

        return list;
    }

    /// <summary>Address and binary conditions hold for a location as a whole; the others for each of its lines.</summary>
    public bool IsLocationLevel => _field is Field.Address or Field.Binary;

    /// <summary>A location-level condition (<see cref="IsLocationLevel"/>) on a location.</summary>
    public bool EvaluateLocation(SymbolsView sym, in LocationSym loc)
    {
        if (_field == Field.Address)
        {
            return _n.Test(loc.Address);
        }

        var file = loc.Mapping == 0 ? "" : sym.String(sym.Mappings[loc.Mapping].File);
        return _s.Test(Path.GetFileName(file));
    }

    /// <summary>
    /// A line-level condition on one line: a line without a function fails positive string conditions and passes
    /// negative ones (as unsymbolized frames do).
    /// </summary>
    public bool EvaluateLine(SymbolsView sym, in LineSym line)
    {
        if (_field == Field.Line)
        {
            return _n.Test((ulong)line.Line);
        }

        if (line.Function == 0)
        {
            return IsNegative;
        }

        var fn = sym.Functions[line.Function];
        var text = _field switch
        {
            Field.Function => sym.String(fn.Name),
            Field.System => sym.String(fn.SystemName),
            _ => sym.String(fn.FileName),
        };
        return _s.Test(text);
    }

    /// <summary>
    /// For a positive condition: does any line of the location match. For a negative one: do all lines satisfy it.
    /// Unsymbolized locations: positive function/system/file conditions fail, negative ones pass.
    /// </summary>
    public bool Evaluate(SymbolsView sym, int locationId)
    {
        var loc = sym.Locations[locationId];
        switch (_field)
        {
            case Field.Address:
                return _n.Test(loc.Address);
            case Field.Binary:
                var file = loc.Mapping == 0 ? "" : sym.String(sym.Mappings[loc.Mapping].File);
                return _s.Test(Path.GetFileName(file));
            default:
                break;
        }

        var lines = sym.LinesOf(loc);
        if (lines.IsEmpty)
        {
            return IsNegative;
        }

        var negative = IsNegative;
        foreach (var line in lines)
        {
            bool ok;
            if (_field == Field.Line)
            {
                ok = _n.Test((ulong)line.Line);
            }
            else
            {
                if (line.Function == 0)
                {
                    ok = negative;
                }
                else
                {
                    var fn = sym.Functions[line.Function];
                    var text = _field switch
                    {
                        Field.Function => sym.String(fn.Name),
                        Field.System => sym.String(fn.SystemName),
                        _ => sym.String(fn.FileName),
                    };
                    ok = _s.Test(text);
                }
            }

            if (negative && !ok)
            {
                return false;
            }

            if (!negative && ok)
            {
                return true;
            }
        }

        return negative;
    }
}
