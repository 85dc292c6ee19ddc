using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Parca.Pprof.Protobuf;

namespace Parca.Pprof;

// Pass 1 of decoding: walk the protobuf once, appending records with raw ids and string indices. Fields may come in
// any order (the string table usually comes last), so references are checked and resolved afterwards (Resolve.cs).
public sealed partial class FlatProfile
{
    private ContextKind _contextKind;
    private int _contextIndex;
    private int _contextSubIndex = -1;
    private PprofLimits _limits = PprofLimits.Default;

    private enum ContextKind
    {
        None,
        SampleType,
        Sample,
        SampleLabel,
        Mapping,
        Location,
        LocationLine,
        Function,
        StringTable,
        PeriodType,
        Comment,
    }

    internal void Parse(PprofLimits limits)
    {
        _limits = limits;
        _sampleLocationStarts.Add(0);
        _sampleValueStarts.Add(0);
        _sampleLabelStarts.Add(0);
        var reader = new ProtoReader(Data, 0);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            _contextKind = ContextKind.None;
            _contextSubIndex = -1;
            switch (field)
            {
                case 1:
                    SetContext(ContextKind.SampleType, _sampleTypes.Count, field, wireType, WireType.LengthDelimited);
                    _sampleTypes.Add(ParseValueType(reader.ReadLengthDelimited(out _)));
                    break;
                case 2:
                    SetContext(ContextKind.Sample, SampleCount, field, wireType, WireType.LengthDelimited);
                    if (SampleCount >= limits.MaxSamples)
                    {
                        ThrowCount("sample", limits.MaxSamples);
                    }

                    ParseSample(reader.ReadLengthDelimited(out _));
                    break;
                case 3:
                    SetContext(ContextKind.Mapping, _mappings.Count, field, wireType, WireType.LengthDelimited);
                    if (_mappings.Count >= limits.MaxMappings)
                    {
                        ThrowCount("mapping", limits.MaxMappings);
                    }

                    _mappings.Add(ParseMapping(reader.ReadLengthDelimited(out _)));
                    break;
                case 4:
                    SetContext(ContextKind.Location, _locations.Count, field, wireType, WireType.LengthDelimited);
                    if (_locations.Count >= limits.MaxLocations)
                    {
                        ThrowCount("location", limits.MaxLocations);
                    }

                    _locations.Add(ParseLocation(reader.ReadLengthDelimited(out _)));
                    break;
                case 5:
                    SetContext(ContextKind.Function, _functions.Count, field, wireType, WireType.LengthDelimited);
                    if (_functions.Count >= limits.MaxFunctions)
                    {
                        ThrowCount("function", limits.MaxFunctions);
                    }

                    _functions.Add(ParseFunction(reader.ReadLengthDelimited(out _)));
                    break;
                case 6:
                    SetContext(ContextKind.StringTable, _strings.Count, field, wireType, WireType.LengthDelimited);
                    if (_strings.Count >= limits.MaxStrings)
                    {
                        ThrowCount("string_table", limits.MaxStrings);
                    }

                    var s = reader.ReadLengthDelimited(out var offset);
                    _strings.Add((offset, s.Length));
                    break;
                case 7:
                    DropFrames = ReadStringIndex(ref reader, field, wireType, "drop_frames");
                    break;
                case 8:
                    KeepFrames = ReadStringIndex(ref reader, field, wireType, "keep_frames");
                    break;
                case 9:
                    TimeNanos = (long)ReadVarintField(ref reader, field, wireType, "time_nanos");
                    break;
                case 10:
                    DurationNanos = (long)ReadVarintField(ref reader, field, wireType, "duration_nanos");
                    break;
                case 11:
                    SetContext(ContextKind.PeriodType, 0, field, wireType, WireType.LengthDelimited);
                    PeriodType = ParseValueType(reader.ReadLengthDelimited(out _));
                    HasPeriodType = true;
                    break;
                case 12:
                    Period = (long)ReadVarintField(ref reader, field, wireType, "period");
                    break;
                case 13:
                    ParseComments(ref reader, wireType);
                    break;
                case 14:
                    DefaultSampleType = ReadStringIndex(ref reader, field, wireType, "default_sample_type");
                    break;
                case 15:
                    DocUrl = ReadStringIndex(ref reader, field, wireType, "doc_url");
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        _contextKind = ContextKind.None;
    }

    private ValueTypeRecord ParseValueType(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data, 0);
        int type = 0, unit = 0;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case 1:
                    type = ReadStringIndex(ref reader, field, wireType, "type");
                    break;
                case 2:
                    unit = ReadStringIndex(ref reader, field, wireType, "unit");
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        return new ValueTypeRecord(type, unit);
    }

