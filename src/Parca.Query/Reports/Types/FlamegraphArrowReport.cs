using System.Globalization;
using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Arrow;

namespace Parca.Query.Reports.Types;

/// <summary>
/// REPORT_TYPE_FLAMEGRAPH_ARROW: the frame graph trimmed at the requested threshold. A graph that would not fit the
/// message limit is trimmed further, to the threshold that keeps the heaviest nodes that fit, and the response says
/// so (applied_trim_threshold, trim_reason) instead of failing in the transport.
/// </summary>
internal static class FlamegraphArrowReport
{
    // Encoded bytes per row seen on large profiles (82 B at 425k nodes, 85 B at 1M): used to trim before encoding
    // rather than after a record that is too large has been built.
    private const int EstimatedBytesPerRow = 90;

    public static void Build(ReportContext c, QueryResponse response)
    {
        var g = c.Graph;
        var threshold = c.TrimThreshold;
        var (kept, trimmed) = g.Trim(threshold);
        var limit = c.Limits.ReportBytes;
        var reason = "";
        if ((long)kept.Count * EstimatedBytesPerRow > limit)
        {
            (threshold, kept, trimmed) = Fit(g, limit / EstimatedBytesPerRow);
            reason = Reason(g.Count, threshold, c.Limits);
        }

        c.Charge(c.Result.Tree.Count * (ReportContext.BytesPerTreeNode + ReportContext.BytesPerGraphNode) + (kept.Count * ReportContext.BytesPerArrowRow),
            $"the flame graph of {kept.Count:N0} nodes");
        var (record, height) = FlameGraphArrow.Build(g, kept);
        while (record.Length > limit && kept.Count > 1)
        {
            (threshold, kept, trimmed) = Fit(g, (int)(kept.Count * (limit / (double)record.Length) * 0.9));
            reason = Reason(g.Count, threshold, c.Limits);
            (record, height) = FlameGraphArrow.Build(g, kept);
        }

        response.FlamegraphArrow = new FlamegraphArrow
        {
            Record = UnsafeByteOperations.UnsafeWrap(record),
            Unit = c.Result.SampleUnit,
            Height = height,
            Trimmed = trimmed,
            AppliedTrimThreshold = threshold,
            TrimReason = reason,
            TotalNodes = g.Count,
            KeptNodes = kept.Count,
        };
    }

    private static (float Threshold, List<int> Kept, long Trimmed) Fit(FlameGraph g, int maxNodes)
    {
        var threshold = g.ThresholdKeeping(Math.Max(1, maxNodes));
        var (kept, trimmed) = g.Trim(threshold);
        return (threshold, kept, trimmed);
    }

    private static string Reason(int nodes, float threshold, ReportLimits limits) => string.Create(CultureInfo.InvariantCulture,
        $"the flame graph of {nodes:N0} nodes does not fit the {limits.MessageLimitText} message limit: nodes under {threshold:0.####}% of the total were trimmed to fit");
}
