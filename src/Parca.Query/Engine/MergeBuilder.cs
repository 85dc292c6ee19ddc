using System.Buffers;
using System.Runtime.CompilerServices;
using Parca.Query.Filters;
using Parca.Storage;

namespace Parca.Query.Engine;

/// <summary>
/// Folds per-partition node values (dense arrays indexed by stack id) into a <see cref="MergeResult"/>: applies stack
/// filters per stack node (one forward pass, no per-sample work), hides frames (single inlined lines, too) of frame filters, inverts or
/// sandwiches stacks, and imports symbols of the nodes that carry value.
/// </summary>
internal sealed class MergeBuilder
{
    private readonly MergeResult _result;
    private readonly List<FrameCondition> _stackConditions = [];
    private readonly List<List<FrameCondition>> _frameFilters = [];
    private readonly bool _invert;
    private readonly string? _sandwich;
    private readonly Dictionary<(LabelSet Labels, long Time), int> _groups = [];
    private readonly HashSet<int> _foldedRoots = [];

    public MergeBuilder(MergeResult result, ProfileQueryOptions options)
    {
        _result = result;
        _invert = options.InvertCallStack;
        _sandwich = string.IsNullOrEmpty(options.SandwichByFunction) ? null : options.SandwichByFunction;
        foreach (var f in options.Filters)
        {
            if (f.IsStackFilter)
            {
                _stackConditions.AddRange(FrameCondition.From(f.Criteria));
            }
            else
            {
                var conditions = FrameCondition.From(f.Criteria);
                if (conditions.Count > 0)
                {
                    _frameFilters.Add(conditions);
                }
            }
        }

        if (_sandwich is not null)
        {
            _stackConditions.AddRange(FrameCondition.From(new FilterCriteria { FunctionName = new StringCondition(StringOp.Contains, _sandwich) }));
        }
    }

    /// <summary>The root of a label group, of a timestamp (<paramref name="time"/> non-zero), or of both.</summary>
    public int GroupRoot(LabelSet? group, long time = 0)
    {
        if (group is null && time == 0)
        {
            return 0;
        }

        var key = (group ?? LabelSet.Empty, time);
        if (!_groups.TryGetValue(key, out var g))
        {
            g = _result.Groups.Count;
            _result.Groups.Add(key.Item1);
            _result.GroupTimes.Add(time);
            _groups.Add(key, g);
        }

        return _result.Tree.GroupRoot(g);
    }

    /// <summary>Per-partition state: symbol import maps and filter evaluations, computed once per partition.</summary>
    public sealed class PartitionState
    {
        internal PartitionState(PartitionView view, ResultSymbols symbols)
        {
            View = view;
            Import = new ResultSymbols.Importer(symbols, view.Symbols);
        }

        public PartitionView View { get; }
        internal ResultSymbols.Importer Import { get; }
        internal bool[]? Keep { get; set; }
        internal int[]? Filtered { get; set; }
        internal sbyte[]? IsSandwich { get; set; }
    }

    public PartitionState Begin(PartitionView view) => new(view, _result.Symbols);

    /// <summary>Folds node values of one partition into the result under <paramref name="groupRoot"/>.</summary>
    /// <remarks>
    /// Fully optimized from its first call: a server runs it once per cold query, so under tiered compilation the
    /// first thirty queries would run its loops as unoptimized or on-stack-replaced code.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fold(PartitionState state, ReadOnlySpan<long> nodeValues, int groupRoot, bool isBase)
    {
        var view = state.View;
        var n = Math.Min(nodeValues.Length, view.Tree.Count);
        var keep = _stackConditions.Count > 0 ? state.Keep ??= ComputeKeep(view) : null;

        // Nothing was folded under this root yet: its subtree is built from this partition alone.
        var freshRoot = _foldedRoots.Add(groupRoot);
        if (_invert || _sandwich is not null)
        {
            var (total, filtered) = Totals(nodeValues[..n], keep);
            AddTotals(total, filtered, isBase);
            FoldPaths(state, nodeValues[..n], keep, groupRoot, isBase);
            return;
        }

        var touched = ArrayPool<bool>.Shared.Rent(n);
        var map = ArrayPool<int>.Shared.Rent(n);
        try
        {
            var touchedCount = MarkTouched(view.Tree.Parents, nodeValues[..n], keep, touched, isBase);
            var tree = _result.Tree;
            if (tree.Count <= 2)
            {
                // The first fold sizes the tree (later ones mostly find their nodes) by the nodes it selects: the
                // partition's tree also holds every other series' stacks.
                tree.EnsureCapacity(touchedCount + tree.Count);
            }

            // Into an empty subtree, without frame filters (which can hide a frame and so bring two stacks' frames
            // under one parent), every touched node is a new result node when the partition's locations import to
            // distinct result locations (the partition deduplicates them by content, so they do): no lookups. An
            // importer appending to empty tables knows that before importing anything.
            var fresh = freshRoot && _frameFilters.Count == 0
                && (state.Import.KnownDistinct || ImportsDistinct(state, touched, view.Tree.Locations, n));
            BuildNodes(state, nodeValues[..n], keep, touched, map, groupRoot, fresh, isBase);
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(touched);
            ArrayPool<int>.Shared.Return(map);
        }
    }

