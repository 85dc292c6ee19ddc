using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Compression;
using Apache.Arrow.Ipc;

namespace Parca.Ingest.Arrow;

/// <summary>
/// Reads the record batches of an Arrow IPC stream held in memory (plain, LZ4_FRAME or ZSTD bodies) with a
/// <see cref="BudgetAllocator"/>, so that no request makes the reader allocate more than its budget.
/// </summary>
internal static class ArrowIpc
{
    private static readonly CompressionCodecFactory s_codecs = new();

    /// <summary>Calls <paramref name="onBatch"/> for each record batch; the batches are disposed at the end.</summary>
    public static int ReadAll(ReadOnlyMemory<byte> ipc, long budget, string what, Action<RecordBatch, int> onBatch)
    {
        if (ipc.IsEmpty)
        {
            throw new IngestError($"{what}: empty (an Arrow IPC stream was expected)");
        }

        var segment = MemoryMarshal.TryGetArray(ipc, out var s) ? s : new ArraySegment<byte>(ipc.ToArray());
        // publiclyVisible: the reader then slices message metadata out of the buffer instead of copying it.
        using var stream = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false, publiclyVisible: true);
        var allocator = new BudgetAllocator(budget);
        using var reader = new ArrowStreamReader(stream, allocator, s_codecs, leaveOpen: true);
        var count = 0;
        // Batches are disposed only once the stream is read: disposing one releases the dictionaries it references,
        // and with compressed bodies those are buffers the next batches still share (Apache.Arrow 23).
        var read = new List<RecordBatch>();
        try
        {
            ReadBatches(reader, what, onBatch, read, ref count);
        }
        finally
        {
            foreach (var b in read)
            {
                b.Dispose();
            }
        }

        return count;
    }

    private static void ReadBatches(ArrowStreamReader reader, string what, Action<RecordBatch, int> onBatch, List<RecordBatch> read, ref int count)
    {
        while (true)
        {
            RecordBatch? batch;
            try
            {
                batch = reader.ReadNextRecordBatch();
            }
            catch (IngestError)
            {
                throw;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The reader throws many exception types for corrupt input; all of them mean the same to the sender.
                throw new IngestError($"{what}: unreadable Arrow IPC stream at record batch {count}: {e.Message}");
            }

            if (batch is null)
            {
                break;
            }

            read.Add(batch);
            try
            {
                onBatch(batch, count);
            }
            catch (IngestError e)
            {
                throw new IngestError($"{what}: record batch {count}: {e.Message}", e.IsLimit);
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidCastException or OverflowException or InvalidDataException)
            {
                // Buffers shorter than their arrays claim, caught when read rather than trusted.
                throw new IngestError($"{what}: record batch {count}: malformed arrays: {e.Message}");
            }

            count++;
        }
    }
}
