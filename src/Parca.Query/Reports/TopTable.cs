using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// Per-function flat and cumulative values (TOP, TABLE_ARROW, CALLGRAPH) from the untrimmed frame graph: frames are
/// keyed like flame-graph siblings (function name, or address when unsymbolized, plus the group-by fields),
/// cumulative counts a stack once per function even under recursion, and callers/callees are the distinct adjacent
/// functions. Built in one depth-first pass over the graph (linear in its nodes).
/// </summary>
public sealed class TopTable
{
    private int[] _callerOffsets = [0];
    private int[] _callers = [];
    private int[] _calleeOffsets = [0];
    private int[] _callees = [];
    private long[] _edgeValues = [];

    public List<int> Location { get; } = [];
    public List<int> Line { get; } = [];
    public List<long> Flat { get; } = [];
    public List<long> FlatDiff { get; } = [];
    public List<long> Cumulative { get; } = [];
    public List<long> CumulativeDiff { get; } = [];

    public int Count => Location.Count;

    /// <summary>Distinct caller rows of a row, ascending.</summary>
    public ReadOnlySpan<int> Callers(int row) => _callers.AsSpan(_callerOffsets[row], _callerOffsets[row + 1] - _callerOffsets[row]);

    /// <summary>Distinct callee rows of a row, ascending.</summary>
    public ReadOnlySpan<int> Callees(int row) => _callees.AsSpan(_calleeOffsets[row], _calleeOffsets[row + 1] - _calleeOffsets[row]);

    /// <summary>The value flowing from a row into each of its <see cref="Callees"/>, in the same order (for CALLGRAPH).</summary>
    public ReadOnlySpan<long> CalleeValues(int row) => _edgeValues.AsSpan(_calleeOffsets[row], _calleeOffsets[row + 1] - _calleeOffsets[row]);

    public static TopTable Build(FlameGraph g)
    {
        var t = new TopTable();
        var rowOf = t.Rows(g);
        var n = g.Count;
        var isDiff = g.Result.IsDiff;

        // Children lists (CSR) of the graph, for the depth-first pass.
        var childStart = new int[n + 1];
        for (var i = 1; i < n; i++)
        {
            childStart[g.Parent[i] + 1]++;
        }

        for (var i = 0; i < n; i++)
        {
            childStart[i + 1] += childStart[i];
        }

        var children = new int[Math.Max(0, n - 1)];
        var fill = (int[])childStart.Clone();
        for (var i = 1; i < n; i++)
        {
            children[fill[g.Parent[i]]++] = i;
        }

        // Cumulative: a node adds its cumulative value to its function unless the function is already on the path
        // above it (recursion). Edges: a node's value flows from the nearest function above it into its own.
        var onPath = new int[t.Count];
        var edges = new Dictionary<long, long>(PackedKeyComparer.Instance); // key (caller << 32) | callee
        var stack = new int[(2 * n) + 2];
        var above = new int[n]; // nearest ancestor row (−1: none)
        var sp = 0;
        above[0] = -1;
        for (var k = childStart[0]; k < childStart[1]; k++)
        {
            stack[sp++] = children[k];
        }

        while (sp > 0)
        {
            var item = stack[--sp];
            if (item < 0)
            {
                onPath[rowOf[~item]]--;
                continue;
            }

            var node = item;
            var row = rowOf[node];
            var up = above[g.Parent[node]];
            above[node] = row >= 0 ? row : up;
            if (row >= 0)
            {
                if (onPath[row] == 0)
                {
                    t.Cumulative[row] += g.Cumulative[node];
                    if (isDiff)
                    {
                        t.CumulativeDiff[row] += g.CumulativeBase[node]; // A's value until the rounding below
                    }
                }

                if (up >= 0 && up != row)
                {
                    ref var value = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(edges, ((long)up << 32) | (uint)row, out _);
                    value += g.Cumulative[node];
                }

                onPath[row]++;
                stack[sp++] = ~node;
            }

            for (var k = childStart[node + 1] - 1; k >= childStart[node]; k--)
            {
                stack[sp++] = children[k];
            }
        }

        t.SetEdges(edges);
        if (isDiff)
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
    /// Assigns a row per frame identity of the graph (the same function key flame-graph siblings merge on), in
    /// order of first appearance, and sums flat values; label-group nodes get −1.
    /// </summary>
    private int[] Rows(FlameGraph g)
    {
        var rowOfFrame = new int[g.FrameCount];
        rowOfFrame.AsSpan().Fill(-1);
        var rowOf = new int[g.Count];
        rowOf[0] = -1;
        Location.EnsureCapacity(g.FrameCount);
        Line.EnsureCapacity(g.FrameCount);
        for (var n = 1; n < g.Count; n++)
        {
            var frame = g.Frame[n];
            if (frame < 0)
            {
                rowOf[n] = -1;
                continue;
            }

            ref var row = ref rowOfFrame[frame];
            if (row < 0)
            {
                row = Count;
                Location.Add(g.Location[n]);
                Line.Add(g.Line[n]);
                Flat.Add(0);
                FlatDiff.Add(0);
                Cumulative.Add(0);
                CumulativeDiff.Add(0);
            }

            rowOf[n] = row;
            Flat[row] += g.Flat[n];
            if (g.Result.IsDiff)
            {
                FlatDiff[row] += g.FlatBase[n]; // A's value until Build rounds the diffs
            }
        }

        return rowOf;
    }

    private void SetEdges(Dictionary<long, long> edges)
    {
        var keys = new long[edges.Count];
        var values = new long[edges.Count];
        var k = 0;
        foreach (var (key, value) in edges)
        {
            keys[k] = key;
            values[k++] = value;
        }

        Array.Sort(keys, values); // by caller, then callee
        _calleeOffsets = new int[Count + 1];
        _callees = new int[keys.Length];
        _edgeValues = new long[keys.Length];
        _callerOffsets = new int[Count + 1];
        _callers = new int[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            var (caller, callee) = ((int)(keys[i] >> 32), (int)keys[i]);
            _calleeOffsets[caller + 1]++;
            _callerOffsets[callee + 1]++;
            _callees[i] = callee;
            _edgeValues[i] = values[i];
        }

        for (var i = 0; i < Count; i++)
        {
            _calleeOffsets[i + 1] += _calleeOffsets[i];
            _callerOffsets[i + 1] += _callerOffsets[i];
        }

        // Callers: keys are sorted by caller, so each callee's callers arrive ascending.
        var fill = (int[])_callerOffsets.Clone();
        foreach (var key in keys)
        {
            _callers[fill[(int)key]++] = (int)(key >> 32);
        }
    }

    public string FunctionName(MergeResult r, int row)
    {
        var sym = r.Symbols;
        var loc = sym.Locations[Location[row]];
        return Line[row] < 0 ? "" : sym.String(sym.Functions[sym.Lines[loc.FirstLine + Line[row]].Function].Name);
    }
}
