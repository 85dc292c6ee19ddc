using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// A merged result with the structures derived from it (the frame graph, the per-function table), each built at
/// most once. Safe to share between concurrent requests: the UI asks for several reports of one selection (flame
/// graph, then table or sandwich), and a cached instance answers the later ones without merging or walking the tree
/// again. The result must not change once shared (query-time symbolization runs before).
/// </summary>
public sealed class ReportData(MergeResult result)
{
    private readonly Lock _lock = new();
    private FlameGraph? _graph;
    private TopTable? _table;

    public MergeResult Result { get; } = result;

    /// <summary>Working-set bytes this instance holds now (the estimate the memory budget uses), for a cache's bound.</summary>
    public long RetainedBytes
    {
        get
        {
            var bytes = Result.Tree.Count * ReportContext.BytesPerTreeNode;
            var graph = Volatile.Read(ref _graph);
            if (graph is not null)
            {
                bytes += graph.Count * ReportContext.BytesPerGraphNode;
            }

            var table = Volatile.Read(ref _table);
            if (table is not null)
            {
                bytes += table.Count * ReportContext.BytesPerArrowRow;
            }

            return bytes;
        }
    }

    internal FlameGraph Graph(ReportContext c)
    {
        lock (_lock)
        {
            var graph = _graph;
            if (graph is null)
            {
                var nodes = (long)Result.Tree.Count;
                c.Charge(nodes * (ReportContext.BytesPerTreeNode + ReportContext.BytesPerGraphNode), $"the frame graph of {nodes:N0} stack nodes");
                graph = FlameGraph.Build(Result);
                Volatile.Write(ref _graph, graph);
            }

            return graph;
        }
    }

    /// <param name="c">The request (its memory budget).</param>
    /// <param name="edges">The caller needs the table's edges (they are then built alongside, on a large tree).</param>
    internal TopTable Table(ReportContext c, bool edges = false)
    {
        lock (_lock)
        {
            var table = _table;
            if (table is null)
            {
                // Built from the merged tree, not the frame graph: TOP and TABLE_ARROW need no graph.
                var nodes = (long)Result.Tree.Count;
                c.Charge(nodes * ReportContext.BytesPerTreeNode, $"the per-function table of {nodes:N0} stack nodes");
                table = TopTable.Build(Result, edges);
                Volatile.Write(ref _table, table);
            }

            return table;
        }
    }
}
