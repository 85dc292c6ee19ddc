using System.Buffers;

namespace Parca.Ingest;

/// <summary>
/// The location ids of one group's stacks, appended row by row into an array from the shared pool and handed to
/// storage as it is (storage reads <c>IngestProfile.StackLocations</c> up to the last offset, never by its length).
/// Why not a <see cref="List{T}"/>: it grows through new arrays (the larger ones on the large-object heap) and would
/// need a copy into an exact-size array at the end; with ten groups of ~20k ids per agent request that was most of
/// a request's allocations. <see cref="ArrayBufferWriter{T}"/> is not pooled either.
/// </summary>
internal sealed class StackBuffer : IDisposable
{
    private int[] _ids = ArrayPool<int>.Shared.Rent(256);

    public int Count { get; private set; }

    /// <summary>The ids so far in <c>[0, Count)</c> of a pooled array, valid until <see cref="Dispose"/>.</summary>
    public int[] Array => _ids;

    /// <summary>Room for <paramref name="n"/> more ids, counted as written.</summary>
    public Span<int> Append(int n)
    {
        if (Count + n > _ids.Length)
        {
            Grow(Count + n);
        }

        var span = _ids.AsSpan(Count, n);
        Count += n;
        return span;
    }

    public void Add(int id) => Append(1)[0] = id;

    private void Grow(int needed)
    {
        var next = ArrayPool<int>.Shared.Rent(Math.Max(needed, _ids.Length * 2));
        _ids.AsSpan(0, Count).CopyTo(next);
        ArrayPool<int>.Shared.Return(_ids);
        _ids = next;
    }

    public void Dispose()
    {
        var ids = _ids;
        _ids = [];
        Count = 0;
        if (ids.Length > 0)
        {
            ArrayPool<int>.Shared.Return(ids);
        }
    }
}