    private void AddTotals(long total, long filtered, bool isBase)
    {
        if (isBase)
        {
            _result.BaseTotal = Checked.Add(_result.BaseTotal, total);
        }
        else
        {
            _result.Total = Checked.Add(_result.Total, total);
            _result.Filtered += filtered;
        }
    }

    private static (long Total, long Filtered) Totals(ReadOnlySpan<long> nodeValues, bool[]? keep)
    {
        long total = 0, filtered = 0;
        for (var i = 1; i < nodeValues.Length; i++)
        {
            var v = nodeValues[i];
            if (v != 0)
            {
                total = Checked.Add(total, v);
                if (keep is not null && !keep[i])
                {
                    filtered += v; // at most total in magnitude: no separate check
                }
            }
        }

        return (total, filtered);
    }

    /// <summary>
    /// One reverse pass (children have larger ids than parents): the totals, and which nodes lead to a kept value.
    /// Returns how many nodes are touched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int MarkTouched(ReadOnlySpan<int> parents, ReadOnlySpan<long> nodeValues, bool[]? keep, bool[] touched, bool isBase)
    {
        var n = nodeValues.Length;
        Array.Clear(touched, 0, n);
        long total = 0, filtered = 0;
        var touchedCount = 0;
        for (var i = n - 1; i > 0; i--)
        {
            var v = nodeValues[i];
            var mark = touched[i];
            if (v != 0)
            {
                total = Checked.Add(total, v);
                if (keep is null || keep[i])
                {
                    mark = true;
                }
                else
                {
                    filtered += v;
                }
            }

            if (mark)
            {
                touched[i] = true;
                touched[parents[i]] = true;
                touchedCount++;
            }
        }

        AddTotals(total, filtered, isBase);
        return touchedCount;
    }

    /// <summary>Adds the touched nodes to the result tree, parents first, and their kept values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildNodes(PartitionState state, ReadOnlySpan<long> nodeValues, bool[]? keep, bool[] touched, int[] map, int groupRoot, bool fresh, bool isBase)
    {
        var parents = state.View.Tree.Parents;
        var locations = state.View.Tree.Locations;
        var tree = _result.Tree;
        map[0] = groupRoot;
        for (var i = 1; i < nodeValues.Length; i++)
        {
            if (!touched[i])
            {
                continue;
            }

            var parent = map[parents[i]];
            var loc = ResultLocation(state, locations[i]);
            var node = loc == 0 ? parent : fresh ? tree.AddFresh(parent, loc) : tree.Child(parent, loc);
            map[i] = node;
            var v = nodeValues[i];
            if (v != 0 && (keep is null || keep[i]))
            {
                tree.Add(node, v, isBase);
            }
        }
    }

    /// <summary>Imports the touched nodes' locations and tells whether distinct partition locations stayed distinct.</summary>
    private static bool ImportsDistinct(PartitionState state, bool[] touched, ReadOnlySpan<int> locations, int n)
    {
        for (var i = 1; i < n; i++)
        {
            if (touched[i])
            {
                state.Import.Location(locations[i]);
            }
        }

        return state.Import.Distinct;
    }

