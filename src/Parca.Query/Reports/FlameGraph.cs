using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// The frame-level tree behind flame graphs, tables and call graphs: each location of the result tree is expanded
/// into its lines (inlined functions, caller first) and siblings merge on a key: the function name (or the address for
/// unsymbolized frames), combined with mapping file / address / file name when grouped by those, and the label group.
/// Node 0 is the root; parent ids are smaller than child ids.
/// </summary>
public sealed class FlameGraph
{
    private FlameGraph(MergeResult result) => Result = result;

    public MergeResult Result { get; }

    public List<int> Parent { get; } = [-1];

    /// <summary>Result location id (0 for the root and label-group nodes).</summary>
    public List<int> Location { get; } = [0];

    /// <summary>Index of the line within the location (−1: no line).</summary>
    public List<int> Line { get; } = [-1];

    /// <summary>Label group index of label-group nodes (labels_only rows), −1 otherwise.</summary>
    public List<int> GroupNode { get; } = [-1];

    /// <summary>
    /// Frame identity of each node (what siblings merge on, without the parent: function name or address, plus the
    /// group-by fields), dense from 0; label-group nodes and the root have negative ids. Rows of the per-function
    /// table are frame identities.
    /// </summary>
    public List<int> Frame { get; } = [-1];

    /// <summary>Number of distinct frame identities (the bound of <see cref="Frame"/>'s non-negative values).</summary>
    public int FrameCount { get; private set; }

    public List<long> Flat { get; } = [0];
    public List<long> FlatDiff { get; } = [0];
    public List<long> Cumulative { get; } = [0];
    public List<long> Diff { get; } = [0];
    public List<int> Depth { get; } = [0];

    public int Count => Parent.Count;

    /// <summary>Every line of a location but the last (the caller) is an inlined function; all are when a frame filter hid the caller.</summary>
    public bool IsInlined(int node) => Result.Symbols.IsInlined(Location[node], Line[node]);

    public static FlameGraph Build(MergeResult r)
    {
        var g = new FlameGraph(r);
        var sym = r.Symbols;
        var tree = r.Tree;
        var frames = new FrameIdentities(r);
        // Siblings merge on (parent, frame identity): one long key, so the per-node work is one hash of a long
        // instead of a six-field struct (the identity of each location line is interned once, not once per node).
        var children = new Dictionary<long, int>(tree.Count, PackedKeyComparer.Instance);
        var frameOf = new int[tree.Count];
        g.Reserve(tree.Count);

        int Child(int parent, int identity, int location, int line, int group)
        {
            ref var id = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(children, ((long)parent << 32) | (uint)identity, out var exists);
            if (exists)
            {
                return id;
            }

            id = g.Count;
            g.Parent.Add(parent);
            g.Location.Add(location);
            g.Line.Add(line);
            g.GroupNode.Add(group);
            g.Frame.Add(identity);
            g.Flat.Add(0);
            g.FlatDiff.Add(0);
            g.Cumulative.Add(0);
            g.Diff.Add(0);
            g.Depth.Add(g.Depth[parent] + 1);
            return id;
        }

        var parents = tree.Parent;
        var locations = tree.Location;
        var values = tree.Value;
        for (var n = 1; n < tree.Count; n++)
        {
            var parent = frameOf[parents[n]];
            int f;
            if (tree.IsGroupRoot(n))
            {
                var group = tree.Group[n];
                f = Child(parent, -(group + 1), 0, -1, group);
            }
            else
            {
                var locId = locations[n];
                var loc = sym.Locations[locId];
                f = parent;
                if (loc.LineCount == 0)
                {
                    f = Child(f, frames.OfLocation(locId), locId, -1, -1);
                }
                else
                {
                    for (var k = loc.LineCount - 1; k >= 0; k--)
                    {
                        f = Child(f, frames.OfLine(locId, k), locId, k, -1);
                    }
                }
            }

            frameOf[n] = f;
            g.Flat[f] += values[n];
            g.FlatDiff[f] += r.FlatDiff(n);
        }

        g.FrameCount = frames.Count;
        g.Flat[0] += values[0];
        g.FlatDiff[0] += r.FlatDiff(0);
        for (var i = 0; i < g.Count; i++)
        {
            g.Cumulative[i] += g.Flat[i];
            g.Diff[i] += g.FlatDiff[i];
        }

        for (var i = g.Count - 1; i > 0; i--)
        {
            g.Cumulative[g.Parent[i]] += g.Cumulative[i];
            g.Diff[g.Parent[i]] += g.Diff[i];
        }

        return g;
    }

