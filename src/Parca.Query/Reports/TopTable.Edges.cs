namespace Parca.Query.Reports;

/// <summary>
/// Caller → callee edges between rows: a graph node's cumulative value flows from its parent's row into its own
/// (parents that are the root or a label group call nothing; a row calling itself is no edge). Built once, on the
/// first read, without hashing: candidate edges are bucketed by caller (a counting sort), each caller's callees
/// deduplicated with a per-row stamp and sorted.
/// </summary>
public sealed partial class TopTable
{
    private readonly Lock _edgesLock = new();
    private EdgeLists? _edges;

    /// <summary>Distinct caller rows of a row, ascending.</summary>
    public ReadOnlySpan<int> Callers(int row) => Edges.Callers.AsSpan(Edges.CallerStart[row], Edges.CallerStart[row + 1] - Edges.CallerStart[row]);

    /// <summary>Distinct callee rows of a row, ascending.</summary>
    public ReadOnlySpan<int> Callees(int row) => Edges.Callees.AsSpan(Edges.CalleeStart[row], Edges.CalleeStart[row + 1] - Edges.CalleeStart[row]);

    /// <summary>The value flowing from a row into each of its <see cref="Callees"/>, in the same order (for CALLGRAPH).</summary>
    public ReadOnlySpan<long> CalleeValues(int row) => Edges.Values.AsSpan(Edges.CalleeStart[row], Edges.CalleeStart[row + 1] - Edges.CalleeStart[row]);

    private EdgeLists Edges
    {
        get
        {
            var edges = Volatile.Read(ref _edges);
            if (edges is null)
            {
                lock (_edgesLock)
                {
                    edges = _edges ??= BuildEdges();
                }
            }

            return edges;
        }
    }

    private sealed record EdgeLists(int[] CalleeStart, int[] Callees, long[] Values, int[] CallerStart, int[] Callers);

    private EdgeLists BuildEdges()
    {
        var g = _graph;
        var rows = Count;
        var frames = g.Frame;
        var parents = g.Parent;

        // Bucket every (caller, callee, value) by caller.
        var calleeStart = new int[rows + 1];
        for (var n = 1; n < g.Count; n++)
        {
            var (caller, callee) = (frames[parents[n]], frames[n]);
            if (caller >= 0 && callee >= 0 && caller != callee)
            {
                calleeStart[caller + 1]++;
            }
        }

        for (var r = 0; r < rows; r++)
        {
            calleeStart[r + 1] += calleeStart[r];
        }

        var callees = new int[calleeStart[rows]];
        var values = new long[callees.Length];
        var fill = new int[rows];
        for (var n = 1; n < g.Count; n++)
        {
            var (caller, callee) = (frames[parents[n]], frames[n]);
            if (caller >= 0 && callee >= 0 && caller != callee)
            {
                var at = calleeStart[caller] + fill[caller]++;
                callees[at] = callee;
                values[at] = g.Cumulative[n];
            }
        }

        // Per caller: merge repeated callees (stamp = caller + 1 marks "seen in this caller's bucket"), compacting in
        // place (the write position never passes the read position), then sort the bucket by callee.
        var stamp = fill; // reused: every entry is overwritten before it is compared
        Array.Clear(stamp);
        var slot = new int[rows];
        var callerCount = new int[rows + 1];
        var w = 0;
        for (var caller = 0; caller < rows; caller++)
        {
            var (from, to) = (calleeStart[caller], calleeStart[caller + 1]);
            calleeStart[caller] = w;
            for (var j = from; j < to; j++)
            {
                var callee = callees[j];
                if (stamp[callee] == caller + 1)
                {
                    values[slot[callee]] += values[j];
                    continue;
                }

                stamp[callee] = caller + 1;
                slot[callee] = w;
                callees[w] = callee;
                values[w++] = values[j];
                callerCount[callee + 1]++;
            }

            callees.AsSpan(calleeStart[caller], w - calleeStart[caller]).Sort(values.AsSpan(calleeStart[caller], w - calleeStart[caller]));
        }

        calleeStart[rows] = w;
        Array.Resize(ref callees, w);
        Array.Resize(ref values, w);

        // Callers of each row: walking callers in ascending order fills each row's list ascending.
        for (var r = 0; r < rows; r++)
        {
            callerCount[r + 1] += callerCount[r];
        }

        var callers = new int[w];
        Array.Clear(fill);
        for (var caller = 0; caller < rows; caller++)
        {
            for (var j = calleeStart[caller]; j < calleeStart[caller + 1]; j++)
            {
                var callee = callees[j];
                callers[callerCount[callee] + fill[callee]++] = caller;
            }
        }

        return new EdgeLists(calleeStart, callees, values, callerCount, callers);
    }
}
