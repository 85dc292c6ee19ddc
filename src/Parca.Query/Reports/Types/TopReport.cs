using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_TOP: one row per function from the untrimmed table, by flat then cumulative, descending.</summary>
internal static class TopReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var r = c.Result;
        var t = c.Table;
        var order = new int[t.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var flat = t.Flat;
        var cumulative = t.Cumulative;
        Array.Sort(order, (x, y) => flat[y] != flat[x] ? flat[y].CompareTo(flat[x]) : cumulative[y].CompareTo(cumulative[x]));
        var top = new Top { Unit = r.SampleUnit, Reported = t.Count };
        top.List.Capacity = t.Count;
        foreach (var i in order)
        {
            top.List.Add(new TopNode
            {
                Meta = ProtoSymbols.TopMeta(r, t.Location[i], t.Line[i]),
                Cumulative = cumulative[i],
                Flat = flat[i],
                Diff = r.IsDiff ? t.FlatDiff[i] : 0,
            });
        }

        response.Top = top;
    }
}
