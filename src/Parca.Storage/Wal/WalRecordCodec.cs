using Parca.Storage.Ingest;
using Parca.Storage.Internal;

namespace Parca.Storage.Wal;

/// <summary>
/// One write-ahead-log record: what <see cref="ProfileStore.Append(string, LabelSet, IngestProfile)"/> received, so
/// replaying it re-runs the same append. Both kinds start with: kind, profile name, series labels (count,
/// name/value pairs), executable infos (count + 1, or 0 for none). Then either
/// <list type="bullet">
/// <item><see cref="SourceKind"/>: the bytes the profile was decoded from (the server's pprof as received), turned back
/// into the profile by <see cref="PprofIngest.DecodeLogged"/> (the log decodes its own records); or</item>
/// <item><see cref="ProfileKind"/>: the decoded profile itself (varints unless noted): strings (count, UTF-8 each),
/// mappings, functions, locations, lines, sample types, period type, period, time, duration, stacks (sample count,
/// offsets, locations), values (per sample type, per sample), sample labels (optional). Strings are written from the
/// UTF-8 the pprof decoder kept, without making .NET strings.</item>
/// </list>
/// </summary>
internal static class WalRecordCodec
{
    /// <summary>A record holding the decoded profile.</summary>
    public const byte ProfileKind = 1;

    /// <summary>A record holding the bytes the profile was decoded from.</summary>
    public const byte SourceKind = 2;

    /// <summary>A <see cref="SourceKind"/> record: what to log when the caller can hand over the profile's source bytes.</summary>
    public static void EncodeSource(ByteWriter w, string name, LabelSet labels, IngestProfile p, ReadOnlySpan<byte> source)
    {
        WriteCommon(w, SourceKind, name, labels, p.ExecutableInfos);
        w.Bytes(source);
    }

    /// <summary>A <see cref="ProfileKind"/> record.</summary>
    public static void Encode(ByteWriter w, string name, LabelSet labels, IngestProfile p)
    {
        WriteCommon(w, ProfileKind, name, labels, p.ExecutableInfos);
        w.UVarint((ulong)p.StringCount);
        if (p.StringRanges is { } ranges)
        {
            var data = p.StringData.Span;
            foreach (var r in ranges)
            {
                w.UVarint((ulong)r.Length);
                w.Bytes(data.Slice(r.Offset, r.Length));
            }
        }
        else
        {
            foreach (var s in p.Strings)
            {
                w.String(s);
            }
        }

        w.UVarint((ulong)p.Mappings.Length);
        foreach (var m in p.Mappings)
        {
            w.UVarint(m.Start);
            w.UVarint(m.Limit);
            w.UVarint(m.Offset);
            w.Varint(m.File);
            w.Varint(m.BuildId);
        }

        w.UVarint((ulong)p.Functions.Length);
        foreach (var f in p.Functions)
        {
            w.Varint(f.Name);
            w.Varint(f.SystemName);
            w.Varint(f.FileName);
            w.Varint(f.StartLine);
        }

        w.UVarint((ulong)p.Locations.Length);
        foreach (var l in p.Locations)
        {
            w.Varint(l.Mapping);
            w.UVarint(l.Address);
            w.Varint(l.FirstLine);
            w.Varint(l.LineCount);
        }

        w.UVarint((ulong)p.Lines.Length);
        foreach (var l in p.Lines)
        {
            w.Varint(l.Function);
            w.Varint(l.Line);
        }

        w.UVarint((ulong)p.SampleTypes.Length);
        foreach (var t in p.SampleTypes)
        {
            w.Varint(t.Type);
            w.Varint(t.Unit);
        }

        w.Varint(p.PeriodType.Type);
        w.Varint(p.PeriodType.Unit);
        w.Varint(p.Period);
        w.Varint(p.TimeNanos);
        w.Varint(p.DurationNanos);

        w.UVarint((ulong)p.SampleCount);
        Ints(w, p.StackOffsets.AsSpan(0, p.SampleCount + 1));
        Ints(w, p.StackLocations.AsSpan(0, p.StackOffsets[p.SampleCount]));
        w.UVarint((ulong)p.Values.Length);
        foreach (var column in p.Values)
        {
            foreach (var v in column.AsSpan(0, p.SampleCount))
            {
                w.Varint(v);
            }
        }

        if (p.LabelOffsets is { } offsets && p.SampleLabels is { } sampleLabels)
        {
            w.UVarint(1);
            Ints(w, offsets.AsSpan(0, p.SampleCount + 1));
            w.UVarint((ulong)offsets[p.SampleCount]);
            foreach (var l in sampleLabels.AsSpan(0, offsets[p.SampleCount]))
            {
                w.Varint(l.Key);
                w.Varint(l.Str);
                w.Varint(l.Num);
                w.Varint(l.NumUnit);
            }
        }
        else
        {
            w.UVarint(0);
        }
    }

