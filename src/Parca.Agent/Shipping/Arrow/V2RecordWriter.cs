using Apache.Arrow;
using Apache.Arrow.Compression;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using static Parca.Agent.Shipping.Arrow.ArrowBuild;

namespace Parca.Agent.Shipping.Arrow;

/// <summary>
/// Writes Parca's v2 sample record (WriteArrow) the way parca-agent's SampleWriterV2 does (same fields, types, order and
/// metadata): labels as a struct of run-end encoded string dictionaries, stacks as a list view over one location
/// dictionary (identical stacks reuse offset and size; with <c>overlap</c> a stack that is a run inside an earlier
/// one points into it), run-end encoded type columns, a UUID stacktrace_id and a nanosecond timestamp. Several
/// batches share the dictionaries, which the IPC stream carries once.
/// </summary>
internal static class V2RecordWriter
{
    internal static readonly StructType FunctionType = new([
        new Field("system_name", StringViewType.Default, true),
        new Field("filename", StringDict, true),
        new Field("start_line", UInt64Type.Default, false)]);

    internal static readonly DictionaryType FunctionDict = new(UInt32Type.Default, FunctionType, false);

    internal static readonly StructType LineType = new([
        new Field("line", UInt64Type.Default, false),
        new Field("column", UInt64Type.Default, false),
        new Field("function", FunctionDict, false)]);

    internal static readonly ListViewType LinesType = new(LineType);

    internal static readonly StructType LocationType = new([
        new Field("address", UInt64Type.Default, false),
        new Field("frame_type", StringDict, true),
        new Field("mapping_file", StringDict, true),
        new Field("mapping_build_id", StringDict, true),
        new Field("lines", LinesType, true)]);

    private static DictionaryType LocationDict => V2RecordWriterTypes.LocationDict;
    private static readonly ListViewType s_stackType = V2RecordWriterTypes.StackType;

