using Parca.Protocol.Metastore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_FLAMEGRAPH_TABLE (and the deprecated default): the trimmed frame graph as nested messages.</summary>
internal static class FlamegraphTableReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var r = c.Result;
        var g = c.Graph;
        var (kept, trimmed) = g.Trim(c.TrimThreshold);
        c.Charge(kept.Count * 4 * ReportContext.BytesPerArrowRow, $"the nested flame graph of {kept.Count:N0} nodes");
        var nodes = new FlamegraphNode?[g.Count];
        var root = new FlamegraphRootNode { Cumulative = g.Cumulative[0], Diff = g.Diff[0] };
        var height = 0;
        foreach (var n in kept)
        {
            if (n == 0)
            {
                continue;
            }

            height = Math.Max(height, g.Depth[n]);
            var (loc, mapping, function, line) = g.GroupNode[n] >= 0 ? (new Location(), null, null, null) : ProtoSymbols.Of(r, g.Location[n], g.Line[n]);
            var node = new FlamegraphNode
            {
                Meta = new FlamegraphNodeMeta { Location = loc, Mapping = mapping, Function = function, Line = line },
                Cumulative = g.Cumulative[n],
                Diff = g.Diff[n],
            };
            nodes[n] = node;
            if (g.Parent[n] == 0)
            {
                root.Children.Add(node);
            }
            else
            {
                nodes[g.Parent[n]]!.Children.Add(node);
            }
        }

        response.Flamegraph = new Flamegraph { Root = root, Unit = r.SampleUnit, Height = height + 1, Trimmed = trimmed };
    }
}