    /// <summary>
    /// Decodes a record of either kind (a <see cref="SourceKind"/> record's pprof is decoded here too);
    /// <see cref="InvalidDataException"/> when it is not one (the CRC matched but the layout is wrong).
    /// </summary>
    public static (string Name, LabelSet Labels, IngestProfile Profile) Decode(ReadOnlyMemory<byte> record)
    {
        try
        {
            var r = new ByteReader(record.Span);
            var kind = r.Int();
            if (kind is not (ProfileKind or SourceKind))
            {
                throw new InvalidDataException($"unknown WAL record kind {kind}");
            }

            var name = r.String();
            var labels = new Label[r.Int()];
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = new Label(r.String(), r.String());
            }

            ExecutableInfo[]? infos = null;
            var infoCount = r.Int();
            if (infoCount > 0)
            {
                infos = new ExecutableInfo[infoCount - 1];
                for (var i = 0; i < infos.Length; i++)
                {
                    infos[i] = new ExecutableInfo((uint)r.UVarint(), r.UVarint(), r.UVarint());
                }
            }

            if (kind == SourceKind)
            {
                return (name, LabelSet.From(labels), PprofIngest.DecodeLogged(record[r.Position..], infos));
            }

            var strings = new string[r.Int()];
            for (var i = 0; i < strings.Length; i++)
            {
                strings[i] = r.String();
            }

            var p = new IngestProfile { Strings = strings };
            p.Mappings = new IngestMapping[r.Int()];
            for (var i = 0; i < p.Mappings.Length; i++)
            {
                p.Mappings[i] = new IngestMapping(r.UVarint(), r.UVarint(), r.UVarint(), (int)r.Varint(), (int)r.Varint());
            }

            p.Functions = new IngestFunction[r.Int()];
            for (var i = 0; i < p.Functions.Length; i++)
            {
                p.Functions[i] = new IngestFunction((int)r.Varint(), (int)r.Varint(), (int)r.Varint(), r.Varint());
            }

            p.Locations = new IngestLocation[r.Int()];
            for (var i = 0; i < p.Locations.Length; i++)
            {
                p.Locations[i] = new IngestLocation((int)r.Varint(), r.UVarint(), (int)r.Varint(), (int)r.Varint());
            }

            p.Lines = new IngestLine[r.Int()];
            for (var i = 0; i < p.Lines.Length; i++)
            {
                p.Lines[i] = new IngestLine((int)r.Varint(), r.Varint());
            }

            p.SampleTypes = new IngestValueType[r.Int()];
            for (var i = 0; i < p.SampleTypes.Length; i++)
            {
                p.SampleTypes[i] = new IngestValueType((int)r.Varint(), (int)r.Varint());
            }

            p.PeriodType = new IngestValueType((int)r.Varint(), (int)r.Varint());
            p.Period = r.Varint();
            p.TimeNanos = r.Varint();
            p.DurationNanos = r.Varint();

            var samples = r.Int();
            p.SampleCount = samples;
            p.StackOffsets = ReadInts(ref r, samples + 1);
            p.StackLocations = ReadInts(ref r, p.StackOffsets[samples]);
            p.Values = new long[r.Int()][];
            for (var t = 0; t < p.Values.Length; t++)
            {
                var column = new long[samples];
                for (var i = 0; i < samples; i++)
                {
                    column[i] = r.Varint();
                }

                p.Values[t] = column;
            }

            if (r.Int() == 1)
            {
                p.LabelOffsets = ReadInts(ref r, samples + 1);
                p.SampleLabels = new IngestSampleLabel[r.Int()];
                for (var i = 0; i < p.SampleLabels.Length; i++)
                {
                    p.SampleLabels[i] = new IngestSampleLabel((int)r.Varint(), (int)r.Varint(), r.Varint(), (int)r.Varint());
                }
            }

            p.ExecutableInfos = infos;
            if (!r.End)
            {
                throw new InvalidDataException("trailing bytes after the WAL record");
            }

            return (name, LabelSet.From(labels), p);
        }
        catch (Exception e) when (e is OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new InvalidDataException("malformed WAL record: " + e.Message, e);
        }
    }

    private static void WriteCommon(ByteWriter w, byte kind, string name, LabelSet labels, IReadOnlyList<ExecutableInfo>? infos)
    {
        w.UVarint(kind);
        w.String(name);
        w.UVarint((ulong)labels.Count);
        foreach (var l in labels.Labels)
        {
            w.String(l.Name);
            w.String(l.Value);
        }

        w.UVarint(infos is null ? 0 : (ulong)infos.Count + 1);
        foreach (var e in infos ?? [])
        {
            w.UVarint(e.ElfType);
            w.UVarint(e.LoadSegmentOffset);
            w.UVarint(e.LoadSegmentVaddr);
        }
    }

    private static void Ints(ByteWriter w, ReadOnlySpan<int> values)
    {
        foreach (var v in values)
        {
            w.Varint(v);
        }
    }

    private static int[] ReadInts(ref ByteReader r, int count)
    {
        var values = new int[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (int)r.Varint();
        }

        return values;
    }
}
