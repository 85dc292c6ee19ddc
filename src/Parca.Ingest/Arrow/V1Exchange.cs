using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace Parca.Ingest.Arrow;

/// <summary>
/// One v1 <c>Write</c> exchange, independent of the transport: the agent's sample record (<see cref="Begin"/>) is
/// answered with a record of the stack ids the server needs (all of them: like Parca, no stack is cached between
/// requests); the agent's locations record (<see cref="Finish"/>) completes the samples, which are then stored.
/// Disposing returns the exchange's pooled buffers (whether or not it finished).
/// </summary>
internal sealed class V1Exchange(ArrowIngest ingest) : IDisposable
{
    private readonly SymbolTable _symbols = new();
    private ProfileGroups? _groups;
    private V1SampleRecord? _samples;

    /// <summary>Reads the sample record; returns the IPC stream to send back (one Binary column, stacktrace_id).</summary>
    public byte[] Begin(ReadOnlyMemory<byte> ipc)
    {
        _groups = new ProfileGroups(_symbols, ArrowIngest.BucketNanos) { Source = "record: sample record" };
        var batches = ArrowIpc.ReadAll(ipc, ingest.MaxDecodedBytes + ipc.Length, "record", (batch, index) =>
        {
            if (index > 0)
            {
                throw new IngestError("the sample message holds more than one record");
            }

            if (!ArrowIngest.IsSampleRecord(batch))
            {
                throw new IngestError("the first message must be a sample record (column 'value')");
            }

            if (ArrowIngest.SchemaVersion(batch) != "v1")
            {
                throw new IngestError("Write takes v1 records; v2 records go through WriteArrow");
            }

            _samples = new V1SampleRecord(batch, _groups, _symbols);
        });
        if (batches == 0 || _samples is null)
        {
            throw new IngestError("record: no record found");
        }

        return StackIdsRecord(_samples.StackIds);
    }

    /// <summary>Reads the locations record, then stores every sample; returns the number stored.</summary>
    public long Finish(ReadOnlyMemory<byte> ipc)
    {
        var samples = _samples ?? throw new InvalidOperationException("Begin first");
        var found = false;
        ArrowIpc.ReadAll(ipc, ingest.MaxDecodedBytes + ipc.Length, "record", (batch, index) =>
        {
            if (index > 0)
            {
                throw new IngestError("the locations message holds more than one record");
            }

            ArrowIngest.SchemaVersion(batch);
            samples.AddLocations(batch);
            found = true;
        });
        if (!found)
        {
            throw new IngestError("record: no locations record found");
        }

        return ingest.Store(_groups!, "record");
    }

    public void Dispose()
    {
        _groups?.Dispose();
        _symbols.Dispose();
    }

    private static readonly Schema s_stackIdsSchema = new(
        [new Field("stacktrace_id", BinaryType.Default, nullable: false)],
        [new KeyValuePair<string, string>(ArrowIngest.SchemaVersionKey, "v1")]);

    private static byte[] StackIdsRecord(IReadOnlyList<byte[]> ids)
    {
        var builder = new BinaryArray.Builder();
        foreach (var id in ids)
        {
            builder.Append(id.AsSpan());
        }

        using var batch = new RecordBatch(s_stackIdsSchema, [builder.Build()], ids.Count);
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, s_stackIdsSchema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }

        return stream.ToArray();
    }
}
