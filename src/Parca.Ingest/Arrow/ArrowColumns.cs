using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Parca.Ingest.Arrow;

/// <summary>
/// Typed access to the columns of Parca's write records. Every check names the column (and row) it failed on;
/// nothing here trusts an index, offset or run end taken from the wire.
/// </summary>
internal static class ArrowColumns
{
    public static IngestError Error(string column, string message) => new($"column '{column}': {message}");

    public static T As<T>(IArrowArray array, string column, string expected)
        where T : class, IArrowArray =>
        array as T ?? throw Error(column, $"expected {expected}, got {Describe(array.Data.DataType)}");

    public static string Describe(IArrowType type) => type switch
    {
        DictionaryType d => $"Dictionary<{Describe(d.IndexType)}, {Describe(d.ValueType)}>",
        RunEndEncodedType r => $"RunEndEncoded<{Describe(r.RunEndsDataType)}, {Describe(r.ValuesDataType)}>",
        ListViewType l => $"ListView<{Describe(l.ValueDataType)}>",
        ListType l => $"List<{Describe(l.ValueDataType)}>",
        StructType => "Struct",
        _ => type.Name,
    };

    /// <summary>Run ends of a run-end encoded column, checked to be increasing and to cover <paramref name="length"/> rows.</summary>
    public static int[] RunEnds(RunEndEncodedArray ree, string column, int length)
    {
        if (ree.RunEnds is not Int32Array ends)
        {
            throw Error(column, $"expected Int32 run ends, got {Describe(ree.RunEnds.Data.DataType)}");
        }

        if (ree.Offset != 0)
        {
            throw Error(column, "sliced run-end encoded arrays are not supported");
        }

        var result = ends.Values.ToArray();
        var previous = 0;
        for (var i = 0; i < result.Length; i++)
        {
            if (result[i] <= previous)
            {
                throw Error(column, $"run end {result[i]} at run {i} does not increase");
            }

            previous = result[i];
        }

        if (previous < length)
        {
            throw Error(column, $"runs cover {previous} rows, the record has {length}");
        }

        if (ree.Values.Length < result.Length)
        {
            throw Error(column, $"{result.Length} runs but only {ree.Values.Length} values");
        }

        return result;
    }

    /// <summary>All values of a string or binary array as strings (null: null); called per dictionary, not per row.</summary>
    public static string?[] Strings(IArrowArray array, string column)
    {
        var result = new string?[array.Length];
        switch (array)
        {
            case BinaryArray b: // StringArray too
                for (var i = 0; i < result.Length; i++)
                {
                    result[i] = b.IsNull(i) ? null : Encoding.UTF8.GetString(b.GetBytes(i));
                }

                break;
            case BinaryViewArray v: // StringViewArray too
                for (var i = 0; i < result.Length; i++)
                {
                    result[i] = v.IsNull(i) ? null : Encoding.UTF8.GetString(v.GetBytes(i));
                }

                break;
            default:
                throw Error(column, $"expected String or Binary values, got {Describe(array.Data.DataType)}");
        }

        return result;
    }

