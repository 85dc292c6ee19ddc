using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Arrow;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_TABLE_ARROW: the per-function table (untrimmed totals, whatever the trim threshold) as Arrow.</summary>
internal static class TableArrowBuilder
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var t = c.TableWithEdges;
        c.Charge((c.Result.Tree.Count * ReportContext.BytesPerTreeNode) + (t.Count * ReportContext.BytesPerArrowRow),
            $"the table of {t.Count:N0} functions");
        response.TableArrow = new TableArrow { Record = UnsafeByteOperations.UnsafeWrap(TableArrowReport.Build(t, c.Result)), Unit = c.Result.SampleUnit };
    }
}
