namespace Parca.Storage.Ingest;

/// <summary>A mapping of the ingested profile. String fields index <see cref="IngestProfile.Strings"/>.</summary>
public record struct IngestMapping(ulong Start, ulong Limit, ulong Offset, int File, int BuildId);

/// <summary>A function of the ingested profile. String fields index <see cref="IngestProfile.Strings"/>.</summary>
public record struct IngestFunction(int Name, int SystemName, int FileName, long StartLine);

/// <summary>
/// A location: <see cref="Mapping"/> indexes <see cref="IngestProfile.Mappings"/> (−1: none); its lines are
/// <see cref="IngestProfile.Lines"/>[FirstLine .. FirstLine + LineCount], innermost (inlined) first as in pprof.
/// </summary>
public record struct IngestLocation(int Mapping, ulong Address, int FirstLine, int LineCount);

/// <summary>A line of a location; <see cref="Function"/> indexes <see cref="IngestProfile.Functions"/> (−1: none).</summary>
public record struct IngestLine(int Function, long Line);

/// <summary>A per-sample pprof label: string (<see cref="Str"/> ≥ 0) or numeric (<see cref="Str"/> = −1).</summary>
public record struct IngestSampleLabel(int Key, int Str, long Num, int NumUnit);

/// <summary>Where a string of <see cref="IngestProfile.StringData"/> lies.</summary>
public readonly record struct IngestStringRange(int Offset, int Length);

/// <summary>A value column's type and unit (string indexes).</summary>
public record struct IngestValueType(int Type, int Unit);

/// <summary>
/// A profile as storage ingests it: pprof's tables in flat struct-of-arrays form with 0-based indexes.
/// One ingest profile with N sample types becomes N logical profiles (one series each).
/// Samples: stack of sample i is <see cref="StackLocations"/>[StackOffsets[i] .. StackOffsets[i+1]] (location
/// indexes, leaf first); its value for sample type t is <see cref="Values"/>[t][i].
/// </summary>
public sealed class IngestProfile
{
    private string[]? _strings = [""];

    /// <summary>
    /// The string table as .NET strings. A profile given as UTF-8 (<see cref="StringData"/>, the ingest hot path)
    /// materializes it on first use; storage itself reads strings one by one (<see cref="GetString"/>) and only for
    /// symbols new to the partition.
    /// </summary>
    public string[] Strings
    {
        get => _strings ??= MaterializeStrings();
        set
        {
            _strings = value;
            StringRanges = null;
            StringData = default;
        }
    }

    /// <summary>
    /// Optional UTF-8 string table (set with <see cref="SetUtf8Strings"/>): string i is
    /// <c>StringData[StringRanges[i].Offset ..][.. StringRanges[i].Length]</c>. The bytes are only read during
    /// <c>Append</c>, so they may live in a pooled buffer that is reused afterwards.
    /// </summary>
    public ReadOnlyMemory<byte> StringData { get; private set; }

    /// <summary>Offset and length of each string in <see cref="StringData"/> (null: <see cref="Strings"/> is the table).</summary>
    public IngestStringRange[]? StringRanges { get; private set; }

    /// <summary>Number of entries in the string table.</summary>
    public int StringCount => StringRanges?.Length ?? Strings.Length;

    /// <summary>Uses a UTF-8 string table (no .NET strings are created unless a symbol is new to storage).</summary>
    public void SetUtf8Strings(ReadOnlyMemory<byte> data, IngestStringRange[] ranges)
    {
        _strings = null;
        StringData = data;
        StringRanges = ranges;
    }

    /// <summary>String <paramref name="index"/> (allocates for a UTF-8 table; invalid UTF-8 becomes U+FFFD).</summary>
    public string GetString(int index)
    {
        if (StringRanges is null)
        {
            return Strings[index];
        }

        var r = StringRanges[index];
        return r.Length == 0 ? "" : System.Text.Encoding.UTF8.GetString(StringData.Span.Slice(r.Offset, r.Length));
    }

    private string[] MaterializeStrings()
    {
        var ranges = StringRanges ?? [];
        var result = new string[ranges.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = GetString(i);
        }

        return result;
    }

    public IngestMapping[] Mappings { get; set; } = [];
    public IngestFunction[] Functions { get; set; } = [];
    public IngestLocation[] Locations { get; set; } = [];
    public IngestLine[] Lines { get; set; } = [];

    public IngestValueType[] SampleTypes { get; set; } = [];
    public IngestValueType PeriodType { get; set; }
    public long Period { get; set; }
    public long TimeNanos { get; set; }
    public long DurationNanos { get; set; }

    public int SampleCount { get; set; }
    public int[] StackOffsets { get; set; } = [0];
    public int[] StackLocations { get; set; } = [];
    public long[][] Values { get; set; } = [];

    /// <summary>Optional per-sample labels: sample i owns SampleLabels[LabelOffsets[i] .. LabelOffsets[i+1]].</summary>
    public int[]? LabelOffsets { get; set; }
    public IngestSampleLabel[]? SampleLabels { get; set; }

    /// <summary>Opaque per-mapping executable info kept with the profile (WriteRaw's executable_info).</summary>
    public IReadOnlyList<ExecutableInfo>? ExecutableInfos { get; set; }
}

/// <summary>ELF type and first load segment of a mapping's executable, as agents report them.</summary>
public readonly record struct ExecutableInfo(uint ElfType, ulong LoadSegmentOffset, ulong LoadSegmentVaddr);