    /// <summary>The indices of a dictionary array as 32-bit values, each checked against the dictionary's length (null: −1).</summary>
    public static int[] DictionaryIndices(DictionaryArray dict, string column)
    {
        var n = dict.Length;
        var limit = dict.Dictionary.Length;
        var result = new int[n];
        // Stacks make these arrays long (a row per frame of every stack): the common index types without nulls take
        // one tight loop, the rest the general one.
        if (dict.NullCount == 0 && dict.Indices is UInt32Array u32)
        {
            var values = u32.Values;
            for (var i = 0; i < n; i++)
            {
                var index = values[i];
                if (index >= (uint)limit)
                {
                    throw OutOfRange(column, index, i, limit);
                }

                result[i] = (int)index;
            }

            return result;
        }

        if (dict.NullCount == 0 && dict.Indices is Int32Array i32)
        {
            var values = i32.Values;
            for (var i = 0; i < n; i++)
            {
                var index = values[i];
                if ((uint)index >= (uint)limit)
                {
                    throw OutOfRange(column, index, i, limit);
                }

                result[i] = index;
            }

            return result;
        }

        for (var i = 0; i < n; i++)
        {
            if (dict.IsNull(i))
            {
                result[i] = -1;
                continue;
            }

            long index = dict.Indices switch
            {
                UInt32Array u => u.Values[i],
                Int32Array s => s.Values[i],
                UInt16Array u => u.Values[i],
                Int16Array s => s.Values[i],
                UInt8Array u => u.Values[i],
                Int8Array s => s.Values[i],
                Int64Array s => s.Values[i],
                UInt64Array u => (long)Math.Min(u.Values[i], long.MaxValue),
                _ => throw Error(column, $"unsupported dictionary index type {Describe(dict.Indices.Data.DataType)}"),
            };
            if (index < 0 || index >= limit)
            {
                throw OutOfRange(column, index, i, limit);
            }

            result[i] = (int)index;
        }

        return result;
    }

    /// <summary>
    /// <see cref="DictionaryIndices"/> without the copy where it can: 32-bit indices without nulls (what agents send
    /// for the stacktrace column, an index per frame of every stack) are checked in place and returned as a view of
    /// the index buffer; other index types and nulls get the copy.
    /// </summary>
    public static ReadOnlySpan<int> DictionaryIndexView(DictionaryArray dict, string column)
    {
        if (dict.NullCount != 0 || dict.Indices is not (UInt32Array or Int32Array))
        {
            return DictionaryIndices(dict, column);
        }

        var values = dict.Indices is Int32Array s ? s.Values : MemoryMarshal.Cast<uint, int>(((UInt32Array)dict.Indices).Values);
        var limit = (uint)dict.Dictionary.Length;
        for (var i = 0; i < values.Length; i++)
        {
            if ((uint)values[i] >= limit)
            {
                throw OutOfRange(column, dict.Indices is Int32Array ? values[i] : (uint)values[i], i, (int)limit);
            }
        }

        return values;
    }

    private static IngestError OutOfRange(string column, long index, int position, int limit) =>
        Error(column, $"dictionary index {index} at position {position} is out of range (the dictionary has {limit} entries)");

    /// <summary>A dictionary of strings resolved per position: null where the index or the value is null.</summary>
    public static string?[] DictionaryStrings(IArrowArray array, string column)
    {
        var dict = As<DictionaryArray>(array, column, "Dictionary<UInt32, String>");
        var values = Strings(dict.Dictionary, column);
        var indices = DictionaryIndices(dict, column);
        var result = new string?[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            result[i] = indices[i] < 0 ? null : values[indices[i]];
        }

        return result;
    }

    /// <summary>Checks that a child array has at least <paramref name="length"/> values (absent: nothing to check).</summary>
    public static void RequireLength(IArrowArray? array, int length, string column)
    {
        if (array is not null && array.Length < length)
        {
            throw Error(column, $"{array.Length} values where {length} are needed");
        }
    }

    /// <summary>Index of the field named <paramref name="name"/> in a struct type (−1: absent).</summary>
    public static int FieldIndex(StructType type, string name)
    {
        for (var i = 0; i < type.Fields.Count; i++)
        {
            if (type.Fields[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A ListView's offset and size at <paramref name="row"/>, checked against its values' length.</summary>
    public static (int Offset, int Size) ListViewRange(ListViewArray list, int row, string column)
    {
        if (list.IsNull(row))
        {
            return (0, 0);
        }

        var offset = list.ValueOffsets[row];
        var size = list.Sizes[row];
        if (offset < 0 || size < 0 || (long)offset + size > list.Values.Length)
        {
            throw Error(column, $"list view at row {row} (offset {offset}, size {size}) lies outside its {list.Values.Length} values");
        }

        return (offset, size);
    }
}