    private void ParseSample(ReadOnlySpan<byte> data)
    {
        // Fast path for what every writer emits first: packed location_id (tag 0x0a) then packed value (0x12),
        // each with a one-byte length. Anything else continues on the general path below.
        var start = 0;
        if (data.Length >= 2 && data[0] == 0x0A && data[1] < 0x80 && data[1] <= data.Length - 2)
        {
            var packed = data.Slice(2, data[1]);
            _sampleLocationIds.Advance(ProtoReader.ReadPackedVarints(packed, _sampleLocationIds.GetAppendSpan(packed.Length)));
            start = 2 + packed.Length;
            if (data.Length - start >= 2 && data[start] == 0x12 && data[start + 1] < 0x80 && data[start + 1] <= data.Length - start - 2)
            {
                var values = data.Slice(start + 2, data[start + 1]);
                var span = MemoryMarshal.Cast<long, ulong>(_sampleValues.GetAppendSpan(values.Length));
                _sampleValues.Advance(ProtoReader.ReadPackedVarints(values, span));
                start += 2 + values.Length;
            }
        }

        var reader = new ProtoReader(data[start..], 0);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == 1)
            {
                if (wireType == WireType.LengthDelimited)
                {
                    var packed = reader.ReadLengthDelimited(out _);
                    _sampleLocationIds.Advance(ProtoReader.ReadPackedVarints(packed, _sampleLocationIds.GetAppendSpan(packed.Length)));
                }
                else
                {
                    _sampleLocationIds.Add(ReadVarintField(ref reader, field, wireType, "location_id"));
                }
            }
            else if (field == 2)
            {
                if (wireType == WireType.LengthDelimited)
                {
                    var packed = reader.ReadLengthDelimited(out _);
                    var span = MemoryMarshal.Cast<long, ulong>(_sampleValues.GetAppendSpan(packed.Length));
                    _sampleValues.Advance(ProtoReader.ReadPackedVarints(packed, span));
                }
                else
                {
                    _sampleValues.Add((long)ReadVarintField(ref reader, field, wireType, "value"));
                }
            }
            else if (field == 3)
            {
                ExpectWireType(field, wireType, WireType.LengthDelimited, "label");
                _contextKind = ContextKind.SampleLabel;
                _contextSubIndex = _labels.Count - _sampleLabelStarts.Items[_sampleLabelStarts.Count - 1];
                _labels.Add(ParseLabel(reader.ReadLengthDelimited(out _)));
                _contextKind = ContextKind.Sample;
                _contextSubIndex = -1;
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        var depth = _sampleLocationIds.Count - _sampleLocationStarts.Items[_sampleLocationStarts.Count - 1];
        if (depth > _limits.MaxStackDepth)
        {
            ThrowDepth(depth);
        }

        _sampleLocationStarts.Add(_sampleLocationIds.Count);
        _sampleValueStarts.Add(_sampleValues.Count);
        _sampleLabelStarts.Add(_labels.Count);
    }

