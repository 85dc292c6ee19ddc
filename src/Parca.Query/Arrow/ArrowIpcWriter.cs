using System.Buffers.Binary;
using System.Text;

namespace Parca.Query.Arrow;

/// <summary>
/// Writes one record batch as an Arrow IPC stream (schema, dictionary batches, record batch, end-of-stream),
/// uncompressed, little endian, metadata version V5. Written by hand because no Arrow package is obtainable for
/// .NET here; it covers exactly the layouts of <see cref="ArrowColumn"/> (checked with the apache-arrow npm reader).
/// </summary>
internal static class ArrowIpcWriter
{
    private const short MetadataV5 = 4;
    private const byte HeaderSchema = 1;
    private const byte HeaderDictionaryBatch = 2;
    private const byte HeaderRecordBatch = 3;
    private const byte TypeInt = 2;
    private const byte TypeBinary = 4;
    private const byte TypeUtf8 = 5;
    private const byte TypeBool = 6;
    private const byte TypeList = 12;

    public static byte[] Write(IReadOnlyList<ArrowColumn> columns)
    {
        using var ms = new PooledStream();
        using var body = new Body();
        WriteMessage(ms, SchemaMessage(columns), []);
        var dictId = 0;
        foreach (var c in columns)
        {
            if (c is DictionaryColumn d)
            {
                body.Reset();
                var nodes = new List<(long, long)> { (d.Dictionary.Length, 0) };
                body.Empty();
                WriteBinary(body, d.Dictionary);
                var fb = new FlatBufferBuilder();
                var batch = RecordBatch(fb, d.Dictionary.Length, nodes, body.Buffers);
                fb.StartTable(3);
                fb.AddLong(0, dictId);
                fb.AddOffset(1, batch);
                fb.AddBool(2, false);
                var header = fb.EndTable();
                WriteMessage(ms, Message(fb, HeaderDictionaryBatch, header, body.Length), body.Bytes);
                dictId++;
            }
        }

        {
            body.Reset();
            var nodes = new List<(long, long)>();
            var length = columns.Count == 0 ? 0 : columns[0].Length;
            foreach (var c in columns)
            {
                WriteColumn(body, nodes, c);
            }

            var fb = new FlatBufferBuilder();
            var batch = RecordBatch(fb, length, nodes, body.Buffers);
            WriteMessage(ms, Message(fb, HeaderRecordBatch, batch, body.Length), body.Bytes);
        }

        // End of stream: continuation marker and a zero length.
        Span<byte> eos = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(eos, 0xFFFFFFFF);
        BinaryPrimitives.WriteInt32LittleEndian(eos[4..], 0);
        ms.Write(eos);
        return ms.WrittenSpan.ToArray();
    }

    private static byte[] SchemaMessage(IReadOnlyList<ArrowColumn> columns)
    {
        var fb = new FlatBufferBuilder();
        var fields = new int[columns.Count];
        var dictId = 0;
        for (var i = 0; i < columns.Count; i++)
        {
            fields[i] = Field(fb, columns[i], ref dictId);
        }

        var fieldVector = fb.CreateOffsetVector(fields);
        fb.StartTable(4);
        fb.AddShort(0, 0); // little endian
        fb.AddOffset(1, fieldVector);
        var schema = fb.EndTable();
        return Message(fb, HeaderSchema, schema, 0);
    }

    private static int IntType(FlatBufferBuilder fb, int bitWidth, bool signed)
    {
        fb.StartTable(2);
        fb.AddInt(0, bitWidth);
        fb.AddBool(1, signed);
        return fb.EndTable();
    }

    private static int EmptyTable(FlatBufferBuilder fb)
    {
        fb.StartTable(0);
        return fb.EndTable();
    }

    private static int Field(FlatBufferBuilder fb, ArrowColumn c, ref int dictId)
    {
        var name = fb.CreateString(c.Name);
        int type;
        byte typeType;
        var dictionary = 0;
        var children = Array.Empty<int>();
        switch (c)
        {
            case IntColumn i:
                type = IntType(fb, i.BitWidth, i.Signed);
                typeType = TypeInt;
                break;
            case BoolColumn:
                type = EmptyTable(fb);
                typeType = TypeBool;
                break;
            case DictionaryColumn d:
                type = EmptyTable(fb);
                typeType = d.Utf8 ? TypeUtf8 : TypeBinary;
                var index = IntType(fb, 32, true);
                fb.StartTable(4);
                fb.AddLong(0, dictId++);
                fb.AddOffset(1, index);
                fb.AddBool(2, false);
                dictionary = fb.EndTable();
                break;
            case IntListColumn l:
                var itemName = fb.CreateString("item");
                var itemType = IntType(fb, l.ItemBitWidth, l.ItemSigned);
                var noChildren = fb.CreateOffsetVector([]);
                fb.StartTable(7);
                fb.AddOffset(0, itemName);
                fb.AddBool(1, false);
                fb.AddUByte(2, TypeInt);
                fb.AddOffset(3, itemType);
                fb.AddOffset(5, noChildren);
                children = [fb.EndTable()];
                type = EmptyTable(fb);
                typeType = TypeList;
                break;
            default:
                throw new NotSupportedException(c.GetType().Name);
        }

        var childVector = fb.CreateOffsetVector(children);
        fb.StartTable(7);
        fb.AddOffset(0, name);
        fb.AddBool(1, c.Nullable);
        fb.AddUByte(2, typeType);
        fb.AddOffset(3, type);
        if (dictionary != 0)
        {
            fb.AddOffset(4, dictionary);
        }

        fb.AddOffset(5, childVector);
        return fb.EndTable();
    }

