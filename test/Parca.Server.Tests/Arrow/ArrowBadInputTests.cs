using Apache.Arrow;
using Apache.Arrow.Compression;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Server.Tests.Arrow;

/// <summary>
/// Bad Arrow requests from @grpc/grpc-js get INVALID_ARGUMENT naming what was wrong; nothing of them is stored and
/// the server keeps serving (a good request afterwards is stored exactly).
/// </summary>
public sealed class ArrowBadInputTests
{
    private static readonly long s_now = WriteArrowTests.Now;

    private static ArrowSample[] Rows() =>
    [
        TestRows.Of("main;bad", 1, s_now, ("comm", "bad")),
        TestRows.Of("main;bad;worse", 2, s_now, ("comm", "bad")),
    ];

    private static byte[] Edited(ArrowSample[] rows, RecordEdit edit) => V2RecordWriter.Write([rows], editSchema: edit.Apply, editColumns: edit.Columns);

    private static byte[] Edited(RecordEdit edit) => V2RecordWriter.Write([Rows()], editSchema: edit.Apply, editColumns: edit.Columns);

    private static RecordEdit Replace(int column, Field field, Func<IArrowArray, IArrowArray> array) => new(
        Fields: f => { f[column] = field; return f; },
        Columns: c => { c[column] = array(c[column]); return c; });

    /// <summary>The stacktrace column with location index 99 (the dictionary has 3 entries).</summary>
    private static IArrowArray BadIndex(IArrowArray stacks)
    {
        var lv = (ListViewArray)stacks;
        var dict = (DictionaryArray)lv.Values;
        var indices = ((UInt32Array)dict.Indices).Values.ToArray();
        indices[^1] = 99;
        var bad = new DictionaryArray((DictionaryType)dict.Data.DataType, new UInt32Array.Builder().AppendRange(indices).Build(), dict.Dictionary);
        return new ListViewArray(lv.Data.DataType, lv.Length, lv.ValueOffsetsBuffer, lv.SizesBuffer, bad, lv.NullBitmapBuffer, lv.NullCount);
    }

    /// <summary>A v2-tagged record whose LZ4 body inflates to <paramref name="rows"/> × 8 bytes of zeros.</summary>
    private static byte[] Lz4Bomb(int rows)
    {
        var schema = new Schema([new Field("value", Int64Type.Default, false)], [new("parca_write_schema_version", "v2")]);
        var values = new Int64Array.Builder().AppendRange(Enumerable.Repeat(0L, rows)).Build();
        using var batch = new RecordBatch(schema, [values], rows);
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true, new IpcOptions { CompressionCodec = CompressionCodecType.Lz4Frame, CompressionCodecFactory = new CompressionCodecFactory() }))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }

        return stream.ToArray();
    }

    [Fact]
    public async Task Bad_records_are_refused_with_invalid_argument_and_store_nothing()
    {
        const int limit = 4 << 20;
        await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", MaxMessageSize = limit });
        await server.StartAsync();
        var bomb = Lz4Bomb(2_000_000); // 16 MB of zeros, about 70 kB compressed
        Assert.True(bomb.Length < 200_000, $"bomb is {bomb.Length} bytes");

        var r = await ArrowPeers.GrpcJsWriteAsync(server,
            new WriteStep("garbage", "WriteArrow", [[1, 2, 3, 4, 5, 6, 7, 8, 9]]),
            new WriteStep("empty", "WriteArrow", [[]]),
            new WriteStep("noVersion", "WriteArrow", [Edited(new RecordEdit(DropMetadata: true))]),
            new WriteStep("unknownVersion", "WriteArrow", [Edited(new RecordEdit(Metadata: new Dictionary<string, string> { ["parca_write_schema_version"] = "v9" }))]),
            new WriteStep("missingColumn", "WriteArrow", [Edited(new RecordEdit(Fields: f => { f.RemoveAt(4); return f; }, Columns: c => { c.RemoveAt(4); return c; }))]),
            new WriteStep("wrongType", "WriteArrow", [Edited(Replace(3, new Field("value", Int32Type.Default, false), _ => new Int32Array.Builder().AppendRange([1, 2]).Build()))]),
            new WriteStep("badIndex", "WriteArrow", [Edited(Replace(1, new Field("stacktrace", Parca.Agent.Shipping.Arrow.V2RecordWriterTypes.StackType, true), BadIndex))]),
            new WriteStep("bomb", "WriteArrow", [bomb]),
            new WriteStep("v1OverWriteArrow", "WriteArrow", [V1RecordWriter.SampleRecord(Rows())]),
            new WriteStep("extraColumn", "WriteArrow", [Edited([TestRows.Of("main;good", 9, s_now, ("comm", "good"))], new RecordEdit(
                Fields: f => { f.Add(new Field("extra_column", Int64Type.Default, false)); return f; },
                Columns: c => { c.Add(new Int64Array.Builder().Append(42).Build()); return c; }))]));

        void Refused(string name, string details)
        {
            var e = r.GetProperty(name).GetProperty("error");
            Assert.Equal(3, e.GetProperty("code").GetInt32());
            Assert.Contains(details, e.GetProperty("details").GetString(), StringComparison.Ordinal);
        }

        Refused("garbage", "ipc_buffer: unreadable Arrow IPC stream at record batch 0");
        Refused("empty", "ipc_buffer: empty");
        Refused("noVersion", "record batch 0: the schema has no 'parca_write_schema_version' metadata");
        Refused("unknownVersion", "unsupported parca_write_schema_version 'v9'");
        Refused("missingColumn", "column 'producer' is missing from the sample record");
        Refused("wrongType", "column 'value': expected Int64, got int32");
        Refused("badIndex", "column 'stacktrace': dictionary index 99 at position");
        Refused("bomb", "refused before inflating");
        Refused("v1OverWriteArrow", "v1 records go through Write");
        ArrowPeers.AssertOk(r, "extraColumn");

        Assert.Equal(["parca_agent:samples:count:cpu:nanoseconds:delta"], await ArrowPeers.ProfileTypesAsync(server));
        Assert.Equal(new Dictionary<string, long> { ["main;good"] = 9 * WriteArrowTests.CpuPeriod }, await ArrowPeers.StacksAsync(server, "parca_agent:samples:count:cpu:nanoseconds:delta"));
    }
}
