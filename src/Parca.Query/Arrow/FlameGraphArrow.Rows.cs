using System.Runtime.CompilerServices;
using Parca.Query.Reports;

namespace Parca.Query.Arrow;

public static partial class FlameGraphArrow
{
    /// <summary>The columns that depend on one node alone, so that ranges of rows can be filled independently.</summary>
    private sealed class RowColumns(int n, bool timestamps)
    {
        public bool[] LabelsOnly { get; } = new bool[n];
        public long[] Address { get; } = new long[n];
        public int[] MappingFile { get; } = new int[n];
        public int[] BuildId { get; } = new int[n];
        public long[] Line { get; } = new long[n];
        public bool[] LineValid { get; } = new bool[n];
        public bool[] Inlined { get; } = new bool[n];
        public long[] StartLine { get; } = new long[n];
        public int[] FunctionName { get; } = new int[n];
        public int[] FunctionSystemName { get; } = new int[n];
        public int[] FunctionFileName { get; } = new int[n];
        public long[] Cumulative { get; } = new long[n];
        public long[] Flat { get; } = new long[n];
        public long[] Diff { get; } = new long[n];
        public long[] Timestamp { get; } = new long[n];

        /// <summary>Null unless the result is grouped by timestamp (flame chart): then set on label-group rows.</summary>
        public bool[]? TimestampValid { get; } = timestamps ? new bool[n] : null;

        public long[] Depth { get; } = new long[n];

        /// <summary>Fills rows [from, to) and returns their greatest depth.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
        public int Fill(FlameGraph g, IReadOnlyList<int> kept, int from, int to, List<string> labelNames, string?[][] labelValues)
        {
            var r = g.Result;
            var sym = r.Symbols;
            var height = 0;
            for (var i = from; i < to; i++)
            {
                var node = kept[i];
                Cumulative[i] = g.Cumulative[node];
                Flat[i] = g.Flat[node];
                Diff[i] = g.Diff[node];
                Depth[i] = g.Depth[node];
                height = Math.Max(height, g.Depth[node]);
                MappingFile[i] = BuildId[i] = FunctionName[i] = FunctionSystemName[i] = FunctionFileName[i] = -1;
                if (node == 0)
                {
                    continue;
                }

                var group = g.GroupNode[node];
                if (group >= 0)
                {
                    LabelsOnly[i] = true;
                    if (r.GroupTimes[group] != 0)
                    {
                        TimestampValid![i] = true;
                        Timestamp[i] = r.GroupTimes[group];
                    }

                    foreach (var l in r.Groups[group].Labels)
                    {
                        labelValues[labelNames.IndexOf(l.Name)][i] = l.Value;
                    }

                    continue;
                }

                var loc = sym.Locations[g.Location[node]];
                Address[i] = (long)loc.Address;
                if (loc.Mapping != 0)
                {
                    var m = sym.Mappings[loc.Mapping];
                    MappingFile[i] = m.File;
                    BuildId[i] = m.BuildId;
                }

                if (g.Line[node] >= 0)
                {
                    var ln = sym.Lines[loc.FirstLine + g.Line[node]];
                    Line[i] = ln.Line;
                    LineValid[i] = true;
                    Inlined[i] = g.IsInlined(node);
                    if (ln.Function != 0)
                    {
                        var f = sym.Functions[ln.Function];
                        StartLine[i] = f.StartLine;
                        FunctionName[i] = f.Name;
                        FunctionSystemName[i] = f.SystemName;
                        FunctionFileName[i] = f.FileName;
                    }
                }
            }

            return height;
        }
    }
}
