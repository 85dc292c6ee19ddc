using System.Buffers;
using Parca.Storage.Internal;
using Parca.Storage.Series;
using Parca.Storage.Stacks;
using Parca.Storage.Symbols;

namespace Parca.Storage.Blocks;

/// <summary>Compacts a sealed head (its view) into an immutable <see cref="BlockPartition"/>.</summary>
internal static class BlockBuilder
{
    public static BlockPartition Build(PartitionView view, string id) => Build(view, id, long.MinValue, long.MaxValue);

    /// <summary>
    /// A block of the profiles whose time is in [<paramref name="minTime"/>, <paramref name="maxTime"/>] (a head
    /// holding far-apart times becomes several blocks). Symbols and stacks are copied whole: ids stay as they are.
    /// </summary>
    public static BlockPartition Build(PartitionView view, string id, long minTime, long maxTime)
    {
        var rows = view.Rows;
        var selected = 0;
        foreach (var r in rows)
        {
            selected += r.TimeNanos >= minTime && r.TimeNanos <= maxTime ? 1 : 0;
        }

        var order = new int[selected];
        selected = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i].TimeNanos >= minTime && rows[i].TimeNanos <= maxTime)
            {
                order[selected++] = i;
            }
        }

        var rowArray = view.RowArray;
        Array.Sort(order, (a, b) =>
        {
            var c = rowArray[a].Series.CompareTo(rowArray[b].Series);
            return c != 0 ? c : rowArray[a].TimeNanos.CompareTo(rowArray[b].TimeNanos);
        });

        var series = new SeriesIndex();
        for (var s = 0; s < view.Series.SeriesCount; s++)
        {
            var e = view.Series.GetSeries(s);
            series.GetOrAdd(e.Type, e.Labels);
        }

        var samples = new ByteWriter(1 << 16);
        var newRows = new ProfileRow[order.Length];
        var max = 0;
        foreach (var r in rows)
        {
            max = Math.Max(max, r.SampleCount);
        }

        var stacks = ArrayPool<int>.Shared.Rent(Math.Max(max, 1));
        var values = ArrayPool<long>.Shared.Rent(Math.Max(max, 1));
        var sets = ArrayPool<int>.Shared.Rent(Math.Max(max, 1));
        var keys = ArrayPool<long>.Shared.Rent(Math.Max(max, 1));
        try
        {
            for (var k = 0; k < order.Length; k++)
            {
                var row = rows[order[k]];
                var n = row.SampleCount;
                view.ReadSamples(row, stacks, values, sets);
                for (var i = 0; i < n; i++)
                {
                    keys[i] = ((long)stacks[i] << 32) | (uint)i;
                }

                Array.Sort(keys, 0, n);
                var offset = samples.Length;
                var prev = 0;
                for (var i = 0; i < n; i++)
                {
                    var src = (int)(uint)keys[i];
                    var s = stacks[src];
                    samples.UVarint((ulong)(s - prev));
                    samples.Varint(values[src]);
                    prev = s;
                }

                if (row.HasSampleLabels)
                {
                    for (var i = 0; i < n; i++)
                    {
                        samples.UVarint((ulong)sets[(int)(uint)keys[i]]);
                    }
                }

                row.Offset = offset;
                row.Chunk = 0;
                newRows[k] = row;
                series.GetSeries(row.Series).Profiles.Add(k);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(stacks);
            ArrayPool<long>.Shared.Return(values);
            ArrayPool<int>.Shared.Return(sets);
            ArrayPool<long>.Shared.Return(keys);
        }

        var sym = view.Symbols;
        var symbols = new SymbolsView(
            sym.Strings.ToArray(), sym.StringCount,
            sym.Mappings.ToArray(), sym.MappingCount,
            sym.Functions.ToArray(), sym.FunctionCount,
            sym.Locations.ToArray(), sym.LocationCount,
            sym.Lines.ToArray(), sym.LineCount);
        var tree = new StackTreeView(view.Tree.Parents.ToArray(), view.Tree.Locations.ToArray(), view.Tree.Count);
        var labels = view.SampleLabels;
        var labelEnd = labels.OffsetArray[labels.SetCount];
        var sampleLabels = new SampleLabelsView(
            labels.LabelArray.AsSpan(0, labelEnd).ToArray(), labels.OffsetArray.AsSpan(0, labels.SetCount + 1).ToArray(), labels.SetCount);
        return new BlockPartition(id, series, newRows, tree, symbols, sampleLabels, samples.ToArray());
    }
}