    private LabelRecord ParseLabel(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data, 0);
        int key = 0, str = 0, unit = 0;
        long num = 0;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case 1:
                    key = ReadStringIndex(ref reader, field, wireType, "key");
                    break;
                case 2:
                    str = ReadStringIndex(ref reader, field, wireType, "str");
                    break;
                case 3:
                    num = (long)ReadVarintField(ref reader, field, wireType, "num");
                    break;
                case 4:
                    unit = ReadStringIndex(ref reader, field, wireType, "num_unit");
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        return new LabelRecord(key, str, num, unit);
    }

    private MappingRecord ParseMapping(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data, 0);
        ulong id = 0, start = 0, limit = 0, fileOffset = 0;
        int filename = 0, buildId = 0;
        var flags = MappingFlags.None;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case 1:
                    id = ReadVarintField(ref reader, field, wireType, "id");
                    break;
                case 2:
                    start = ReadVarintField(ref reader, field, wireType, "memory_start");
                    break;
                case 3:
                    limit = ReadVarintField(ref reader, field, wireType, "memory_limit");
                    break;
                case 4:
                    fileOffset = ReadVarintField(ref reader, field, wireType, "file_offset");
                    break;
                case 5:
                    filename = ReadStringIndex(ref reader, field, wireType, "filename");
                    break;
                case 6:
                    buildId = ReadStringIndex(ref reader, field, wireType, "build_id");
                    break;
                case 7:
                    flags = SetFlag(flags, MappingFlags.HasFunctions, ReadVarintField(ref reader, field, wireType, "has_functions"));
                    break;
                case 8:
                    flags = SetFlag(flags, MappingFlags.HasFilenames, ReadVarintField(ref reader, field, wireType, "has_filenames"));
                    break;
                case 9:
                    flags = SetFlag(flags, MappingFlags.HasLineNumbers, ReadVarintField(ref reader, field, wireType, "has_line_numbers"));
                    break;
                case 10:
                    flags = SetFlag(flags, MappingFlags.HasInlineFrames, ReadVarintField(ref reader, field, wireType, "has_inline_frames"));
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        return new MappingRecord(id, start, limit, fileOffset, filename, buildId, flags);
    }

    private static MappingFlags SetFlag(MappingFlags flags, MappingFlags flag, ulong value) =>
        value != 0 ? flags | flag : flags & ~flag;

    private LocationRecord ParseLocation(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data, 0);
        ulong id = 0, mappingId = 0, address = 0;
        var folded = false;
        var lineStart = _lines.Count;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case 1:
                    id = ReadVarintField(ref reader, field, wireType, "id");
                    break;
                case 2:
                    mappingId = ReadVarintField(ref reader, field, wireType, "mapping_id");
                    break;
                case 3:
                    address = ReadVarintField(ref reader, field, wireType, "address");
                    break;
                case 4:
                    ExpectWireType(field, wireType, WireType.LengthDelimited, "line");
                    _contextKind = ContextKind.LocationLine;
                    _contextSubIndex = _lines.Count - lineStart;
                    _lines.Add(ParseLine(reader.ReadLengthDelimited(out _)));
                    _contextKind = ContextKind.Location;
                    _contextSubIndex = -1;
                    break;
                case 5:
                    folded = ReadVarintField(ref reader, field, wireType, "is_folded") != 0;
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        return new LocationRecord(id, mappingId, -1, address, lineStart, _lines.Count - lineStart, folded);
    }

    private LineRecord ParseLine(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data, 0);
        ulong functionId = 0;
        long line = 0, column = 0;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case 1:
                    functionId = ReadVarintField(ref reader, field, wireType, "function_id");
                    break;
                case 2:
                    line = (long)ReadVarintField(ref reader, field, wireType, "line");
                    break;
                case 3:
                    column = (long)ReadVarintField(ref reader, field, wireType, "column");
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        return new LineRecord(functionId, -1, line, column);
    }

    private FunctionRecord ParseFunction(ReadOnlySpan<byte> data)
    {
        var reader = new ProtoReader(data, 0);
        ulong id = 0;
        int name = 0, systemName = 0, filename = 0;
        long startLine = 0;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case 1:
                    id = ReadVarintField(ref reader, field, wireType, "id");
                    break;
                case 2:
                    name = ReadStringIndex(ref reader, field, wireType, "name");
                    break;
                case 3:
                    systemName = ReadStringIndex(ref reader, field, wireType, "system_name");
                    break;
                case 4:
                    filename = ReadStringIndex(ref reader, field, wireType, "filename");
                    break;
                case 5:
                    startLine = (long)ReadVarintField(ref reader, field, wireType, "start_line");
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        return new FunctionRecord(id, name, systemName, filename, startLine);
    }

    private void ParseComments(ref ProtoReader reader, WireType wireType)
    {
        _contextKind = ContextKind.Comment;
        _contextIndex = _comments.Count;
        if (wireType == WireType.LengthDelimited)
        {
            var packed = new ProtoReader(reader.ReadLengthDelimited(out _), 0);
            while (!packed.End)
            {
                _contextIndex = _comments.Count;
                _comments.Add((long)packed.ReadVarint());
            }
        }
        else
        {
            _comments.Add((long)ReadVarintField(ref reader, 13, wireType, "comment"));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadVarintField(ref ProtoReader reader, int field, WireType wireType, string name)
    {
        if (wireType != WireType.Varint)
        {
            ThrowWireType(field, wireType, WireType.Varint, name);
        }

        return reader.ReadVarint();
    }

    /// <summary>Reads a string table index; range against the table is checked after the whole message is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadStringIndex(ref ProtoReader reader, int field, WireType wireType, string name)
    {
        var value = (long)ReadVarintField(ref reader, field, wireType, name);
        if ((ulong)value > int.MaxValue)
        {
            ThrowInvalid(name + ": string index " + value + " out of range");
        }

        return (int)value;
    }

    private void SetContext(ContextKind kind, int index, int field, WireType wireType, WireType expected)
    {
        _contextKind = kind;
        _contextIndex = index;
        _contextSubIndex = -1;
        if (wireType != expected)
        {
            ThrowWireType(field, wireType, expected, null);
        }
    }

    private void ExpectWireType(int field, WireType wireType, WireType expected, string name)
    {
        if (wireType != expected)
        {
            ThrowWireType(field, wireType, expected, name);
        }
    }

    [DoesNotReturn]
    private void ThrowWireType(int field, WireType actual, WireType expected, string? name) =>
        throw new PprofException(
            PprofErrorCode.MalformedProtobuf,
            Prefix(name) + "field " + field + " has wire type " + (int)actual + ", want " + (int)expected);

    [DoesNotReturn]
    private void ThrowInvalid(string message) =>
        throw new PprofException(PprofErrorCode.InvalidProfile, Prefix(null) + message);

    [DoesNotReturn]
    private void ThrowDepth(int depth) =>
        throw new PprofException(PprofErrorCode.CountLimit, Prefix("location_id") + depth + " frames, more than the stack depth limit of " + _limits.MaxStackDepth);

    [DoesNotReturn]
    private static void ThrowCount(string field, int limit) =>
        throw new PprofException(PprofErrorCode.CountLimit, field + ": more than " + limit + " entries (limit)");

    /// <summary>"sample[12].label[3]: " style prefix naming where the decoder is.</summary>
    internal string Prefix(string? field)
    {
        var where = _contextKind switch
        {
            ContextKind.SampleType => "sample_type[" + _contextIndex + "]",
            ContextKind.Sample => "sample[" + _contextIndex + "]",
            ContextKind.SampleLabel => "sample[" + _contextIndex + "].label[" + _contextSubIndex + "]",
            ContextKind.Mapping => "mapping[" + _contextIndex + "]",
            ContextKind.Location => "location[" + _contextIndex + "]",
            ContextKind.LocationLine => "location[" + _contextIndex + "].line[" + _contextSubIndex + "]",
            ContextKind.Function => "function[" + _contextIndex + "]",
            ContextKind.StringTable => "string_table[" + _contextIndex + "]",
            ContextKind.PeriodType => "period_type",
            ContextKind.Comment => "comment[" + _contextIndex + "]",
            _ => "",
        };
        if (field is not null && _contextKind != ContextKind.Comment)
        {
            where = where.Length == 0 ? field : where + "." + field;
        }

        return where.Length == 0 ? "" : where + ": ";
    }
}
