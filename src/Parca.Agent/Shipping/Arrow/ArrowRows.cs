using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Parca.Agent.Shipping.Arrow;

/// <summary>A frame as an agent reports it; no lines = an unsymbolized native frame.</summary>
internal sealed record Frame(ulong Address, string? FrameType = null, string? MappingFile = null, string? BuildId = null, params FrameLine[] Lines)
{
    /// <summary>The frame's identity in a record, computed once (writers look it up for every row that uses the frame).</summary>
    public string Key { get; } = $"{Address}|{FrameType}|{MappingFile}|{BuildId}|{string.Join(";", Lines.Select(l => l.ToString()))}";
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
}

/// <summary>Array construction helpers of the record writers (the agent's v2 writer and the tests' v1 writer).</summary>
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
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var k = 0; k < dictionary.Count; k++)
        {
            index.TryAdd(dictionary[k], k);
        }

        var ids = new List<int>(values.Count);
        foreach (var v in values)
        {
            if (v is null)
            {
                ids.Add(-1);
                continue;
            }

            if (!index.TryGetValue(v, out var i))
            {
                i = dictionary.Count;
                dictionary.Add(v);
                index.Add(v, i);
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
