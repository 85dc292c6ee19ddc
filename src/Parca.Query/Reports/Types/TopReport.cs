using System.Globalization;
using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>
/// REPORT_TYPE_TOP: one row per function from the untrimmed table, by flat then cumulative, descending. A list that
/// would not fit the message limit stops at the last row that fits, and says so (trim_reason, trimmed).
/// </summary>
internal static class TopReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var r = c.Result;
        var t = c.Table;
        c.Charge(t.Count * 4 * ReportContext.BytesPerArrowRow, $"the top list of {t.Count:N0} functions");
        var order = new int[t.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var flat = t.Flat;
        var cumulative = t.Cumulative;
        Array.Sort(order, (x, y) => flat[y] != flat[x] ? flat[y].CompareTo(flat[x]) : cumulative[y].CompareTo(cumulative[x]));
        var top = new Top { Unit = r.SampleUnit, TotalRows = t.Count };
        top.List.Capacity = t.Count;
        var limit = c.Limits.ReportBytes - top.CalculateSize();
        long size = 0, trimmed = 0;
        foreach (var i in order)
        {
            if (size > limit)
            {
                trimmed += flat[i];
                continue;
            }

            var node = new TopNode
            {
                Meta = ProtoSymbols.TopMeta(r, t.Location[i], t.Line[i]),
                Cumulative = cumulative[i],
                Flat = flat[i],
                Diff = r.IsDiff ? t.FlatDiff[i] : 0,
            };
            var rowSize = 1 + CodedOutputStream.ComputeMessageSize(node); // tag of field 1 + length + message
            if (size + rowSize > limit)
            {
                size = long.MaxValue; // the rest is left out, so the list stays in order
                trimmed += flat[i];
                continue;
            }

            size += rowSize;
            top.List.Add(node);
        }

        top.Reported = top.List.Count;
        top.Trimmed = trimmed;
        if (top.List.Count < t.Count)
        {
            top.TrimReason = string.Create(CultureInfo.InvariantCulture,
                $"the top list of {t.Count:N0} functions does not fit the {c.Limits.MessageLimitText} message limit: the {top.List.Count:N0} with the highest flat values are listed");
        }

        response.Top = top;
    }
}
