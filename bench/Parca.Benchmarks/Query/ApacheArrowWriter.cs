using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Parca.Query.Arrow;

namespace Parca.Benchmarks.Query;

/// <summary>
/// The report columns written with Apache.Arrow 23 (arrays built from the same column data, ArrowStreamWriter):
/// the other side of the writer comparison in <see cref="ArrowWriterBenchmarks"/>. Same schema as our writer
/// (widths, dictionaries with Int32 indices, list of integers), so both produce the same logical record.
/// </summary>
internal static class ApacheArrowWriter
{
    public static byte[] Write(IReadOnlyList<ArrowColumn> columns)
    {
        var fields = new List<Field>(columns.Count);
        var arrays = new List<IArrowArray>(columns.Count);
        foreach (var c in columns)
        {
            var array = Array(c);
            fields.Add(new Field(c.Name, array.Data.DataType, c.Nullable));
            arrays.Add(array);
        }

        var schema = new Schema(fields, null);
        using var batch = new RecordBatch(schema, arrays, columns.Count == 0 ? 0 : columns[0].Length);
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }

        return stream.ToArray();
    }

    private static IArrowArray Array(ArrowColumn c) => c switch
    {
        IntColumn i => Ints(i.BitWidth, i.Signed, i.Values, i.Valid),
        BoolColumn b => Bools(b),
        DictionaryColumn d => Dictionary(d),
        IntListColumn l => List(l),
        _ => throw new NotSupportedException(c.GetType().Name),
    };

    private static IArrowArray Ints(int width, bool signed, long[] values, bool[]? valid)
    {
        IArrowArray Build<TBuilder, TArray>(TBuilder builder, Action<TBuilder, long> append, Action<TBuilder> appendNull, Func<TBuilder, TArray> build)
            where TArray : IArrowArray
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (valid is not null && !valid[i])
                {
                    appendNull(builder);
                }
                else
                {
                    append(builder, values[i]);
                }
            }

            return build(builder);
        }

        return (width, signed) switch
        {
            (8, false) => Build(new UInt8Array.Builder().Reserve(values.Length), (b, v) => b.Append((byte)v), b => b.AppendNull(), b => b.Build()),
            (16, false) => Build(new UInt16Array.Builder().Reserve(values.Length), (b, v) => b.Append((ushort)v), b => b.AppendNull(), b => b.Build()),
            (32, false) => Build(new UInt32Array.Builder().Reserve(values.Length), (b, v) => b.Append((uint)v), b => b.AppendNull(), b => b.Build()),
            (64, false) => Build(new UInt64Array.Builder().Reserve(values.Length), (b, v) => b.Append((ulong)v), b => b.AppendNull(), b => b.Build()),
            (8, true) => Build(new Int8Array.Builder().Reserve(values.Length), (b, v) => b.Append((sbyte)v), b => b.AppendNull(), b => b.Build()),
            (16, true) => Build(new Int16Array.Builder().Reserve(values.Length), (b, v) => b.Append((short)v), b => b.AppendNull(), b => b.Build()),
            (32, true) => Build(new Int32Array.Builder().Reserve(values.Length), (b, v) => b.Append((int)v), b => b.AppendNull(), b => b.Build()),
            _ => Build(new Int64Array.Builder().Reserve(values.Length), (b, v) => b.Append(v), b => b.AppendNull(), b => b.Build()),
        };
    }

    private static BooleanArray Bools(BoolColumn c)
    {
        var b = new BooleanArray.Builder().Reserve(c.Values.Length);
        for (var i = 0; i < c.Values.Length; i++)
        {
            if (c.Valid is not null && !c.Valid[i])
            {
                b.AppendNull();
            }
            else
            {
                b.Append(c.Values[i]);
            }
        }

        return b.Build();
    }

    private static DictionaryArray Dictionary(DictionaryColumn c)
    {
        var indices = new Int32Array.Builder().Reserve(c.Indices.Length);
        for (var i = 0; i < c.Indices.Length; i++)
        {
            if (c.Valid is not null && !c.Valid[i])
            {
                indices.AppendNull();
            }
            else
            {
                indices.Append(c.Indices[i]);
            }
        }

        IArrowArray values;
        if (c.Utf8)
        {
            var s = new StringArray.Builder();
            foreach (var v in c.Dictionary)
            {
                s.Append(v);
            }

            values = s.Build();
        }
        else
        {
            var s = new BinaryArray.Builder();
            foreach (var v in c.Dictionary)
            {
                s.Append(System.Text.Encoding.UTF8.GetBytes(v).AsSpan());
            }

            values = s.Build();
        }

        var type = new DictionaryType(Int32Type.Default, c.Utf8 ? StringType.Default : BinaryType.Default, false);
        return new DictionaryArray(type, indices.Build(), values);
    }

    private static ListArray List(IntListColumn c)
    {
        var items = Ints(c.ItemBitWidth, c.ItemSigned, System.Array.ConvertAll(c.Items, i => (long)i), null);
        var offsets = new ArrowBuffer.Builder<int>(c.Offsets.Length).AppendRange(c.Offsets).Build();
        var validity = ArrowBuffer.Empty;
        var nulls = 0;
        if (c.Valid is not null)
        {
            var bits = new ArrowBuffer.BitmapBuilder(c.Length);
            foreach (var v in c.Valid)
            {
                bits.Append(v);
                nulls += v ? 0 : 1;
            }

            validity = bits.Build();
        }

        return new ListArray(new ListType(new Field("item", items.Data.DataType, true)), c.Length, offsets, items, validity, nulls);
    }
}
