using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Parca.Server.Tests.Arrow;

/// <summary>A frame as an agent reports it; no lines = an unsymbolized native frame.</summary>
internal sealed record Frame(ulong Address, string? FrameType = null, string? MappingFile = null, string? BuildId = null, params FrameLine[] Lines)
{
    public string Key => $"{Address}|{FrameType}|{MappingFile}|{BuildId}|{string.Join(";", Lines.Select(l => l.ToString()))}";

    public static Frame Symbolized(string function, ulong address = 0, string? file = null, ulong line = 0) =>
        new(address, "native", "/usr/bin/app", "b1d", new FrameLine(function, file, line));
}

internal sealed record FrameLine(string Function, string? File = null, ulong Number = 0, ulong StartLine = 0);

/// <summary>One sample row. <see cref="Stack"/> is leaf first; null writes a null stack.</summary>
internal sealed record ArrowSample(Frame[]? Stack, long Value, IReadOnlyDictionary<string, string?> Labels, long TimeNanos)
{
    public string Producer { get; init; } = "parca_agent";
    public string SampleType { get; init; } = "samples";
    public string SampleUnit { get; init; } = "count";
    public string PeriodType { get; init; } = "cpu";
    public string PeriodUnit { get; init; } = "nanoseconds";
    public long Period { get; init; } = 52_631_578;
    public ulong Duration { get; init; } = 1_000_000_000;
    public string? Temporality { get; init; } = "delta";

    /// <summary>A sample whose stack is given root first by function name ("main;work;leaf").</summary>
    public static ArrowSample Of(string rootFirst, long value, long timeNanos, params (string, string?)[] labels) =>
        new(rootFirst.Length == 0 ? [] : rootFirst.Split(';').Reverse().Select(f => Frame.Symbolized(f, (ulong)f.GetHashCode() & 0xffff)).ToArray(),
            value, labels.ToDictionary(l => l.Item1, l => l.Item2), timeNanos);
}

/// <summary>Array construction helpers shared by the record writers (tests only).</summary>
internal static class ArrowBuild
{
    public static readonly DictionaryType StringDict = new(UInt32Type.Default, StringType.Default, false);
    public static readonly DictionaryType BinaryDict = new(UInt32Type.Default, BinaryType.Default, false);

    public static ArrowBuffer Buffer<T>(IEnumerable<T> values)
        where T : struct => new(MemoryMarshal.AsBytes(values.ToArray().AsSpan()).ToArray());

    public static ArrowBuffer Validity(IReadOnlyList<bool> valid, out int nulls)
    {
        nulls = valid.Count(v => !v);
        if (nulls == 0)
        {
            return ArrowBuffer.Empty;
        }

        var b = new ArrowBuffer.BitmapBuilder();
        foreach (var v in valid)
        {
            b.Append(v);
        }

        return b.Build();
    }

    public static StringArray Strings(IEnumerable<string?> values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values)
        {
            if (v is null)
            {
                b.AppendNull();
            }
            else
            {
                b.Append(v);
            }
        }

        return b.Build();
    }

    public static BinaryArray Binaries(IEnumerable<byte[]?> values)
    {
        var b = new BinaryArray.Builder();
        foreach (var v in values)
        {
            if (v is null)
            {
                b.AppendNull();
            }
            else
            {
                b.Append(v.AsSpan());
            }
        }

        return b.Build();
    }

    /// <summary>UInt32 indices; −1 is a null.</summary>
    public static UInt32Array Indices(IEnumerable<int> values)
    {
        var b = new UInt32Array.Builder();
        foreach (var v in values)
        {
            if (v < 0)
            {
                b.AppendNull();
            }
            else
            {
                b.Append((uint)v);
            }
        }

        return b.Build();
    }

    /// <summary>A dictionary column of strings (null stays null), deduplicating values in first-seen order.</summary>
    public static DictionaryArray DictOf(IReadOnlyList<string?> values, DictionaryType type, List<string>? dictionary = null)
    {
        dictionary ??= [];
        var ids = new List<int>();
        foreach (var v in values)
        {
            if (v is null)
            {
                ids.Add(-1);
                continue;
            }

            var i = dictionary.IndexOf(v);
            if (i < 0)
            {
                i = dictionary.Count;
                dictionary.Add(v);
            }

            ids.Add(i);
        }

        IArrowArray dict = type.ValueType is BinaryType
            ? Binaries(dictionary.Select(s => (byte[]?)System.Text.Encoding.UTF8.GetBytes(s)))
            : Strings(dictionary);
        return new DictionaryArray(type, Indices(ids), dict);
    }

    public static RunEndEncodedType Ree(IArrowType values) => new(new Field("run_ends", Int32Type.Default, false), new Field("values", values, true));

    /// <summary>
    /// Run-end encodes <paramref name="rows"/> (Int32 run ends); <paramref name="values"/> builds the runs' values.
    /// The array has exactly <paramref name="type"/>: Apache.Arrow's IPC writer finds a nested dictionary by its
    /// Field instance, so an array must use the type objects its schema declares.
    /// </summary>
    public static RunEndEncodedArray RunEnd<T>(IReadOnlyList<T> rows, Func<List<T>, IArrowArray> values, RunEndEncodedType type)
    {
        var ends = new List<int>();
        var runs = new List<T>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (runs.Count > 0 && EqualityComparer<T>.Default.Equals(runs[^1], rows[i]))
            {
                ends[^1] = i + 1;
                continue;
            }

            runs.Add(rows[i]);
            ends.Add(i + 1);
        }

        var endsArray = new Int32Array.Builder().AppendRange(ends).Build();
        var valuesArray = values(runs);
        return new RunEndEncodedArray(new ArrayData(type, rows.Count, 0, 0, [], [endsArray.Data, valuesArray.Data]));
    }
}

/// <summary>A change to a record before it is written: the bad inputs of the error tests.</summary>
internal sealed record RecordEdit(
    Func<List<Field>, List<Field>>? Fields = null,
    Func<List<IArrowArray>, List<IArrowArray>>? Columns = null,
    IReadOnlyDictionary<string, string>? Metadata = null,
    bool DropMetadata = false)
{
    public Schema Apply(Schema schema)
    {
        var fields = Fields?.Invoke([.. schema.FieldsList]) ?? [.. schema.FieldsList];
        var metadata = DropMetadata ? null : Metadata ?? schema.Metadata;
        return new Schema(fields, metadata);
    }
}