    private void FoldPaths(PartitionState state, ReadOnlySpan<long> nodeValues, bool[]? keep, int groupRoot, bool isBase)
    {
        var view = state.View;
        var parents = view.Tree.Parents;
        var locations = view.Tree.Locations;
        var path = new List<int>(64);
        var tree = _result.Tree;
        for (var i = 1; i < nodeValues.Length; i++)
        {
            var v = nodeValues[i];
            if (v == 0 || (keep is not null && !keep[i]))
            {
                continue;
            }

            path.Clear();
            for (var j = i; j > 0; j = parents[j])
            {
                path.Add(locations[j]);
            }

            // path is leaf first.
            int from = 0, to = path.Count - 1;
            if (_sandwich is not null)
            {
                var k = path.FindIndex(l => IsSandwich(state, l));
                if (k < 0)
                {
                    continue;
                }

                if (_invert)
                {
                    from = k; // callers: stack ends at f, f at the top of the inverted tree
                }
                else
                {
                    to = k; // callees: stack starts at f
                }
            }

            var node = groupRoot;
            if (_invert)
            {
                for (var p = from; p <= to; p++)
                {
                    var loc = ResultLocation(state, path[p]);
                    node = loc == 0 ? node : tree.Child(node, loc);
                }
            }
            else
            {
                for (var p = to; p >= from; p--)
                {
                    var loc = ResultLocation(state, path[p]);
                    node = loc == 0 ? node : tree.Child(node, loc);
                }
            }

            tree.Add(node, v, isBase);
        }
    }

    /// <summary>
    /// The result location of a partition location after frame filters, or 0 when they hide all of it. A line is kept
    /// when every condition of every frame filter holds for it (address and binary conditions for its location), so
    /// a filter can hide single inlined functions of a location; unsymbolized locations are kept or hidden whole.
    /// </summary>
    private int ResultLocation(PartitionState state, int loc)
    {
        if (_frameFilters.Count == 0)
        {
            return state.Import.Location(loc);
        }

        var cache = state.Filtered ??= new int[state.View.Symbols.LocationCount];
        if (cache[loc] == 0)
        {
            var m = FilterLocation(state, loc);
            cache[loc] = m == 0 ? -1 : m;
        }

        return Math.Max(cache[loc], 0);
    }

    private int FilterLocation(PartitionState state, int loc)
    {
        var sym = state.View.Symbols;
        var location = sym.Locations[loc];
        var lines = sym.LinesOf(location);
        Span<bool> keep = lines.Length <= 64 ? stackalloc bool[lines.Length] : new bool[lines.Length];
        keep.Fill(true);
        var kept = lines.Length;
        foreach (var filter in _frameFilters)
        {
            foreach (var c in filter)
            {
                if (c.IsLocationLevel)
                {
                    if (!c.EvaluateLocation(sym, location))
                    {
                        return 0;
                    }
                }
                else if (lines.IsEmpty)
                {
                    if (!c.IsNegative)
                    {
                        return 0; // unsymbolized: positive function/file/line conditions fail
                    }
                }
                else
                {
                    for (var i = 0; i < lines.Length; i++)
                    {
                        if (keep[i] && !c.EvaluateLine(sym, lines[i]))
                        {
                            keep[i] = false;
                            kept--;
                        }
                    }
                }
            }
        }

        return kept == 0 && !lines.IsEmpty ? 0
            : kept == lines.Length ? state.Import.Location(loc)
            : state.Import.Location(loc, keep);
    }

    private bool IsSandwich(PartitionState state, int loc)
    {
        var marks = state.IsSandwich ??= new sbyte[state.View.Symbols.LocationCount];
        if (marks[loc] == 0)
        {
            var sym = state.View.Symbols;
            var match = false;
            foreach (var line in sym.LinesOf(sym.Locations[loc]))
            {
                match |= line.Function != 0 && sym.String(sym.Functions[line.Function].Name) == _sandwich;
            }

            marks[loc] = match ? (sbyte)1 : (sbyte)-1;
        }

        return marks[loc] > 0;
    }

    /// <summary>keep[node]: every stack condition holds for the stack ending at node (positive: any frame; negative: all).</summary>
    private bool[] ComputeKeep(PartitionView view)
    {
        var n = view.Tree.Count;
        var parents = view.Tree.Parents;
        var locations = view.Tree.Locations;
        var keep = new bool[n];
        Array.Fill(keep, true);
        var state = new bool[n];
        var locEval = new sbyte[view.Symbols.LocationCount];
        foreach (var c in _stackConditions)
        {
            Array.Clear(locEval);
            var negative = c.IsNegative;
            state[0] = negative;
            for (var i = 1; i < n; i++)
            {
                var loc = locations[i];
                if (locEval[loc] == 0)
                {
                    locEval[loc] = c.Evaluate(view.Symbols, loc) ? (sbyte)1 : (sbyte)-1;
                }

                var ok = locEval[loc] > 0;
                state[i] = negative ? state[parents[i]] && ok : state[parents[i]] || ok;
                keep[i] &= state[i];
            }
        }

        return keep;
    }
}
