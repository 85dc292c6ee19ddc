using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_CALLGRAPH: the per-function table's rows as nodes, caller → callee edges with their values.</summary>
internal static class CallgraphReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var r = c.Result;
        var t = c.Table;
        var cg = new Callgraph();
        for (var i = 0; i < t.Count; i++)
        {
            var (loc, mapping, function, line) = ProtoSymbols.Of(r, t.Location[i], t.Line[i]);
            cg.Nodes.Add(new CallgraphNode
            {
                Id = ProtoSymbols.Id(i),
                Meta = new CallgraphNodeMeta { Location = loc, Mapping = mapping, Function = function, Line = line },
                Cumulative = t.Cumulative[i],
                Flat = t.Flat[i],
            });
        }

        foreach (var ((caller, callee), value) in t.EdgeValues())
        {
            cg.Edges.Add(new CallgraphEdge
            {
                Id = $"{caller}-{callee}",
                Source = ProtoSymbols.Id(caller),
                Target = ProtoSymbols.Id(callee),
                Cumulative = value,
            });
        }

        response.Callgraph = cg;
    }
}
