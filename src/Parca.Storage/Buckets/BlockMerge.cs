using Parca.Storage.Blocks;
using Parca.Storage.Head;
using Parca.Storage.Ingest;
using Parca.Storage.Symbols;

namespace Parca.Storage.Buckets;

/// <summary>
/// Merges blocks into one for bucket compaction: every profile of every input is appended again to a fresh head (which
/// interns symbols, stacks and series across the inputs exactly as ingest does), and the head is built into a block.
/// Control plane (a background job of the lease holder), so it favours reuse of the ingest path over speed.
/// </summary>
internal static class BlockMerge
{
    public static BlockPartition Merge(IReadOnlyList<PartitionView> inputs, string id)
    {
        var head = new HeadPartition();
        long min = long.MaxValue, max = long.MinValue;
        foreach (var view in inputs)
        {
            var sym = view.Symbols;
            var strings = new List<string>(sym.StringCount + 8);
            foreach (var s in sym.Strings)
            {
                strings.Add(s);
            }

            var baseCount = strings.Count;
            var mappings = new IngestMapping[Math.Max(sym.MappingCount - 1, 0)];
            for (var i = 1; i < sym.MappingCount; i++)
            {
                var m = sym.Mappings[i];
                mappings[i - 1] = new IngestMapping(m.Start, m.Limit, m.Offset, m.File, m.BuildId);
            }

            var functions = new IngestFunction[Math.Max(sym.FunctionCount - 1, 0)];
            for (var i = 1; i < sym.FunctionCount; i++)
            {
                var f = sym.Functions[i];
                functions[i - 1] = new IngestFunction(f.Name, f.SystemName, f.FileName, f.StartLine);
            }

            var lines = new IngestLine[sym.LineCount];
            for (var i = 0; i < sym.LineCount; i++)
            {
                lines[i] = new IngestLine(sym.Lines[i].Function - 1, sym.Lines[i].Line);
            }

            var locations = new IngestLocation[Math.Max(sym.LocationCount - 1, 0)];
            for (var i = 1; i < sym.LocationCount; i++)
            {
                var l = sym.Locations[i];
                locations[i - 1] = new IngestLocation(l.Mapping - 1, l.Address, l.FirstLine, l.LineCount);
            }

            var tree = view.Tree;
            foreach (var row in view.Rows)
            {
                var series = view.Series.GetSeries(row.Series);
                strings.RemoveRange(baseCount, strings.Count - baseCount);
                strings.AddRange([series.Type.SampleType, series.Type.SampleUnit, series.Type.PeriodType, series.Type.PeriodUnit]);
                var n = row.SampleCount;
                var stacks = new int[n];
                var values = new long[n];
                var sets = new int[n];
                view.ReadSamples(row, stacks, values, sets);
                var offsets = new int[n + 1];
                var stackLocations = new List<int>();
                List<int>? labelOffsets = row.HasSampleLabels ? [0] : null;
                List<IngestSampleLabel>? labels = row.HasSampleLabels ? [] : null;
                for (var i = 0; i < n; i++)
                {
                    for (var node = stacks[i]; node > 0; node = tree.Parents[node])
                    {
                        stackLocations.Add(tree.Locations[node] - 1); // leaf first, as pprof
                    }

                    offsets[i + 1] = stackLocations.Count;
                    if (labels is not null)
                    {
                        foreach (var l in view.SampleLabels.Get(sets[i]))
                        {
                            labels.Add(new IngestSampleLabel(l.Key, l.Str, l.Num, l.NumUnit));
                        }

                        labelOffsets!.Add(labels.Count);
                    }
                }

                var profile = new IngestProfile
                {
                    Strings = [.. strings],
                    Mappings = mappings,
                    Functions = functions,
                    Locations = locations,
                    Lines = lines,
                    SampleTypes = [new IngestValueType(baseCount, baseCount + 1)],
                    PeriodType = new IngestValueType(baseCount + 2, baseCount + 3),
                    Period = row.Period,
                    TimeNanos = row.TimeNanos,
                    DurationNanos = row.DurationNanos,
                    SampleCount = n,
                    StackOffsets = offsets,
                    StackLocations = [.. stackLocations],
                    Values = [values],
                    LabelOffsets = labelOffsets?.ToArray(),
                    SampleLabels = labels?.ToArray(),
                };
                var prepared = SymbolDb.Prepare(profile);
                try
                {
                    head.Append(series.Type.Name, series.Labels, prepared);
                }
                finally
                {
                    prepared.Release();
                }

                min = Math.Min(min, row.TimeNanos);
                max = Math.Max(max, row.TimeNanos);
            }
        }

        head.Seal();
        return BlockBuilder.Build(head.View(), id, min, max);
    }
}
