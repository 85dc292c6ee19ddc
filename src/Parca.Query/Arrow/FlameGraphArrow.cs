using System.Buffers;
using Parca.Query.Reports;

namespace Parca.Query.Arrow;

/// <summary>
/// REPORT_TYPE_FLAMEGRAPH_ARROW: one row per flame-graph node (row 0 = root) with Parca's columns: labels_only,
/// location_address, mapping_file, mapping_build_id, location_line, inlined, function_startline, function_name,
/// function_system_name, function_file_name, children, parent, cumulative, flat, diff, timestamp, depth, value_offset,
/// then labels.&lt;name&gt; per grouped label. Dictionaries are compacted to referenced values, integer widths are the
/// smallest that fit (as Parca), dictionary indices are int32.
/// </summary>
public static class FlameGraphArrow
{
    /// <summary>Returns the IPC stream and the graph height (max depth + 1).</summary>
    public static (byte[] Record, int Height) Build(FlameGraph g, IReadOnlyList<int> kept)
    {
        var (columns, height) = Columns(g, kept);
        return (ArrowIpcWriter.Write(columns), height);
    }

    /// <summary>The record's columns and the graph height (the writer comparison in bench/ reuses them).</summary>
    internal static (List<ArrowColumn> Columns, int Height) Columns(FlameGraph g, IReadOnlyList<int> kept)
    {
        var r = g.Result;
        var sym = r.Symbols;
        var n = kept.Count;
        var rowOf = ArrayPool<int>.Shared.Rent(g.Count);
        for (var i = 0; i < n; i++)
        {
            rowOf[kept[i]] = i;
        }

        var labelsOnly = new bool[n];
        var address = new long[n];
        var mappingFile = new int[n];
        var buildId = new int[n];
        var line = new long[n];
        var lineValid = new bool[n];
        var inlined = new bool[n];
        var inlinedValid = new bool[n];
        var startLine = new long[n];
        var fnName = new int[n];
        var fnSystem = new int[n];
        var fnFile = new int[n];
        var parent = new long[n];
        var cumulative = new long[n];
        var flat = new long[n];
        var diff = new long[n];
        var timestamp = new long[n];
        bool[]? timestampValid = null; // null for every row unless the result is grouped by timestamp (flame chart)
        var depth = new long[n];
        var valueOffset = new long[n];
        var childCount = new int[n];
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
        var nextOffset = new long[n];
        var height = 0;
        for (var i = 0; i < n; i++)
        {
            var node = kept[i];
            cumulative[i] = g.Cumulative[node];
            flat[i] = g.Flat[node];
            diff[i] = g.Diff[node];
            depth[i] = g.Depth[node];
            height = Math.Max(height, g.Depth[node]);
            mappingFile[i] = buildId[i] = fnName[i] = fnSystem[i] = fnFile[i] = -1;
            if (node == 0)
            {
                parent[i] = -1;
                continue;
            }

            var p = rowOf[g.Parent[node]];
            parent[i] = p;
            childCount[p]++;
            valueOffset[i] = nextOffset[p];
            nextOffset[p] += Math.Abs(cumulative[i]);

            var group = g.GroupNode[node];
            if (group >= 0)
            {
                labelsOnly[i] = true;
                if (r.GroupTimes[group] != 0)
                {
                    timestampValid ??= new bool[n];
                    timestampValid[i] = true;
                    timestamp[i] = r.GroupTimes[group];
                }

                foreach (var l in r.Groups[group].Labels)
                {
                    labelValues[labelNames.IndexOf(l.Name)][i] = l.Value;
                }

                continue;
            }

            var loc = sym.Locations[g.Location[node]];
            address[i] = (long)loc.Address;
            if (loc.Mapping != 0)
            {
                var m = sym.Mappings[loc.Mapping];
                mappingFile[i] = m.File;
                buildId[i] = m.BuildId;
            }

            if (g.Line[node] >= 0)
            {
                var ln = sym.Lines[loc.FirstLine + g.Line[node]];
                line[i] = ln.Line;
                lineValid[i] = true;
                inlined[i] = g.IsInlined(node);
                inlinedValid[i] = true;
                if (ln.Function != 0)
                {
                    var f = sym.Functions[ln.Function];
                    startLine[i] = f.StartLine;
                    fnName[i] = f.Name;
                    fnSystem[i] = f.SystemName;
                    fnFile[i] = f.FileName;
                }
            }
        }

        ArrayPool<int>.Shared.Return(rowOf);

        // Children as one list column: rows are in id order and parents precede children, so a counting pass
        // gives each parent's slice and a second pass fills it in row order.
        var offsets = new int[n + 1];
        var childValid = new bool[n];
        for (var i = 0; i < n; i++)
        {
            offsets[i + 1] = offsets[i] + childCount[i];
            childValid[i] = childCount[i] > 0;
        }

        var items = new long[offsets[n]];
        var fill = childCount; // reused as the next free slot per parent
        for (var i = 0; i < n; i++)
        {
            fill[i] = offsets[i];
        }

        for (var i = 1; i < n; i++)
        {
            var p = (int)parent[i];
            items[fill[p]++] = i;
        }

        var strings = sym.Strings;
        var scratch = ArrayPool<int>.Shared.Rent(strings.Count);
        scratch.AsSpan(0, strings.Count).Fill(-1);
        var columns = new List<ArrowColumn>
        {
            new BoolColumn("labels_only", labelsOnly),
            new IntColumn("location_address", 64, false, address),
            DictionaryColumn.FromIds("mapping_file", mappingFile, strings, scratch),
            DictionaryColumn.FromIds("mapping_build_id", buildId, strings, scratch),
            IntColumn.SmallestUnsigned("location_line", line, lineValid),
            new BoolColumn("inlined", inlined, inlinedValid),
            IntColumn.SmallestUnsigned("function_startline", startLine),
            DictionaryColumn.FromIds("function_name", fnName, strings, scratch),
            DictionaryColumn.FromIds("function_system_name", fnSystem, strings, scratch),
            DictionaryColumn.FromIds("function_file_name", fnFile, strings, scratch),
            new IntListColumn("children", offsets, items, 32, false, childValid),
            new IntColumn("parent", 32, true, parent),
            IntColumn.SmallestUnsigned("cumulative", cumulative),
            IntColumn.SmallestUnsigned("flat", flat),
            IntColumn.SmallestSigned("diff", diff),
            new IntColumn("timestamp", 64, true, timestamp, timestampValid ?? new bool[n]),
            IntColumn.SmallestUnsigned("depth", depth),
            IntColumn.SmallestUnsigned("value_offset", valueOffset),
        };
        for (var k = 0; k < labelNames.Count; k++)
        {
            columns.Add(DictionaryColumn.From("labels." + labelNames[k], labelValues[k]));
        }

        ArrayPool<int>.Shared.Return(scratch);
        return (columns, height + 1);
    }
}
