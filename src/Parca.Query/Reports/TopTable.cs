using System.Buffers;
using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// Per-function flat and cumulative values (TOP, TABLE_ARROW, CALLGRAPH), untrimmed, computed from the merged call
/// tree itself: a row per frame identity (the key flame-graph siblings merge on: function name, or address when
/// unsymbolized, plus the group-by fields), numbered in the order the frame graph would number them (tree nodes in
/// id order, each location's lines outermost first), so the rows, their order and every value equal those of a table
/// taken from <see cref="FlameGraph"/>, without building the graph (a node per location line, 17–77 ms and 24–37 MB
/// on the 425k-node profile of bench/README.md). Cumulative counts a stack once per function even under recursion
/// (one depth-first pass); the caller/callee edges only TABLE_ARROW and CALLGRAPH read are built on first use (see
/// TopTable.Edges.cs), so TOP does not pay for them.
/// </summary>
public sealed partial class TopTable
{
    // Below this many tree nodes a second thread costs more than the edges do.
    private const int ParallelNodes = 64 * 1024;

    private readonly MergeResult _result;
    private readonly FrameIdentities _frames;

    private TopTable(MergeResult r, FrameIdentities frames, List<int> location, List<int> line)
    {
        _result = r;
        _frames = frames;
        var rows = frames.Count;
        Location = [.. location];
        Line = [.. line];
        Flat = new long[rows];
        Cumulative = new long[rows];
        FlatDiff = new long[rows];
        CumulativeDiff = new long[rows];
    }

    /// <summary>Result location and line index of each row (those of the row's first frame in tree order).</summary>
    public int[] Location { get; }
    public int[] Line { get; }
    public long[] Flat { get; }
    public long[] FlatDiff { get; }
    public long[] Cumulative { get; }
    public long[] CumulativeDiff { get; }

    public int Count => Location.Length;

