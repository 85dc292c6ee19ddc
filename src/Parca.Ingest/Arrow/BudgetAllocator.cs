using System.Buffers;
using Apache.Arrow.Memory;

namespace Parca.Ingest.Arrow;

/// <summary>
/// The Arrow reader's allocator for one request: every buffer it creates (record bodies, and each decompressed
/// buffer, whose size the IPC stream declares in front of the compressed bytes) is counted against a budget. The
/// reader asks for the decompressed buffer before it inflates, so an LZ4 bomb is refused here, before any of it is
/// inflated. Buffers come from the shared array pool and go back when the record batches are disposed.
/// </summary>
internal sealed class BudgetAllocator(long budget) : MemoryAllocator(alignment: 8)
{
    private long _allocated;

    public long Allocated => _allocated;

    protected override IMemoryOwner<byte> AllocateInternal(int length, out int bytesAllocated)
    {
        if (_allocated + length > budget)
        {
            throw new IngestError($"ipc_buffer: decompressed record data would exceed the limit of {budget} bytes ({_allocated} allocated, {length} more requested); refused before inflating");
        }

        _allocated += length;
        bytesAllocated = length;
        return new PooledOwner(length);
    }

    private sealed class PooledOwner(int length) : IMemoryOwner<byte>
    {
        private byte[]? _array = CreateArray(length);

        public Memory<byte> Memory => _array is { } a ? a.AsMemory(0, length) : throw new ObjectDisposedException(nameof(PooledOwner));

        private static byte[] CreateArray(int length)
        {
            var a = ArrayPool<byte>.Shared.Rent(length);
            a.AsSpan(0, length).Clear(); // Arrow expects zeroed padding and validity bits
            return a;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } a)
            {
                ArrayPool<byte>.Shared.Return(a);
            }
        }
    }
}
