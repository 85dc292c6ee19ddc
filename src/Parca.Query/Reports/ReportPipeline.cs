using System.Collections.Frozen;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Query.Reports.Types;
using ReportType = Parca.Protocol.Query.V1Alpha1.QueryRequest.Types.ReportType;

namespace Parca.Query.Reports;

/// <summary>
/// The one place that turns a merged result into a report: a table from report type to the builder of that type
/// (one file each under Types/). The API layer maps the request in and the response out, nothing else.
/// </summary>
public static class ReportPipeline
{
#pragma warning disable CS0612 // the deprecated default still asks for a flame graph
    private static readonly FrozenDictionary<ReportType, Action<ReportContext, QueryResponse>> s_builders =
        new Dictionary<ReportType, Action<ReportContext, QueryResponse>>
        {
            [ReportType.FlamegraphUnspecified] = FlamegraphTableReport.Build,
            [ReportType.FlamegraphTable] = FlamegraphTableReport.Build,
            [ReportType.FlamegraphArrow] = FlamegraphArrowReport.Build,
            [ReportType.Flamechart] = FlamegraphArrowReport.Build, // the merge grouped by timestamp (QueryService adds it)
            [ReportType.TableArrow] = TableArrowBuilder.Build,
            [ReportType.Top] = TopReport.Build,
            [ReportType.Callgraph] = CallgraphReport.Build,
            [ReportType.Pprof] = PprofReportBuilder.Build,
            [ReportType.ProfileMetadata] = ProfileMetadataReport.Build,
            [ReportType.Source] = SourceReport.Build,
        }.ToFrozenDictionary();
#pragma warning restore CS0612

    /// <summary>Whether a frame of the result from <paramref name="buildId"/> is in <paramref name="filename"/> (SOURCE report).</summary>
    public static bool ReferencesSource(MergeResult result, string buildId, string filename) => SourceReport.References(result, buildId, filename);

    /// <summary>Report types this server builds.</summary>
    public static IEnumerable<ReportType> Supported => s_builders.Keys;

    public static QueryResponse Build(ReportType type, MergeResult result, float trimThresholdPercent, ReportLimits limits, SourceInput? source = null) =>
        Build(type, new ReportData(result), trimThresholdPercent, limits, source);

    /// <summary>Builds a report over <paramref name="data"/>, reusing what an earlier report of the same result built.</summary>
    public static QueryResponse Build(ReportType type, ReportData data, float trimThresholdPercent, ReportLimits limits, SourceInput? source = null)
    {
        var result = data.Result;
        var build = Builder(type, trimThresholdPercent);
        var response = new QueryResponse { Total = result.Total, Filtered = result.Filtered };
        build(new ReportContext(data, trimThresholdPercent, limits) { Source = source }, response);
        return response;
    }

    /// <summary>
    /// The response of a report type that has a direct encoder (TOP), as the bytes the message of Build would
    /// serialize to; null for the other types, which are built as messages.
    /// </summary>
    public static byte[]? TryEncode(ReportType type, ReportData data, float trimThresholdPercent, ReportLimits limits)
    {
        _ = Builder(type, trimThresholdPercent);
        return type == ReportType.Top
            ? TopReport.Encode(new ReportContext(data, trimThresholdPercent, limits), data.Result.Total, data.Result.Filtered)
            : null;
    }

    private static Action<ReportContext, QueryResponse> Builder(ReportType type, float trimThresholdPercent)
    {
        if (!s_builders.TryGetValue(type, out var build))
        {
            throw new QueryException(QueryErrorKind.InvalidArgument, $"report_type {(int)type} is not supported");
        }

        if (!float.IsFinite(trimThresholdPercent) || trimThresholdPercent < 0 || trimThresholdPercent >= 100)
        {
            throw new QueryException(QueryErrorKind.InvalidArgument, $"node_trim_threshold {trimThresholdPercent} is not a percentage in [0, 100)");
        }

        return build;
    }
}