    /// <param name="overlap">Look for each new stack inside the ones already written (tests; slow on large records).</param>
    /// <param name="editSchema">Changes the schema before it is written (tests that need malformed records).</param>
    /// <param name="editColumns">Changes each batch's columns before it is written (the same tests).</param>
    public static byte[] Write(IReadOnlyList<IReadOnlyList<ArrowSample>> batches, bool lz4 = false, bool overlap = false,
        Func<Schema, Schema>? editSchema = null, Func<List<IArrowArray>, List<IArrowArray>>? editColumns = null)
    {
        var labelNames = batches.SelectMany(b => b).SelectMany(s => s.Labels.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var frames = new List<Frame>();
        var frameIds = new Dictionary<string, int>();
        foreach (var s in batches.SelectMany(b => b))
        {
            foreach (var f in s.Stack ?? [])
            {
                if (frameIds.TryAdd(f.Key, frames.Count))
                {
                    frames.Add(f);
                }
            }
        }

        var locations = Locations(frames);
        var labelDictionaries = labelNames.ToDictionary(n => n, _ => new List<string>());
        var labelTypes = labelNames.Select(_ => Ree(StringDict)).ToList(); // one each: a dictionary per label
        var labelFields = labelNames.Select((n, i) => new Field(n, labelTypes[i], true)).ToList();
        var labelsType = new StructType(labelFields);
        var strings = Ree(StringType.Default);
        var int64s = Ree(Int64Type.Default);
        var uint64s = Ree(UInt64Type.Default);
        var timestampType = new TimestampType(TimeUnit.Nanosecond, "UTC");
        var schema = new Schema([
            new Field("labels", labelsType, false),
            new Field("stacktrace", s_stackType, true),
            new Field("stacktrace_id", new GuidType(), false),
            new Field("value", Int64Type.Default, false),
            new Field("producer", strings, false),
            new Field("sample_type", strings, false),
            new Field("sample_unit", strings, false),
            new Field("period_type", strings, false),
            new Field("period_unit", strings, false),
            new Field("temporality", strings, true),
            new Field("period", int64s, false),
            new Field("duration", uint64s, false),
            new Field("timestamp", timestampType, false)],
            [new KeyValuePair<string, string>("parca_write_schema_version", "v2")]);
        if (editSchema is not null)
        {
            schema = editSchema(schema);
        }

        var options = new IpcOptions();
        if (lz4)
        {
            options.CompressionCodec = CompressionCodecType.Lz4Frame;
            options.CompressionCodecFactory = new CompressionCodecFactory();
        }

        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true, options))
        {
            // Dictionaries are written once, with the first batch: every batch indexes the same full dictionaries,
            // so all label values are collected before the first batch is built.
            var labelColumns = batches.Select(b => labelNames.Select(n => b.Select(s => s.Labels.GetValueOrDefault(n)).ToList()).ToList()).ToList();
            foreach (var batchColumns in labelColumns)
            {
                for (var l = 0; l < labelNames.Count; l++)
                {
                    foreach (var v in batchColumns[l].Where(v => v is not null && !labelDictionaries[labelNames[l]].Contains(v)))
                    {
                        labelDictionaries[labelNames[l]].Add(v!);
                    }
                }
            }

            for (var b = 0; b < batches.Count; b++)
            {
                var rows = batches[b];
                var labelArrays = labelNames.Select((n, l) => (IArrowArray)RunEnd(labelColumns[b][l], runs => DictOf(runs, StringDict, labelDictionaries[n]), labelTypes[l])).ToList();
                IArrowArray[] columns =
                [
                    new StructArray(labelsType, rows.Count, labelArrays, ArrowBuffer.Empty),
                    Stacks(rows, frameIds, locations, overlap),
                    StackIds(rows),
                    new Int64Array.Builder().AppendRange(rows.Select(s => s.Value)).Build(),
                    RunEnd(rows.Select(s => s.Producer).ToList(), r => Strings(r), strings),
                    RunEnd(rows.Select(s => s.SampleType).ToList(), r => Strings(r), strings),
                    RunEnd(rows.Select(s => s.SampleUnit).ToList(), r => Strings(r), strings),
                    RunEnd(rows.Select(s => s.PeriodType).ToList(), r => Strings(r), strings),
                    RunEnd(rows.Select(s => s.PeriodUnit).ToList(), r => Strings(r), strings),
                    RunEnd(rows.Select(s => s.Temporality).ToList(), r => Strings(r), strings),
                    RunEnd(rows.Select(s => s.Period).ToList(), r => new Int64Array.Builder().AppendRange(r).Build(), int64s),
                    RunEnd(rows.Select(s => s.Duration).ToList(), r => new UInt64Array.Builder().AppendRange(r).Build(), uint64s),
                    new TimestampArray.Builder(timestampType).AppendRange(rows.Select(s => DateTimeOffset.UnixEpoch.AddTicks(s.TimeNanos / 100))).Build(),
                ];
                using var batch = new RecordBatch(schema, editColumns?.Invoke([.. columns]) ?? [.. columns], rows.Count);
                writer.WriteRecordBatch(batch);
            }

            writer.WriteEnd();
        }