    /// <summary>
    /// Node ids kept after trimming nodes below <paramref name="thresholdPercent"/> of the root's cumulative value
    /// (with their subtrees), in id order, and the value trimmed away.
    /// </summary>
    public (List<int> Kept, long Trimmed) Trim(float thresholdPercent)
    {
        var kept = new List<int>(Count);
        var keep = new bool[Count];
        var limit = thresholdPercent > 0 ? Math.Abs((double)Cumulative[0]) * thresholdPercent / 100.0 : 0;
        long trimmed = 0;
        keep[0] = true;
        kept.Add(0);
        for (var i = 1; i < Count; i++)
        {
            if (!keep[Parent[i]])
            {
                continue;
            }

            if (Cumulative[i] == 0 && Diff[i] == 0)
            {
                continue; // e.g. a label group whose samples were all filtered out
            }

            if (limit > 0 && Math.Abs(Cumulative[i]) < limit)
            {
                trimmed += Cumulative[i];
                continue;
            }

            keep[i] = true;
            kept.Add(i);
        }

        return (kept, trimmed);
    }

    /// <summary>
    /// The smallest threshold (percent of the root) at which <see cref="Trim"/> keeps at most <paramref name="maxNodes"/>
    /// nodes: a node is kept only when its ancestors are, and (without diffs) an ancestor is never lighter than its
    /// descendants, so cutting at the maxNodes-th heaviest value bounds the count.
    /// </summary>
    public float ThresholdKeeping(int maxNodes)
    {
        var root = Math.Abs((double)Cumulative[0]);
        if (maxNodes >= Count || root == 0)
        {
            return 0;
        }

        var values = System.Buffers.ArrayPool<long>.Shared.Rent(Count - 1);
        try
        {
            for (var i = 1; i < Count; i++)
            {
                values[i - 1] = Math.Abs(Cumulative[i]);
            }

            var span = values.AsSpan(0, Count - 1);
            span.Sort();
            // Nodes at or below the (maxNodes)-th largest value (the root is one of the kept) are cut.
            var cut = span[Math.Max(0, span.Length - Math.Max(1, maxNodes - 1) - 1)];
            var threshold = (float)((cut + 1) / root * 100.0);
            // float rounding must not keep the cut value: step up until it is below the limit.
            while (root * threshold / 100.0 <= cut)
            {
                threshold = MathF.BitIncrement(threshold);
            }

            return threshold;
        }
        finally
        {
            System.Buffers.ArrayPool<long>.Shared.Return(values);
        }
    }

    /// <summary>Display name of a frame: function name, or the hex address when unsymbolized.</summary>
    public string FunctionName(int node)
    {
        if (node == 0 || GroupNode[node] >= 0)
        {
            return "";
        }

        var sym = Result.Symbols;
        var loc = sym.Locations[Location[node]];
        return Line[node] < 0 ? "" : sym.String(sym.Functions[sym.Lines[loc.FirstLine + Line[node]].Function].Name);
    }

    private void Reserve(int nodes)
    {
        foreach (var column in new[] { Parent, Location, Line, GroupNode, Frame, Depth })
        {
            column.EnsureCapacity(nodes);
        }

        foreach (var column in new[] { Flat, FlatDiff, Cumulative, Diff })
        {
            column.EnsureCapacity(nodes);
        }
    }
}
