using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Parca.Agent.Shipping.Arrow;
using static Parca.Agent.Shipping.Arrow.ArrowBuild;

namespace Parca.Server.Tests.Arrow;

/// <summary>
/// Writes Parca's v1 records the way parca-agent's SampleWriter and LocationsWriter do: the sample record (labels
/// as <c>labels.&lt;name&gt;</c> columns, everything run-end encoded over binary dictionaries, a stack id per row)
/// and the locations record that describes the stack ids the server asked for.
/// </summary>
internal static class V1RecordWriter
{
    private static readonly RunEndEncodedType s_functionFileType = Ree(BinaryDict);
    private static readonly RunEndEncodedType s_frameTypeType = Ree(BinaryDict);
    private static readonly RunEndEncodedType s_startType = Ree(UInt64Type.Default);
    private static readonly RunEndEncodedType s_limitType = Ree(UInt64Type.Default);
    private static readonly RunEndEncodedType s_offsetType = Ree(UInt64Type.Default);
    private static readonly RunEndEncodedType s_fileType = Ree(BinaryDict);
    private static readonly RunEndEncodedType s_buildIdType = Ree(BinaryDict);

    private static readonly StructType s_lineType = new([
        new Field("line", Int64Type.Default, true),
        new Field("column", UInt64Type.Default, true),
        new Field("function_name", BinaryDict, true),
        new Field("function_system_name", BinaryDict, true),
        new Field("function_filename", s_functionFileType, true),
        new Field("function_start_line", Int64Type.Default, true)]);

    private static readonly ListType s_linesType = new(s_lineType);

    private static readonly StructType s_locationType = new([
        new Field("address", UInt64Type.Default, true),
        new Field("frame_type", s_frameTypeType, true),
        new Field("mapping_start", s_startType, true),
        new Field("mapping_limit", s_limitType, true),
        new Field("mapping_offset", s_offsetType, true),
        new Field("mapping_file", s_fileType, true),
        new Field("mapping_build_id", s_buildIdType, true),
        new Field("lines", s_linesType, true)]);

    private static readonly ListType s_locationsType = new(s_locationType);

    private static readonly KeyValuePair<string, string>[] s_v1 = [new("parca_write_schema_version", "v1")];

    public static string StackKey(ArrowSample s) => string.Join(",", (s.Stack ?? []).Select(f => f.Key));

