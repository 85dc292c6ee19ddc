using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// Per-function flat and cumulative values (TOP, TABLE_ARROW, CALLGRAPH) from the untrimmed frame graph: a row per
/// frame identity of the graph (the key flame-graph siblings merge on: function name, or address when unsymbolized,
/// plus the group-by fields), so rows need no hashing. Cumulative counts a stack once per function even under
/// recursion (one depth-first pass); the caller/callee edges only TABLE_ARROW and CALLGRAPH read are built on first
/// use (see TopTable.Edges.cs), so TOP does not pay for them.
/// </summary>
public sealed partial class TopTable
{
    private readonly FlameGraph _graph;

    private TopTable(FlameGraph g)
    {
        _graph = g;
        var rows = g.FrameCount;
        Location = new int[rows];
        Line = new int[rows];
        Flat = new long[rows];
        Cumulative = new long[rows];
        FlatDiff = new long[rows];
        CumulativeDiff = new long[rows];
    }

    /// <summary>Result location and line index of each row (those of the row's first graph node).</summary>
    public int[] Location { get; }
    public int[] Line { get; }
    public long[] Flat { get; }
    public long[] FlatDiff { get; }
    public long[] Cumulative { get; }
    public long[] CumulativeDiff { get; }

    public int Count => Location.Length;

    public static TopTable Build(FlameGraph g)
    {
        var t = new TopTable(g);
        t.SumFlat();
        t.SumCumulative();
        if (g.Result.IsDiff)
        {
            // The diff columns held A's exact sums: each diff is rounded once, from exact totals.
            for (var row = 0; row < t.Count; row++)
            {
                t.FlatDiff[row] = g.Result.DiffOf(t.Flat[row], t.FlatDiff[row]);
                t.CumulativeDiff[row] = g.Result.DiffOf(t.Cumulative[row], t.CumulativeDiff[row]);
            }
        }

        return t;
    }

    /// <summary>
    /// Rows are the graph's frame identities: they are numbered in the order the graph first creates a node for
    /// them, so the first node of each frame names its row and flat values add up without a lookup.
    /// </summary>
    private void SumFlat()
    {
        var g = _graph;
        var frames = g.Frame;
        var seen = 0;
        var isDiff = g.Result.IsDiff;
        for (var n = 1; n < g.Count; n++)
        {
            var row = frames[n];
            if (row < 0)
            {
                continue; // a label-group node
            }

            System.Diagnostics.Debug.Assert(row <= seen, "frame ids are numbered in order of their first node");
            if (row == seen)
            {
                Location[row] = g.Location[n];
                Line[row] = g.Line[n];
                seen++;
            }

            Flat[row] += g.Flat[n];
            if (isDiff)
            {
                FlatDiff[row] += g.FlatBase[n]; // A's value until Build rounds the diffs
            }
        }
    }

    /// <summary>
    /// A node adds its cumulative value to its row unless the row is already on the path above it (recursion):
    /// a depth-first walk over the graph's children lists, counting how often each row is on the current path.
    /// </summary>
    private void SumCumulative()
    {
        var g = _graph;
        var n = g.Count;
        var isDiff = g.Result.IsDiff;
        var frames = g.Frame;
        var (childStart, children) = ChildLists(g);
        var onPath = new int[Count];
        var stack = new int[n + 1]; // pending nodes, and ~node as "leave node" markers: at most n entries live
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
                onPath[frames[~item]]--;
                continue;
            }

            var row = frames[item];
            if (row >= 0)
            {
                if (onPath[row] == 0)
                {
                    Cumulative[row] += g.Cumulative[item];
                    if (isDiff)
                    {
                        CumulativeDiff[row] += g.CumulativeBase[item]; // A's value until Build rounds the diffs
                    }
                }

                if (childStart[item + 1] == childStart[item])
                {
                    continue; // a leaf: nothing below it needs the path
                }

                onPath[row]++;
                stack[sp++] = ~item;
            }

            for (var k = childStart[item + 1] - 1; k >= childStart[item]; k--)
            {
                stack[sp++] = children[k];
            }
        }
    }

    /// <summary>Children of every graph node as one array (CSR): node i's are children[start[i]..start[i + 1]].</summary>
    private static (int[] Start, int[] Children) ChildLists(FlameGraph g)
    {
        var n = g.Count;
        var parents = g.Parent;
        var start = new int[n + 1];
        for (var i = 1; i < n; i++)
        {
            start[parents[i] + 1]++;
        }

        for (var i = 0; i < n; i++)
        {
            start[i + 1] += start[i];
        }

        var children = new int[Math.Max(0, n - 1)];
        var fill = new int[n];
        for (var i = 1; i < n; i++)
        {
            var p = parents[i];
            children[start[p] + fill[p]++] = i;
        }

        return (start, children);
    }

    public string FunctionName(MergeResult r, int row)
    {
        var sym = r.Symbols;
        var loc = sym.Locations[Location[row]];
        return Line[row] < 0 ? "" : sym.String(sym.Functions[sym.Lines[loc.FirstLine + Line[row]].Function].Name);
    }
}