    /// <param name="r">The merged result.</param>
    /// <param name="withEdges">
    /// Build the caller/callee edges too (TABLE_ARROW, CALLGRAPH): on a large tree alongside the cumulative values,
    /// on the other core (both only read the tree and the numbered rows).
    /// </param>
    public static TopTable Build(MergeResult r, bool withEdges = false)
    {
        var t = NumberRows(r);
        var tree = r.Tree;
        var cumulative = ArrayPool<long>.Shared.Rent(tree.Count);
        var cumulativeBase = r.IsDiff ? ArrayPool<long>.Shared.Rent(tree.Count) : null;
        try
        {
            SubtreeSums(tree.Parent, tree.Value, cumulative);
            if (cumulativeBase is not null)
            {
                SubtreeSums(tree.Parent, tree.Base, cumulativeBase);
            }

            if (withEdges && tree.Count >= ParallelNodes)
            {
                Parallel.Invoke(() => t.Sum(cumulative, cumulativeBase), () => t._edges = t.BuildEdges(cumulative));
            }
            else
            {
                t.Sum(cumulative, cumulativeBase);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(cumulative);
            if (cumulativeBase is not null)
            {
                ArrayPool<long>.Shared.Return(cumulativeBase);
            }
        }

        if (r.IsDiff)
        {
            // The diff columns held A's exact sums: each diff is rounded once, from exact totals.
            for (var row = 0; row < t.Count; row++)
            {
                t.FlatDiff[row] = r.DiffOf(t.Flat[row], t.FlatDiff[row]);
                t.CumulativeDiff[row] = r.DiffOf(t.Cumulative[row], t.CumulativeDiff[row]);
            }
        }

        return t;
    }

    /// <summary>
    /// Interns every frame of the tree in the frame graph's order (node by node, outermost line first); a row's
    /// location and line are those of its first frame.
    /// </summary>
    private static TopTable NumberRows(MergeResult r)
    {
        var tree = r.Tree;
        var sym = r.Symbols;
        var locations = tree.Location;
        var frames = new FrameIdentities(r);
        var location = new List<int>();
        var line = new List<int>();
        for (var n = 1; n < tree.Count; n++)
        {
            if (tree.IsGroupRoot(n))
            {
                continue;
            }

            var loc = locations[n];
            var lineCount = sym.Locations[loc].LineCount;
            if (lineCount == 0)
            {
                if (frames.OfLocation(loc) == location.Count)
                {
                    location.Add(loc);
                    line.Add(-1);
                }

                continue;
            }

            for (var k = lineCount - 1; k >= 0; k--)
            {
                if (frames.OfLine(loc, k) == location.Count)
                {
                    location.Add(loc);
                    line.Add(k);
                }
            }
        }

        return new TopTable(r, frames, location, line);
    }

    /// <summary>Each node's value plus its descendants' (parents have smaller ids than children: one backward pass).</summary>
    private static void SubtreeSums(ReadOnlySpan<int> parents, ReadOnlySpan<long> values, long[] sums)
    {
        values.CopyTo(sums);
        for (var i = values.Length - 1; i > 0; i--)
        {
            sums[parents[i]] += sums[i];
        }
    }

    /// <summary>
    /// Flat: a node's value goes to the row of its innermost line. Cumulative: each frame of a node adds the node's
    /// subtree sum to its row unless the row is already on the path above it (recursion, also between the inlined
    /// lines of one location): a depth-first walk counting how often each row is on the current path.
    /// </summary>
    private void Sum(long[] cumulative, long[]? cumulativeBase)
    {
        var tree = _result.Tree;
        var n = tree.Count;
        var values = tree.Value;
        var bases = tree.Base;
        var (childStart, children) = ChildLists(tree.Parent);
        var onPath = ArrayPool<int>.Shared.Rent(Count);
        var stack = ArrayPool<int>.Shared.Rent(n + 1); // pending nodes, and ~node as "leave node" markers: at most n live
        try
        {
            onPath.AsSpan(0, Count).Clear();
            var sp = 0;
            for (var k = childStart[1] - 1; k >= childStart[0]; k--)
            {
                stack[sp++] = children[k];
            }

            while (sp > 0)
            {
                var item = stack[--sp];
                if (item < 0)
                {
                    Leave(~item, onPath);
                    continue;
                }

                var hasChildren = childStart[item + 1] > childStart[item];
                if (!tree.IsGroupRoot(item))
                {
                    var row = Enter(item, hasChildren, onPath, cumulative[item], cumulativeBase is null ? 0 : cumulativeBase[item]);
                    Flat[row] += values[item];
                    if (cumulativeBase is not null)
                    {
                        FlatDiff[row] += bases[item]; // A's value until Build rounds the diffs
                    }

                    if (!hasChildren)
                    {
                        continue;
                    }

                    stack[sp++] = ~item;
                }

                for (var k = childStart[item + 1] - 1; k >= childStart[item]; k--)
                {
                    stack[sp++] = children[k];
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(onPath);
            ArrayPool<int>.Shared.Return(stack);
            ArrayPool<int>.Shared.Return(childStart);
            ArrayPool<int>.Shared.Return(children);
        }
    }

    /// <summary>
    /// Adds a node's subtree sums to the rows of its frames not yet on the path and puts them on it (the innermost
    /// only when the node has children: nothing else reads it); returns the innermost frame's row.
    /// </summary>
    private int Enter(int node, bool hasChildren, int[] onPath, long cumulative, long cumulativeBase)
    {
        var loc = _result.Tree.Location[node];
        var lineCount = _result.Symbols.Locations[loc].LineCount;
        var row = -1;
        for (var k = Math.Max(lineCount, 1) - 1; k >= 0; k--)
        {
            row = lineCount == 0 ? _frames.OfLocation(loc) : _frames.OfLine(loc, k);
            if (onPath[row] == 0)
            {
                Cumulative[row] += cumulative;
                CumulativeDiff[row] += cumulativeBase; // A's value until Build rounds the diffs (0 unless a diff)
            }

            if (k > 0 || hasChildren)
            {
                onPath[row]++;
            }
        }

        if (!hasChildren)
        {
            // A leaf is not left later: its outer lines come off the path now (they only mattered to its inner ones).
            for (var k = 1; k < lineCount; k++)
            {
                onPath[_frames.OfLine(loc, k)]--;
            }
        }

        return row;
    }

    /// <summary>Takes the frames <see cref="Enter"/> put on the path (every one: the node has children) off it.</summary>
    private void Leave(int node, int[] onPath)
    {
        var loc = _result.Tree.Location[node];
        var lineCount = _result.Symbols.Locations[loc].LineCount;
        if (lineCount == 0)
        {
            onPath[_frames.OfLocation(loc)]--;
            return;
        }

        for (var k = 0; k < lineCount; k++)
        {
            onPath[_frames.OfLine(loc, k)]--;
        }
    }

    /// <summary>
    /// Children of every tree node as one pooled array (CSR): node i's are children[start[i]..start[i + 1]]. Both
    /// arrays come from <see cref="ArrayPool{T}.Shared"/>; the caller returns them.
    /// </summary>
    private static (int[] Start, int[] Children) ChildLists(ReadOnlySpan<int> parents)
    {
        var n = parents.Length;
        var start = ArrayPool<int>.Shared.Rent(n + 1);
        var fill = ArrayPool<int>.Shared.Rent(n);
        var children = ArrayPool<int>.Shared.Rent(Math.Max(1, n - 1));
        try
        {
            start.AsSpan(0, n + 1).Clear();
            for (var i = 1; i < n; i++)
            {
                start[parents[i] + 1]++;
            }

            for (var i = 0; i < n; i++)
            {
                start[i + 1] += start[i];
            }

            start.AsSpan(0, n).CopyTo(fill);
            for (var i = 1; i < n; i++)
            {
                children[fill[parents[i]]++] = i;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(fill);
        }

        return (start, children);
    }
}
