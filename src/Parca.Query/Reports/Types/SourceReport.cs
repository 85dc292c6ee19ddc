using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_SOURCE: needs uploaded source archives, which this server does not keep yet (as Parca without them).</summary>
internal static class SourceReport
{
    public static void Build(ReportContext c, QueryResponse response) =>
        throw new QueryException(QueryErrorKind.NotFound, "no source archive found for this build id and file");
}
