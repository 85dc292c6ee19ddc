using Parca.Pprof;

namespace Parca.Storage.Ingest;

/// <summary>
/// Takes the pprof decoder's flat form (<see cref="FlatProfile"/>) into storage's <see cref="IngestProfile"/>, for
/// ingest and for replaying the write-ahead log's pprof records (storage decodes its own log). The result borrows the
/// decoder's buffer for its strings: append it before the <see cref="FlatProfile"/> is reused.
/// </summary>
public static class PprofIngest
{
    /// <summary>Decodes a logged pprof again, as ingest did (Parca-compatible rules), at replay.</summary>
    internal static IngestProfile DecodeLogged(ReadOnlyMemory<byte> pprof, IReadOnlyList<ExecutableInfo>? executableInfos)
    {
        var flat = new FlatProfile(); // not pooled: the returned profile borrows its buffers
        try
        {
            PprofDecoder.Decode(pprof.Span, flat, PprofReadOptions.ParcaCompatible);
        }
        catch (PprofException e)
        {
            throw new InvalidDataException("logged pprof: " + e.Message, e);
        }

        return ToIngest(flat, executableInfos);
    }

    public static IngestProfile ToIngest(FlatProfile f, IReadOnlyList<ExecutableInfo>? executableInfos = null)
    {
        // Strings stay UTF-8 in the decoder's buffer: storage hashes them as bytes and creates .NET strings only for
        // symbols it has not seen yet. The profile is therefore only valid while `f` is not reused or disposed.
        var strings = new IngestStringRange[f.StringCount];
        for (var i = 0; i < strings.Length; i++)
        {
            var (offset, length) = f.GetStringRange(i);
            strings[i] = new IngestStringRange(offset, length);
        }

        var mappings = new IngestMapping[f.Mappings.Length];
        for (var i = 0; i < mappings.Length; i++)
        {
            var m = f.Mappings[i];
            mappings[i] = new IngestMapping(m.MemoryStart, m.MemoryLimit, m.FileOffset, m.Filename, m.BuildId);
        }

        var functions = new IngestFunction[f.Functions.Length];
        for (var i = 0; i < functions.Length; i++)
        {
            var fn = f.Functions[i];
            functions[i] = new IngestFunction(fn.Name, fn.SystemName, fn.Filename, fn.StartLine);
        }

        var locations = new IngestLocation[f.Locations.Length];
        for (var i = 0; i < locations.Length; i++)
        {
            var l = f.Locations[i];
            locations[i] = new IngestLocation(l.MappingIndex, l.Address, l.LineStart, l.LineCount);
        }

        var lines = new IngestLine[f.Lines.Length];
        for (var i = 0; i < lines.Length; i++)
        {
            var l = f.Lines[i];
            lines[i] = new IngestLine(l.FunctionIndex, l.Line);
        }

        var types = new IngestValueType[f.SampleTypeCount];
        for (var i = 0; i < types.Length; i++)
        {
            types[i] = new IngestValueType(f.SampleTypes[i].Type, f.SampleTypes[i].Unit);
        }

        var n = f.SampleCount;
        var t = f.SampleTypeCount;
        var values = new long[t][];
        var all = f.SampleValues;
        for (var k = 0; k < t; k++)
        {
            var column = new long[n];
            for (var i = 0; i < n; i++)
            {
                column[i] = all[(i * t) + k];
            }

            values[k] = column;
        }

        int[]? labelOffsets = null;
        IngestSampleLabel[]? labels = null;
        if (!f.Labels.IsEmpty)
        {
            labelOffsets = f.SampleLabelStarts.ToArray();
            labels = new IngestSampleLabel[f.Labels.Length];
            for (var i = 0; i < labels.Length; i++)
            {
                var l = f.Labels[i];
                labels[i] = new IngestSampleLabel(l.Key, l.Str != 0 ? l.Str : -1, l.Num, l.NumUnit);
            }
        }

        var profile = new IngestProfile
        {
            Mappings = mappings,
            Functions = functions,
            Locations = locations,
            Lines = lines,
            SampleTypes = types,
            PeriodType = new IngestValueType(f.PeriodType.Type, f.PeriodType.Unit),
            Period = f.Period,
            TimeNanos = f.TimeNanos,
            DurationNanos = f.DurationNanos,
            SampleCount = n,
            StackOffsets = n == 0 ? [0] : f.SampleLocationStarts.ToArray(),
            StackLocations = f.SampleLocations.ToArray(),
            Values = values,
            LabelOffsets = labelOffsets,
            SampleLabels = labels,
            ExecutableInfos = executableInfos,
        };
        profile.SetUtf8Strings(f.DataMemory, strings);
        return profile;
    }
}
