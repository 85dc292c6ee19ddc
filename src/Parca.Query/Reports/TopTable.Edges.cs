using System.Buffers;
using System.Runtime.CompilerServices;

namespace Parca.Query.Reports;

/// <summary>
/// Caller → callee edges between rows: a frame's cumulative value flows from the row of the frame above it into its
/// own (frames under the root or a label group have no caller; a row calling itself is no edge), summed over the
/// tree's nodes (the same sums as over the frame graph's: a graph node's value is that of the tree nodes it merges).
/// Built once, on the first read, without hashing: candidate edges are bucketed by caller (a counting sort), each caller's callees
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

    /// <summary>Every row's callers as one list: row i's are Rows[Start[i]..Start[i + 1]] (the Arrow list layout).</summary>
    internal (int[] Start, int[] Rows) CallerLists => (Edges.CallerStart, Edges.Callers);

    /// <summary>Every row's callees as one list, as <see cref="CallerLists"/>.</summary>
    internal (int[] Start, int[] Rows) CalleeLists => (Edges.CalleeStart, Edges.Callees);

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

    /// <summary>
    /// Every pair of adjacent frames of the tree, in tree order, as (caller row, callee row, the callee node's subtree
    /// sum): without <paramref name="fill"/> counted into <c>start[caller + 1]</c>, with it stored into the caller's
    /// bucket (<paramref name="start"/> then holds the buckets' starts, <paramref name="fill"/> how much of each is used).
    /// Frames under the root or a label group have no caller, and a row calling itself is no edge.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    private void Calls(long[] cumulative, int[] start, int[]? fill, int[] callees, long[] values)
    {
        var tree = _result.Tree;
        var parents = tree.Parent;
        var locations = tree.Location;
        var (rowStart, rows) = (_locationRowStart, _locationRows);
        for (var n = 1; n < tree.Count; n++)
        {
            var loc = locations[n];
            if (loc == 0)
            {
                continue; // a label group
            }

            var parentLocation = locations[parents[n]];
            var caller = parentLocation == 0 ? -1 : rows[rowStart[parentLocation + 1] - 1]; // the parent's innermost
            for (var j = rowStart[loc]; j < rowStart[loc + 1]; j++)
            {
                var callee = rows[j];
                if (caller >= 0 && caller != callee)
                {
                    if (fill is null)
                    {
                        start[caller + 1]++;
                    }
                    else
                    {
                        var at = start[caller] + fill[caller]++;
                        callees[at] = callee;
                        values[at] = cumulative[n];
                    }
                }

                caller = callee;
            }
        }
    }

    private sealed record EdgeLists(int[] CalleeStart, int[] Callees, long[] Values, int[] CallerStart, int[] Callers);

    private EdgeLists BuildEdges()
    {
        var tree = _result.Tree;
        var cumulative = ArrayPool<long>.Shared.Rent(tree.Count);
        try
        {
            SubtreeSums(tree.Parent, tree.Value, cumulative);
            return BuildEdges(cumulative);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(cumulative);
        }
    }

    /// <param name="cumulative">Each tree node's subtree sum.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    private EdgeLists BuildEdges(long[] cumulative)
    {
        var rows = Count;

        // Bucket every (caller, callee, value) by caller: a frame calls the next inner line of its location, a
        // location's outermost line is called by its parent node's innermost.
        var calleeStart = new int[rows + 1];
        Calls(cumulative, calleeStart, null, [], []);
        for (var r = 0; r < rows; r++)
        {
            calleeStart[r + 1] += calleeStart[r];
        }

        var callees = new int[calleeStart[rows]];
        var values = new long[callees.Length];
        var fill = new int[rows];
        Calls(cumulative, calleeStart, fill, callees, values);

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