    private static int RecordBatch(FlatBufferBuilder fb, long length, List<(long, long)> nodes, List<(long, long)> buffers)
    {
        var nodeVector = fb.CreateLongPairVector([.. nodes]);
        var bufferVector = fb.CreateLongPairVector([.. buffers]);
        fb.StartTable(4);
        fb.AddLong(0, length);
        fb.AddOffset(1, nodeVector);
        fb.AddOffset(2, bufferVector);
        return fb.EndTable();
    }

    private static byte[] Message(FlatBufferBuilder fb, byte headerType, int header, long bodyLength)
    {
        fb.StartTable(5);
        fb.AddShort(0, MetadataV5);
        fb.AddUByte(1, headerType);
        fb.AddOffset(2, header);
        fb.AddLong(3, bodyLength);
        return fb.Finish(fb.EndTable());
    }

    private static void WriteMessage(PooledStream s, byte[] metadata, ReadOnlySpan<byte> body)
    {
        var padded = (metadata.Length + 7) & ~7;
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, 0xFFFFFFFF);
        BinaryPrimitives.WriteInt32LittleEndian(prefix[4..], padded);
        s.Write(prefix);
        s.Write(metadata);
        s.Zeros(padded - metadata.Length);
        s.Write(body);
    }

    private static void WriteColumn(Body body, List<(long, long)> nodes, ArrowColumn c)
    {
        switch (c)
        {
            case IntColumn i:
                nodes.Add((i.Length, NullCount(i.Valid)));
                body.Validity(i.Valid);
                body.Ints(i.Values, i.BitWidth);
                break;
            case BoolColumn b:
                nodes.Add((b.Length, NullCount(b.Valid)));
                body.Validity(b.Valid);
                body.Bits(b.Values);
                break;
            case DictionaryColumn d:
                nodes.Add((d.Length, NullCount(d.Valid)));
                body.Validity(d.Valid);
                body.Int32s(d.Indices);
                break;
            case IntListColumn l:
                nodes.Add((l.Length, NullCount(l.Valid)));
                body.Validity(l.Valid);
                body.Int32s(l.Offsets);
                nodes.Add((l.Items.Length, 0));
                body.Empty();
                body.Ints(l.Items, l.ItemBitWidth);
                break;
            default:
                throw new NotSupportedException(c.GetType().Name);
        }
    }

    private static void WriteBinary(Body body, string[] values)
    {
        var offsets = new int[values.Length + 1];
        var total = 0;
        for (var i = 0; i < values.Length; i++)
        {
            total += Encoding.UTF8.GetByteCount(values[i]);
            offsets[i + 1] = total;
        }

        body.Int32s(offsets);
        var data = body.Reserve(total);
        var pos = 0;
        foreach (var v in values)
        {
            pos += Encoding.UTF8.GetBytes(v, data[pos..]);
        }
    }

    private static long NullCount(bool[]? valid)
    {
        if (valid is null)
        {
            return 0;
        }

        long n = 0;
        foreach (var v in valid)
        {
            n += v ? 0 : 1;
        }

        return n;
    }

    /// <summary>
    /// The body of a message: buffers, each padded to 8 bytes, with their (offset, length), written straight into one
    /// pooled buffer (reused for every message of a stream) rather than an array per buffer.
    /// </summary>
    private sealed class Body : IDisposable
    {
        private readonly PooledStream _data = new();

        public List<(long, long)> Buffers { get; } = [];

        public long Length => _data.Length;

        public ReadOnlySpan<byte> Bytes => _data.WrittenSpan;

        public void Reset()
        {
            _data.Clear();
            Buffers.Clear();
        }

        public void Empty() => Buffers.Add((_data.Length, 0));

        /// <summary>Adds a buffer of <paramref name="length"/> zeroed bytes (plus padding) for the caller to fill.</summary>
        public Span<byte> Reserve(int length)
        {
            var offset = _data.Length;
            var pad = (8 - ((offset + length) % 8)) % 8;
            Buffers.Add((offset, length));
            return _data.Append(length + pad)[..length]; // one append: a later growth would move the buffer
        }

        public void Validity(bool[]? valid)
        {
            if (valid is null || Array.TrueForAll(valid, v => v))
            {
                Empty();
                return;
            }

            Bits(valid);
        }

        public void Bits(bool[] values)
        {
            var bytes = Reserve((values.Length + 7) / 8);
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i])
                {
                    bytes[i >> 3] |= (byte)(1 << (i & 7));
                }
            }
        }

        public void Int32s(int[] values) =>
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(Reserve(values.Length * 4)); // little endian (x86-64, arm64)

        public void Ints(long[] values, int bitWidth)
        {
            var size = bitWidth / 8;
            var bytes = Reserve(values.Length * size);
            switch (bitWidth)
            {
                case 8:
                    for (var i = 0; i < values.Length; i++)
                    {
                        bytes[i] = (byte)values[i];
                    }

                    break;
                case 16:
                    for (var i = 0; i < values.Length; i++)
                    {
                        BinaryPrimitives.WriteInt16LittleEndian(bytes[(i * 2)..], (short)values[i]);
                    }

                    break;
                case 32:
                    for (var i = 0; i < values.Length; i++)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(bytes[(i * 4)..], (int)values[i]);
                    }

                    break;
                default:
                    System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
                    break;
            }
        }

        public void Dispose() => _data.Dispose();
    }
}
