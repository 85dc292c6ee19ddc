using System.Globalization;
using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>
/// REPORT_TYPE_CALLGRAPH: the per-function table's rows as nodes, caller → callee edges with their values. A graph
/// that would not fit the message limit keeps its heaviest functions (by cumulative) with the edges between them,
/// and says so (trim_reason, kept_nodes).
/// </summary>
internal static class CallgraphReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var t = c.TableWithEdges;
        c.Charge(t.Count * 4 * ReportContext.BytesPerArrowRow, $"the call graph of {t.Count:N0} functions");
        var order = new int[t.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var cumulative = t.Cumulative;
        Array.Sort(order, (x, y) => cumulative[y] != cumulative[x] ? cumulative[y].CompareTo(cumulative[x]) : x.CompareTo(y));
        var limit = c.Limits.ReportBytes;
        var keep = t.Count;
        var cg = Graph(c, order, keep);
        // Message size is not linear in nodes (edges grow faster), so shrink by the measured ratio until it fits.
        for (var size = cg.CalculateSize(); size > limit && keep > 1; size = cg.CalculateSize())
        {
            keep = Math.Max(1, Math.Min(keep - 1, (int)(keep * (limit / (double)size) * 0.9)));
            cg = Graph(c, order, keep);
        }

        cg.TotalNodes = t.Count;
        cg.KeptNodes = keep;
        if (keep < t.Count)
        {
            cg.TrimReason = string.Create(CultureInfo.InvariantCulture,
                $"the call graph of {t.Count:N0} functions does not fit the {c.Limits.MessageLimitText} message limit: the {keep:N0} with the highest cumulative values are shown");
        }

        response.Callgraph = cg;
    }

    /// <summary>The first <paramref name="keep"/> rows of <paramref name="order"/> and the edges between them, in row order.</summary>
    private static Callgraph Graph(ReportContext c, int[] order, int keep)
    {
        var r = c.Result;
        var t = c.Table;
        var kept = new bool[t.Count];
        for (var k = 0; k < keep; k++)
        {
            kept[order[k]] = true;
        }

        var cg = new Callgraph();
        for (var i = 0; i < t.Count; i++)
        {
            if (!kept[i])
            {
                continue;
            }

            var (loc, mapping, function, line) = ProtoSymbols.Of(r, t.Location[i], t.Line[i]);
            cg.Nodes.Add(new CallgraphNode
            {
                Id = ProtoSymbols.Id(i),
                Meta = new CallgraphNodeMeta { Location = loc, Mapping = mapping, Function = function, Line = line },
                Cumulative = t.Cumulative[i],
                Flat = t.Flat[i],
            });
        }

        for (var caller = 0; caller < t.Count; caller++)
        {
            if (!kept[caller])
            {
                continue;
            }

            var callees = t.Callees(caller);
            var values = t.CalleeValues(caller);
            for (var k = 0; k < callees.Length; k++)
            {
                var callee = callees[k];
                if (!kept[callee])
                {
                    continue;
                }

                cg.Edges.Add(new CallgraphEdge
                {
                    Id = string.Create(CultureInfo.InvariantCulture, $"{caller}-{callee}"),
                    Source = ProtoSymbols.Id(caller),
                    Target = ProtoSymbols.Id(callee),
                    Cumulative = values[k],
                });
            }
        }

        return cg;
    }
}
