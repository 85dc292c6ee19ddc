using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_PPROF: the merged profile as gzipped pprof (never trimmed: it is the data itself).</summary>
internal static class PprofReportBuilder
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        c.Charge(c.Result.Tree.Count * ReportContext.BytesPerTreeNode, $"the pprof of {c.Result.Tree.Count:N0} stack nodes");
        response.Pprof = UnsafeByteOperations.UnsafeWrap(PprofReport.Build(c.Result));
    }
}
