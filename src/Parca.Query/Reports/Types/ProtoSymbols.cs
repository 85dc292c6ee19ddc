using System.Globalization;
using Parca.Protocol.Metastore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;

namespace Parca.Query.Reports.Types;

/// <summary>Result symbols as the metastore messages of the protobuf reports (TOP, CALLGRAPH, FLAMEGRAPH_TABLE).</summary>
internal static class ProtoSymbols
{
    public static TopNodeMeta TopMeta(MergeResult r, int location, int line)
    {
        var (loc, mapping, function, l) = Of(r, location, line);
        return new TopNodeMeta { Location = loc, Mapping = mapping, Function = function, Line = l };
    }

    public static (Location Location, Mapping? Mapping, Function? Function, Line? Line) Of(MergeResult r, int location, int line)
    {
        var sym = r.Symbols;
        var l = sym.Locations[location];
        var loc = new Location { Id = Id(location), Address = l.Address, MappingId = l.Mapping == 0 ? "" : Id(l.Mapping) };
        Mapping? mapping = null;
        if (l.Mapping != 0)
        {
            var m = sym.Mappings[l.Mapping];
            mapping = new Mapping { Id = loc.MappingId, Start = m.Start, Limit = m.Limit, Offset = m.Offset, File = sym.String(m.File), BuildId = sym.String(m.BuildId), HasFunctions = true };
        }

        Function? function = null;
        Line? lineMessage = null;
        if (line >= 0 && line < l.LineCount)
        {
            var ln = sym.Lines[l.FirstLine + line];
            lineMessage = new Line { Line_ = ln.Line, FunctionId = Id(ln.Function) };
            if (ln.Function != 0)
            {
                var f = sym.Functions[ln.Function];
                function = new Function { Id = lineMessage.FunctionId, Name = sym.String(f.Name), SystemName = sym.String(f.SystemName), Filename = sym.String(f.FileName), StartLine = f.StartLine };
            }

            loc.Lines.Add(lineMessage);
        }

        return (loc, mapping, function, lineMessage);
    }

    public static string Id(int id) => id.ToString(CultureInfo.InvariantCulture);
}
