using System.Buffers;
using Parca.Storage.Symbols;

namespace Parca.Storage.Head;

/// <summary>
/// Bulk append of every profile of another partition (bucket compaction merges blocks this way). The partition's
/// strings, mappings, functions, locations, stack nodes and sample-label sets are each mapped to this head's ids once,
/// on first use, so a merge costs its distinct symbols and stacks plus a copy per sample. (Re-ingesting each profile
/// with the block's whole symbol table, as the first merge did, hashed every symbol of the block once per profile:
/// hours for a day of a real fleet.)
/// </summary>
internal sealed partial class HeadPartition
{
    /// <summary>Appends every row of <paramref name="view"/>; checks <paramref name="cancel"/> between rows.</summary>
    public void Import(PartitionView view, CancellationToken cancel)
    {
        lock (_writeLock)
        {
            if (_sealed)
            {
                throw new InvalidOperationException("import into a sealed head");
            }

            new ViewImport(this, view).Run(cancel);
        }
    }

    /// <summary>One view's id maps (0: not mapped yet; id 0 of every table is "none" and maps to 0).</summary>
    private sealed class ViewImport
    {
        private readonly HeadPartition _head;
        private readonly PartitionView _view;
        private readonly SymbolsView _sym;
        private readonly Stacks.StackTreeView _tree;
        private readonly int[] _strings;
        private readonly int[] _mappings;
        private readonly int[] _functions;
        private readonly int[] _locations;
        private readonly int[] _nodes;
        private readonly int[] _labelSets; // head set + 1
        private readonly List<int> _path = [];

        public ViewImport(HeadPartition head, PartitionView view)
        {
            _head = head;
            _view = view;
            _sym = view.Symbols;
            _tree = view.Tree;
            _strings = new int[_sym.StringCount];
            _mappings = new int[_sym.MappingCount];
            _functions = new int[_sym.FunctionCount];
            _locations = new int[_sym.LocationCount];
            _nodes = new int[_tree.Count];
            _labelSets = new int[view.SampleLabels.SetCount + 1];
        }

        public void Run(CancellationToken cancel)
        {
            foreach (var row in _view.Rows)
            {
                cancel.ThrowIfCancellationRequested();
                var n = row.SampleCount;
                var stacks = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
                var values = ArrayPool<long>.Shared.Rent(Math.Max(n, 1));
                var sets = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
                try
                {
                    _view.ReadSamples(row, stacks.AsSpan(0, n), values.AsSpan(0, n), sets.AsSpan(0, n));
                    for (var i = 0; i < n; i++)
                    {
                        stacks[i] = Node(stacks[i]);
                        sets[i] = row.HasSampleLabels ? LabelSet(sets[i]) : 0;
                    }

                    var series = _view.Series.GetSeries(row.Series);
                    var seriesId = _head._series.GetOrAdd(series.Type, series.Labels);
                    _head.AppendSeriesProfile(seriesId, n, row.TimeNanos, row.DurationNanos, row.Period, values, stacks, row.HasSampleLabels ? sets : null);
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(stacks);
                    ArrayPool<long>.Shared.Return(values);
                    ArrayPool<int>.Shared.Return(sets);
                }
            }
        }

        /// <summary>The head node of a view node: the unmapped part of its path is added below its nearest mapped ancestor.</summary>
        private int Node(int node)
        {
            if (node == 0 || _nodes[node] != 0)
            {
                return _nodes[node];
            }

            _path.Clear();
            var parents = _tree.Parents;
            var up = node;
            for (; up != 0 && _nodes[up] == 0; up = parents[up])
            {
                _path.Add(up);
            }

            var mapped = _nodes[up];
            for (var i = _path.Count - 1; i >= 0; i--)
            {
                var v = _path[i];
                mapped = _nodes[v] = _head._tree.Child(mapped, Location(_tree.Locations[v]));
            }

            return mapped;
        }

        private int Location(int id)
        {
            if (id == 0 || _locations[id] != 0)
            {
                return _locations[id];
            }

            var loc = _sym.Locations[id];
            var src = _sym.LinesOf(loc);
            Span<LineSym> lines = src.Length <= 16 ? stackalloc LineSym[src.Length] : new LineSym[src.Length];
            for (var k = 0; k < src.Length; k++)
            {
                lines[k] = new LineSym(Function(src[k].Function), src[k].Line);
            }

            return _locations[id] = _head._symbols.InternLocation(Mapping(loc.Mapping), loc.Address, lines);
        }

        private int Function(int id)
        {
            if (id == 0 || _functions[id] != 0)
            {
                return _functions[id];
            }

            var f = _sym.Functions[id];
            return _functions[id] = _head._symbols.InternFunction(new FunctionSym(Str(f.Name), Str(f.SystemName), Str(f.FileName), f.StartLine));
        }

        private int Mapping(int id)
        {
            if (id == 0 || _mappings[id] != 0)
            {
                return _mappings[id];
            }

            var m = _sym.Mappings[id];
            return _mappings[id] = _head._symbols.InternMapping(new MappingSym(m.Start, m.Limit, m.Offset, Str(m.File), Str(m.BuildId)));
        }

        private int Str(int id) =>
            id == 0 ? 0 : _strings[id] != 0 ? _strings[id] : (_strings[id] = _head._symbols.InternString(_sym.String(id)));

        private int LabelSet(int set)
        {
            if (set == 0)
            {
                return 0;
            }

            if (_labelSets[set] != 0)
            {
                return _labelSets[set] - 1;
            }

            var src = _view.SampleLabels.Get(set);
            var labels = new SampleLabelSym[src.Length];
            for (var k = 0; k < src.Length; k++)
            {
                var l = src[k];
                labels[k] = new SampleLabelSym(Str(l.Key), l.Str >= 0 ? Str(l.Str) : -1, l.Num, Str(l.NumUnit));
            }

            var id = _head._sampleLabels.Intern(labels);
            _labelSets[set] = id + 1;
            return id;
        }
    }
}
