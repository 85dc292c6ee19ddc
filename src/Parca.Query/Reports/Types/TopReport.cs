using System.Globalization;
using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>
/// REPORT_TYPE_TOP: one row per function from the untrimmed table, by flat then cumulative, descending. A list that
/// would not fit the message limit stops at the last row that fits, and says so (trim_reason, trimmed). The rows are
/// chosen once (<see cref="Select"/>, sizes from <see cref="TopEncoder"/>); the response is then either built as
/// messages or written as bytes straight from the table (what the server sends: 8,000 rows of nested messages cost
/// more to build and serialize than the whole table does to compute).
/// </summary>
internal static class TopReport
{
    public static void Build(ReportContext c, QueryResponse response) => response.Top = Select(c).ToMessage();

    /// <summary>The whole QueryResponse, encoded: the same bytes as <see cref="Build"/>'s response serialized.</summary>
    public static byte[] Encode(ReportContext c, long total, long filtered) => Select(c).Encode(total, filtered);

    private static TopEncoder Select(ReportContext c)
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
        var encoder = new TopEncoder(r, t, order);
        var limit = c.Limits.ReportBytes - new Top { Unit = r.SampleUnit, TotalRows = t.Count }.CalculateSize();
        long size = 0, trimmed = 0;
        var kept = 0;
        foreach (var i in order)
        {
            var rowSize = size > limit ? 0 : encoder.RowSize(i);
            if (size > limit || size + rowSize > limit)
            {
                size = long.MaxValue; // the rest is left out, so the list stays in order
                trimmed += flat[i];
                continue;
            }

            size += rowSize;
            kept++;
        }

        encoder.Kept = kept;
        encoder.Trimmed = trimmed;
        if (kept < t.Count)
        {
            encoder.TrimReason = string.Create(CultureInfo.InvariantCulture,
                $"the top list of {t.Count:N0} functions does not fit the {c.Limits.MessageLimitText} message limit: the {kept:N0} with the highest flat values are listed");
        }

        return encoder;
    }
}
