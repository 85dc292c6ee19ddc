using System.Buffers;
using System.Runtime.CompilerServices;
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

    // The rows of each result location's frames, outermost first: location l's are
    // _locationRows[_locationRowStart[l] .. _locationRowStart[l + 1]] (one for a location without lines, none for a
    // location the tree does not use), so the passes over the tree read two small arrays per node.
    private readonly int[] _locationRowStart;
    private readonly int[] _locationRows;

    private TopTable(MergeResult r, int[] locationRowStart, int[] locationRows, List<int> location, List<int> line)
    {
        _result = r;
        _locationRowStart = locationRowStart;
        _locationRows = locationRows;
        var rows = location.Count;
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
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
    /// Numbers the frames as the frame graph does (tree nodes in id order, each location's lines outermost first, a
    /// row per new frame identity): a location's lines are all met at its first node, so each location is interned
    /// once. A row's location and line are those of its first frame.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    private static TopTable NumberRows(MergeResult r)
    {
        var tree = r.Tree;
        var sym = r.Symbols;
        var locations = tree.Location;
        var frames = new FrameIdentities(r);
        var location = new List<int>();
        var line = new List<int>();
        var start = new int[sym.Locations.Count + 1];
        var rows = new List<int>();
        var seen = new bool[sym.Locations.Count];
        for (var n = 1; n < tree.Count; n++)
        {
            var loc = locations[n];
            if (seen[loc] || tree.IsGroupRoot(n))
            {
                continue;
            }

            seen[loc] = true;
            var lineCount = sym.Locations[loc].LineCount;
            for (var k = Math.Max(lineCount, 1) - 1; k >= 0; k--)
            {
                var row = lineCount == 0 ? frames.OfLocation(loc) : frames.OfLine(loc, k);
                if (row == location.Count)
                {
                    location.Add(loc);
                    line.Add(lineCount == 0 ? -1 : k);
                }
            }
        }

        // Each used location's rows, outermost first (all interned above, so these are lookups).
        for (var loc = 1; loc < seen.Length; loc++)
        {
            start[loc] = rows.Count;
            if (!seen[loc])
            {
                continue;
            }

            var lineCount = sym.Locations[loc].LineCount;
            for (var k = Math.Max(lineCount, 1) - 1; k >= 0; k--)
            {
                rows.Add(lineCount == 0 ? frames.OfLocation(loc) : frames.OfLine(loc, k));
            }
        }

        start[seen.Length] = rows.Count;
        return new TopTable(r, start, [.. rows], location, line);
    }

    /// <summary>Each node's value plus its descendants' (parents have smaller ids than children: one backward pass).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    private void Sum(long[] cumulative, long[]? cumulativeBase)
    {
        var tree = _result.Tree;
        var n = tree.Count;
        var values = tree.Value;
        var bases = tree.Base;
        var locations = tree.Location;
        var (rowStart, rows) = (_locationRowStart, _locationRows);
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
                    // Leaving a node with children: every frame it put on the path comes off.
                    var left = locations[~item];
                    for (var j = rowStart[left]; j < rowStart[left + 1]; j++)
                    {
                        onPath[rows[j]]--;
                    }

                    continue;
                }

                var hasChildren = childStart[item + 1] > childStart[item];
                var loc = locations[item];
                if (loc != 0) // 0: a label group (no frame)
                {
                    var (from, to) = (rowStart[loc], rowStart[loc + 1]);
                    var (sum, sumBase) = (cumulative[item], cumulativeBase is null ? 0 : cumulativeBase[item]);
                    for (var j = from; j < to; j++)
                    {
                        var row = rows[j];
                        if (onPath[row] == 0)
                        {
                            Cumulative[row] += sum;
                            CumulativeDiff[row] += sumBase; // A's value until Build rounds the diffs (0 unless a diff)
                        }

                        onPath[row]++;
                    }

                    var innermost = rows[to - 1];
                    Flat[innermost] += values[item];
                    if (cumulativeBase is not null)
                    {
                        FlatDiff[innermost] += bases[item]; // A's value until Build rounds the diffs
                    }

                    if (!hasChildren)
                    {
                        // A leaf is not left later: its frames come off the path now (they only mattered to its own
                        // inner lines).
                        for (var j = from; j < to; j++)
                        {
                            onPath[rows[j]]--;
                        }

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
    /// Children of every tree node as one pooled array (CSR): node i's are children[start[i]..start[i + 1]]. Both
    /// arrays come from <see cref="ArrayPool{T}.Shared"/>; the caller returns them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
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
