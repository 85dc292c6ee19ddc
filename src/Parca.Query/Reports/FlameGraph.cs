using System.Runtime.CompilerServices;
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
    private FlameGraph(MergeResult result, int capacity)
    {
        Result = result;
        Parent = new int[capacity];
        Location = new int[capacity];
        Line = new int[capacity];
        GroupNode = new int[capacity];
        Frame = new int[capacity];
        Depth = new int[capacity];
        Flat = new long[capacity];
        FlatDiff = new long[capacity];
        Cumulative = new long[capacity];
        Diff = new long[capacity];
        FlatBase = new long[result.IsDiff ? capacity : 0];
        CumulativeBase = new long[result.IsDiff ? capacity : 0];
        Parent[0] = -1;
        Line[0] = -1;
        GroupNode[0] = -1;
        Frame[0] = -1;
        Count = 1;
    }

    public MergeResult Result { get; }

    // Columns are plain arrays sized to the most nodes the tree can expand to (one per location line), so building
    // is stores into preallocated memory; entries at and beyond Count are unused.
    public int[] Parent { get; }

    /// <summary>Result location id (0 for the root and label-group nodes).</summary>
    public int[] Location { get; }

    /// <summary>Index of the line within the location (−1: no line).</summary>
    public int[] Line { get; }

    /// <summary>Label group index of label-group nodes (labels_only rows), −1 otherwise.</summary>
    public int[] GroupNode { get; }

    /// <summary>
    /// Frame identity of each node (what siblings merge on, without the parent: function name or address, plus the
    /// group-by fields), dense from 0; label-group nodes and the root have negative ids. Rows of the per-function
    /// table are frame identities.
    /// </summary>
    public int[] Frame { get; }

    /// <summary>Number of distinct frame identities (the bound of <see cref="Frame"/>'s non-negative values).</summary>
    public int FrameCount { get; private set; }

    public long[] Flat { get; }
    public long[] FlatDiff { get; }
    public long[] Cumulative { get; }
    public long[] Diff { get; }

    /// <summary>Profile A's flat and cumulative values (diffs only; empty otherwise): diffs are rounded from exact sums.</summary>
    public long[] FlatBase { get; }
    public long[] CumulativeBase { get; }

    public int[] Depth { get; }

    public int Count { get; private set; }

    /// <summary>Every line of a location but the last (the caller) is an inlined function; all are when a frame filter hid the caller.</summary>
    public bool IsInlined(int node) => Result.Symbols.IsInlined(Location[node], Line[node]);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    public static FlameGraph Build(MergeResult r)
    {
        var sym = r.Symbols;
        var tree = r.Tree;
        var parents = tree.Parent;
        var locations = tree.Location;
        var values = tree.Value;

        // Upper bound of the node count: every tree node expands to its location's lines (at least one node).
        long capacity = 1;
        for (var n = 1; n < tree.Count; n++)
        {
            capacity += tree.IsGroupRoot(n) ? 1 : Math.Max(1, sym.Locations[locations[n]].LineCount);
        }

        var g = new FlameGraph(r, checked((int)capacity));
        var frames = new FrameIdentities(r);
        // Siblings merge on (parent, frame identity): one long key, so the per-node work is one hash of a long
        // instead of a six-field struct (the identity of each location line is interned once, not once per node).
        // When no two location lines share an identity nothing can merge (result siblings are distinct locations),
        // so every node is new and the lookup, a cache miss per node, is skipped.
        using var children = frames.AllDistinct() ? null : new PackedKeyMap(tree.Count);
        var frameOf = System.Buffers.ArrayPool<int>.Shared.Rent(tree.Count);
        var isDiff = r.IsDiff;
        var flat = g.Flat;
        var flatBase = g.FlatBase;
        var bases = tree.Base;
        try
        {
            frameOf[0] = 0;
            for (var n = 1; n < tree.Count; n++)
            {
                var parent = frameOf[parents[n]];
                int f;
                if (tree.IsGroupRoot(n))
                {
                    var group = tree.Group[n];
                    f = g.Child(children, parent, -(group + 1), 0, -1, group);
                }
                else
                {
                    var locId = locations[n];
                    var lineCount = sym.Locations[locId].LineCount;
                    f = parent;
                    if (lineCount == 0)
                    {
                        f = g.Child(children, f, frames.OfLocation(locId), locId, -1, -1);
                    }
                    else
                    {
                        for (var k = lineCount - 1; k >= 0; k--)
                        {
                            f = g.Child(children, f, frames.OfLine(locId, k), locId, k, -1);
                        }
                    }
                }

                frameOf[n] = f;
                flat[f] += values[n];
                if (isDiff)
                {
                    flatBase[f] += bases[n];
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(frameOf);
        }

        g.FrameCount = frames.Count;
        flat[0] += values[0];
        var count = g.Count;
        var cumulative = g.Cumulative;
        var parentOf = g.Parent;
        flat.AsSpan(0, count).CopyTo(cumulative);
        // Children have larger ids than parents: one backward pass sums subtrees.
        for (var i = count - 1; i > 0; i--)
        {
            cumulative[parentOf[i]] += cumulative[i];
        }

        if (isDiff)
        {
            flatBase[0] += bases[0];
            var cumulativeBase = g.CumulativeBase;
            flatBase.AsSpan(0, count).CopyTo(cumulativeBase);
            for (var i = count - 1; i > 0; i--)
            {
                cumulativeBase[parentOf[i]] += cumulativeBase[i];
            }

            for (var i = 0; i < count; i++)
            {
                g.FlatDiff[i] = r.DiffOf(flat[i], flatBase[i]);
                g.Diff[i] = r.DiffOf(cumulative[i], cumulativeBase[i]);
            }
        }

        return g;
    }

    private int Child(PackedKeyMap? children, int parent, int identity, int location, int line, int group)
    {
        if (children is null)
        {
            return New(parent, identity, location, line, group);
        }

        ref var id = ref children.GetValueRefOrAddDefault(((long)parent << 32) | (uint)identity, out var exists);
        if (!exists)
        {
            id = New(parent, identity, location, line, group);
        }

        return id;
    }

    private int New(int parent, int identity, int location, int line, int group)
    {
        var id = Count++;
        Parent[id] = parent;
        Location[id] = location;
        Line[id] = line;
        GroupNode[id] = group;
        Frame[id] = identity;
        Depth[id] = Depth[parent] + 1;
        return id;
    }

    /// <summary>
    /// Node ids kept after trimming nodes below <paramref name="thresholdPercent"/> of the root's cumulative value
    /// (with their subtrees), in id order, and the value trimmed away.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
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
}
