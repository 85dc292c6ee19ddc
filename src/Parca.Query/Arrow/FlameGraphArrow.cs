using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Parca.Query.Reports;

namespace Parca.Query.Arrow;

/// <summary>
/// REPORT_TYPE_FLAMEGRAPH_ARROW: one row per flame-graph node (row 0 = root) with Parca's columns: labels_only,
/// location_address, mapping_file, mapping_build_id, location_line, inlined, function_startline, function_name,
/// function_system_name, function_file_name, children, parent, cumulative, flat, diff, timestamp, depth, value_offset,
/// then labels.&lt;name&gt; per grouped label. Dictionaries are compacted to referenced values, integer widths are the
/// smallest that fit (as Parca), dictionary indices are int32. The per-row columns of a large graph are filled in
/// parallel over ranges of rows; then the tree columns (parent, children, value_offset, in one sequential pass), the
/// dictionaries and the integer widths side by side.
/// </summary>
public static partial class FlameGraphArrow
{
    // Rows per parallel range: large enough that a range costs far more than scheduling it.
    private const int RangeRows = 32 * 1024;

    /// <summary>Returns the IPC stream and the graph height (max depth + 1).</summary>
    public static (byte[] Record, int Height) Build(FlameGraph g, IReadOnlyList<int> kept)
    {
        var (columns, height) = Columns(g, kept);
        return (ArrowIpcWriter.Write(columns), height);
    }

    /// <summary>The record's columns and the graph height (the writer comparison in bench/ reuses them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    internal static (List<ArrowColumn> Columns, int Height) Columns(FlameGraph g, IReadOnlyList<int> kept)
    {
        var r = g.Result;
        var n = kept.Count;
        var rows = new RowColumns(n, r.GroupTimes.Exists(t => t != 0));
        var labelNames = new List<string>();
        foreach (var group in r.Groups)
        {
            foreach (var l in group.Labels)
            {
                if (!labelNames.Contains(l.Name))
                {
                    labelNames.Add(l.Name);
                }
            }
        }

        var labelValues = labelNames.Select(_ => new string?[n]).ToArray();
        var height = 0;
        if (n < 2 * RangeRows)
        {
            height = rows.Fill(g, kept, 0, n, labelNames, labelValues);
        }
        else
        {
            Parallel.ForEach(Partitioner.Create(0, n, RangeRows), range =>
            {
                var h = rows.Fill(g, kept, range.Item1, range.Item2, labelNames, labelValues);
                InterlockedMax(ref height, h);
            });
        }

        // The columns built from whole row columns (dictionaries, widths, the tree) do not depend on each other: on a
        // large graph they are built side by side.
        var strings = g.Result.Symbols.Strings;
        var columns = new ArrowColumn[18];
        Action[] parts =
        [
            () =>
            {
                var tree = TreeColumns(g, kept, rows.Cumulative);
                columns[10] = new IntListColumn("children", tree.Offsets, tree.Items, 32, false, tree.ChildValid);
                columns[11] = new IntColumn("parent", 32, true, tree.Parent);
                columns[17] = IntColumn.SmallestUnsigned("value_offset", tree.ValueOffset);
            },
            () => columns[2] = DictionaryColumn.FromIds("mapping_file", rows.MappingFile, strings),
            () => columns[3] = DictionaryColumn.FromIds("mapping_build_id", rows.BuildId, strings),
            () => columns[7] = DictionaryColumn.FromIds("function_name", rows.FunctionName, strings),
            () => columns[8] = DictionaryColumn.FromIds("function_system_name", rows.FunctionSystemName, strings),
            () => columns[9] = DictionaryColumn.FromIds("function_file_name", rows.FunctionFileName, strings),
            () =>
            {
                columns[0] = new BoolColumn("labels_only", rows.LabelsOnly);
                columns[1] = new IntColumn("location_address", 64, false, rows.Address);
                columns[4] = IntColumn.SmallestUnsigned("location_line", rows.Line, rows.LineValid);
                columns[5] = new BoolColumn("inlined", rows.Inlined, rows.LineValid);
                columns[6] = IntColumn.SmallestUnsigned("function_startline", rows.StartLine);
                columns[12] = IntColumn.SmallestUnsigned("cumulative", rows.Cumulative);
                columns[13] = IntColumn.SmallestUnsigned("flat", rows.Flat);
                columns[14] = IntColumn.SmallestSigned("diff", rows.Diff);
                columns[15] = new IntColumn("timestamp", 64, true, rows.Timestamp, rows.TimestampValid ?? new bool[n]);
                columns[16] = IntColumn.SmallestUnsigned("depth", rows.Depth);
            },
        ];
        if (n < 2 * RangeRows)
        {
            foreach (var part in parts)
            {
                part();
            }
        }
        else
        {
            Parallel.Invoke(parts);
        }

        var list = new List<ArrowColumn>(columns.Length + labelNames.Count);
        list.AddRange(columns);
        for (var k = 0; k < labelNames.Count; k++)
        {
            list.Add(DictionaryColumn.From("labels." + labelNames[k], labelValues[k]));
        }

        return (list, height + 1);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>
    /// parent (row), value_offset (where a node starts within its parent: the parent's offset plus its earlier
    /// siblings' values) and children (rows, as a list column). Rows are in id order and parents precede children,
    /// so a counting pass gives each parent's slice and a second pass fills it in row order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    private static (long[] Parent, long[] ValueOffset, int[] Offsets, int[] Items, bool[] ChildValid) TreeColumns(FlameGraph g, IReadOnlyList<int> kept, long[] cumulative)
    {
        var n = kept.Count;
        var parent = new long[n];
        var valueOffset = new long[n];
        var childCount = new int[n];
        var nextOffset = ArrayPool<long>.Shared.Rent(n);
        nextOffset.AsSpan(0, n).Clear();
        var rowOf = ArrayPool<int>.Shared.Rent(g.Count);
        try
        {
            for (var i = 0; i < n; i++)
            {
                rowOf[kept[i]] = i;
            }

            parent[0] = -1;
            for (var i = 1; i < n; i++)
            {
                var p = rowOf[g.Parent[kept[i]]];
                parent[i] = p;
                childCount[p]++;
                valueOffset[i] = nextOffset[p];
                nextOffset[p] += Math.Abs(cumulative[i]);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rowOf);
            ArrayPool<long>.Shared.Return(nextOffset);
        }

        var offsets = new int[n + 1];
        var childValid = new bool[n];
        for (var i = 0; i < n; i++)
        {
            offsets[i + 1] = offsets[i] + childCount[i];
            childValid[i] = childCount[i] > 0;
        }

        var items = new int[offsets[n]];
        var fill = childCount; // reused as the next free slot per parent
        Array.Copy(offsets, fill, n);
        for (var i = 1; i < n; i++)
        {
            items[fill[(int)parent[i]]++] = i;
        }

        return (parent, valueOffset, offsets, items, childValid);
    }
}