        return stream.ToArray();
    }

    private static GuidArray StackIds(IReadOnlyList<ArrowSample> rows)
    {
        var b = new GuidArray.Builder();
        // Rows of one stack usually share its array (the agent writes one row per sample type): hashed once.
        var known = new Dictionary<Frame[], Guid>(ReferenceEqualityComparer.Instance);
        foreach (var s in rows)
        {
            var stack = s.Stack ?? [];
            if (!known.TryGetValue(stack, out var id))
            {
                var key = string.Join(",", stack.Select(f => f.Key));
                id = new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(key)));
                known[stack] = id;
            }

            b.Append(id);
        }

        return b.Build();
    }

    /// <summary>The stacktrace list view of one batch: offsets/sizes into a per-batch index array.</summary>
    private static ListViewArray Stacks(IReadOnlyList<ArrowSample> rows, Dictionary<string, int> frameIds, StructArray locations, bool overlap)
    {
        var indices = new List<int>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var offsets = new List<int>();
        var sizes = new List<int>();
        var valid = new List<bool>();
        foreach (var s in rows)
        {
            if (s.Stack is null)
            {
                offsets.Add(0);
                sizes.Add(0);
                valid.Add(false);
                continue;
            }

            var ids = s.Stack.Select(f => frameIds[f.Key]).ToArray();
            var key = string.Join(",", ids);
            if (!seen.TryGetValue(key, out var at)) // identical stacks share offset and size, as parca-agent writes them
            {
                at = overlap ? Find(indices, ids) : -1;
                if (at < 0)
                {
                    at = indices.Count;
                    indices.AddRange(ids);
                }

                seen.Add(key, at);
            }

            offsets.Add(ids.Length == 0 ? 0 : at);
            sizes.Add(ids.Length);
            valid.Add(true);
        }

        var dict = new DictionaryArray(LocationDict, Indices(indices), locations);
        var validity = Validity(valid, out var nulls);
        return new ListViewArray(s_stackType, rows.Count, Buffer(offsets), Buffer(sizes), dict, validity, nulls);
    }

    private static int Find(List<int> haystack, int[] needle)
    {
        if (needle.Length == 0)
        {
            return -1;
        }

        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The location dictionary: locations without lines have a null lines entry (as the agent writes them).</summary>
    private static StructArray Locations(List<Frame> frames)
    {
        var functions = new List<(string Name, string? File, ulong Start)>();
        var functionIds = new Dictionary<(string Name, string? File, ulong Start), int>();
        var lineNumbers = new List<ulong>();
        var lineFunctions = new List<int>();
        var lineOffsets = new List<int>();
        var lineSizes = new List<int>();
        var linesValid = new List<bool>();
        foreach (var f in frames)
        {
            lineOffsets.Add(lineNumbers.Count);
            lineSizes.Add(f.Lines.Length);
            linesValid.Add(f.Lines.Length > 0);
            foreach (var l in f.Lines)
            {
                var fn = (l.Function, l.File, l.StartLine);
                if (!functionIds.TryGetValue(fn, out var id))
                {
                    id = functions.Count;
                    functions.Add(fn);
                    functionIds.Add(fn, id);
                }

                lineNumbers.Add(l.Number);
                lineFunctions.Add(id);
            }
        }

        var sysNames = new StringViewArray.Builder();
        foreach (var f in functions)
        {
            sysNames.Append(f.Name);
        }

        var functionStruct = new StructArray(FunctionType, functions.Count,
            [sysNames.Build(), DictOf(functions.Select(f => f.File).ToList(), StringDict), new UInt64Array.Builder().AppendRange(functions.Select(f => f.Start)).Build()],
            ArrowBuffer.Empty);
        var lineStruct = new StructArray(LineType, lineNumbers.Count,
            [new UInt64Array.Builder().AppendRange(lineNumbers).Build(), new UInt64Array.Builder().AppendRange(lineNumbers.Select(_ => 0UL)).Build(), new DictionaryArray(FunctionDict, Indices(lineFunctions), functionStruct)],
            ArrowBuffer.Empty);
        var linesValidity = Validity(linesValid, out var lineNulls);
        var lines = new ListViewArray(LinesType, frames.Count, Buffer(lineOffsets), Buffer(lineSizes), lineStruct, linesValidity, lineNulls);
        return new StructArray(LocationType, frames.Count,
        [
            new UInt64Array.Builder().AppendRange(frames.Select(f => f.Address)).Build(),
            DictOf(frames.Select(f => f.FrameType).ToList(), StringDict),
            DictOf(frames.Select(f => f.MappingFile).ToList(), StringDict),
            DictOf(frames.Select(f => f.BuildId).ToList(), StringDict),
            lines,
        ], ArrowBuffer.Empty);
    }
}

/// <summary>The stack types, apart so that the static initialization order is explicit.</summary>
internal static class V2RecordWriterTypes
{
    public static readonly DictionaryType LocationDict = new(UInt32Type.Default, V2RecordWriter.LocationType, false);
    public static readonly ListViewType StackType = new(LocationDict);
}