    public static byte[] StackId(ArrowSample s) => System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(StackKey(s)));

    public static byte[] SampleRecord(IReadOnlyList<ArrowSample> rows)
    {
        var labelNames = rows.SelectMany(s => s.Labels.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var fields = new List<Field>();
        var columns = new List<IArrowArray>();
        void Add(string name, IArrowType type, Func<RunEndEncodedType, IArrowArray> array)
        {
            // A type per column: the IPC writer keys each dictionary by its Field instance.
            var t = type is RunEndEncodedType ? Ree(((RunEndEncodedType)type).ValuesDataType) : null;
            fields.Add(new Field(name, t ?? type, true));
            columns.Add(array(t!));
        }

        foreach (var n in labelNames)
        {
            Add("labels." + n, Ree(BinaryDict), t => RunEnd(rows.Select(s => s.Labels.GetValueOrDefault(n)).ToList(), r => DictOf(r, BinaryDict), t));
        }

        Add("stacktrace_id", Ree(BinaryDict), t => RunEnd(rows.Select(s => Convert.ToHexString(StackId(s))).ToList(),
            r => new DictionaryArray(BinaryDict, Indices(r.Select((_, i) => Unique(r).IndexOf(r[i]))), Binaries(Unique(r).Select(h => (byte[]?)Convert.FromHexString(h)))), t));
        Add("value", Int64Type.Default, _ => new Int64Array.Builder().AppendRange(rows.Select(s => s.Value)).Build());
        Add("producer", Ree(BinaryDict), t => RunEnd(rows.Select(s => (string?)s.Producer).ToList(), r => DictOf(r, BinaryDict), t));
        Add("sample_type", Ree(BinaryDict), t => RunEnd(rows.Select(s => (string?)s.SampleType).ToList(), r => DictOf(r, BinaryDict), t));
        Add("sample_unit", Ree(BinaryDict), t => RunEnd(rows.Select(s => (string?)s.SampleUnit).ToList(), r => DictOf(r, BinaryDict), t));
        Add("period_type", Ree(BinaryDict), t => RunEnd(rows.Select(s => (string?)s.PeriodType).ToList(), r => DictOf(r, BinaryDict), t));
        Add("period_unit", Ree(BinaryDict), t => RunEnd(rows.Select(s => (string?)s.PeriodUnit).ToList(), r => DictOf(r, BinaryDict), t));
        Add("temporality", Ree(BinaryDict), t => RunEnd(rows.Select(s => s.Temporality).ToList(), r => DictOf(r, BinaryDict), t));
        Add("period", Ree(Int64Type.Default), t => RunEnd(rows.Select(s => s.Period).ToList(), r => new Int64Array.Builder().AppendRange(r).Build(), t));
        Add("duration", Ree(Int64Type.Default), t => RunEnd(rows.Select(s => (long)s.Duration).ToList(), r => new Int64Array.Builder().AppendRange(r).Build(), t));
        Add("timestamp", Ree(Int64Type.Default), t => RunEnd(rows.Select(s => s.TimeNanos).ToList(), r => new Int64Array.Builder().AppendRange(r).Build(), t));
        return Serialize(new Schema(fields, s_v1), columns, rows.Count);
    }

    private static List<string> Unique(List<string> values) => values.Distinct().ToList();

    /// <summary>The locations record for the stack ids <paramref name="requested"/> (hex), in that order.</summary>
    public static byte[] LocationsRecord(IReadOnlyList<ArrowSample> rows, IReadOnlyList<string> requested)
    {
        var byId = new Dictionary<string, ArrowSample>();
        foreach (var s in rows)
        {
            byId.TryAdd(Convert.ToHexString(StackId(s)), s);
        }

        var stacks = requested.Select(h => byId[h.ToUpperInvariant()].Stack ?? []).ToList();
        var frames = stacks.SelectMany(s => s).ToList();
        var lines = frames.SelectMany(f => f.Lines).ToList();
        var lineOffsets = new List<int> { 0 };
        foreach (var f in frames)
        {
            lineOffsets.Add(lineOffsets[^1] + f.Lines.Length);
        }

        var lineStruct = new StructArray(s_lineType, lines.Count,
        [
            new Int64Array.Builder().AppendRange(lines.Select(l => (long)l.Number)).Build(),
            new UInt64Array.Builder().AppendRange(lines.Select(_ => 0UL)).Build(),
            DictOf(lines.Select(l => (string?)l.Function).ToList(), BinaryDict),
            DictOf(lines.Select(l => (string?)l.Function).ToList(), BinaryDict),
            RunEnd(lines.Select(l => l.File).ToList(), r => DictOf(r, BinaryDict), s_functionFileType),
            new Int64Array.Builder().AppendRange(lines.Select(l => (long)l.StartLine)).Build(),
        ], ArrowBuffer.Empty);
        var locStruct = new StructArray(s_locationType, frames.Count,
        [
            new UInt64Array.Builder().AppendRange(frames.Select(f => f.Address)).Build(),
            RunEnd(frames.Select(f => f.FrameType).ToList(), r => DictOf(r, BinaryDict), s_frameTypeType),
            RunEnd(frames.Select(_ => 0UL).ToList(), r => new UInt64Array.Builder().AppendRange(r).Build(), s_startType),
            RunEnd(frames.Select(_ => 0UL).ToList(), r => new UInt64Array.Builder().AppendRange(r).Build(), s_limitType),
            RunEnd(frames.Select(_ => 0UL).ToList(), r => new UInt64Array.Builder().AppendRange(r).Build(), s_offsetType),
            RunEnd(frames.Select(f => f.MappingFile).ToList(), r => DictOf(r, BinaryDict), s_fileType),
            RunEnd(frames.Select(f => f.BuildId).ToList(), r => DictOf(r, BinaryDict), s_buildIdType),
            new ListArray(s_linesType, frames.Count, Buffer(lineOffsets), lineStruct, ArrowBuffer.Empty),
        ], ArrowBuffer.Empty);
        var stackOffsets = new List<int> { 0 };
        foreach (var s in stacks)
        {
            stackOffsets.Add(stackOffsets[^1] + s.Length);
        }

        var schema = new Schema([
            new Field("stacktrace_id", BinaryType.Default, true),
            new Field("is_complete", BooleanType.Default, true),
            new Field("locations", s_locationsType, true)], s_v1);
        return Serialize(schema,
        [
            Binaries(requested.Select(h => (byte[]?)Convert.FromHexString(h))),
            new BooleanArray.Builder().AppendRange(requested.Select(_ => true)).Build(),
            new ListArray(s_locationsType, stacks.Count, Buffer(stackOffsets), locStruct, ArrowBuffer.Empty),
        ], stacks.Count);
    }

    private static byte[] Serialize(Schema schema, IReadOnlyList<IArrowArray> columns, int length)
    {
        using var batch = new RecordBatch(schema, columns, length);
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }

        return stream.ToArray();
    }
}
