using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Parca.Storage.Ingest;

namespace Parca.Ingest;

/// <summary>
/// A request's string table kept as UTF-8: one growing byte buffer and where each string lies, deduplicated by
/// content (id 0 is ""). Lookups by UTF-8 span go through the framework's alternate lookup (a set of ids whose
/// comparer reads their bytes), so finding a string neither allocates nor transcodes. The bytes live in an array
/// from the shared pool, returned by <see cref="Dispose"/>.
/// </summary>
internal sealed class Utf8Strings : IDisposable
{
    // Per process, so that strings cannot be crafted offline to collide in the set.
    private static readonly long s_seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));

    private readonly HashSet<int> _ids;
    private readonly HashSet<int>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private byte[] _data = ArrayPool<byte>.Shared.Rent(4096);
    private int _used;
    private IngestStringRange[] _ranges = new IngestStringRange[256];
    private int _count;

    public Utf8Strings()
    {
        _ids = new HashSet<int>(new Comparer(this));
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<byte>>();
        Intern(ReadOnlySpan<byte>.Empty);
    }

    public int Count => _count;

    /// <summary>The bytes of every string so far (valid until the next string is added, and until <see cref="Dispose"/>).</summary>
    public ReadOnlyMemory<byte> Data => _data.AsMemory(0, _used);

    /// <summary>Where each string lies in <see cref="Data"/>, by id (a copy).</summary>
    public IngestStringRange[] Ranges() => _ranges.AsSpan(0, _count).ToArray();

    public ReadOnlySpan<byte> Bytes(int id)
    {
        var r = _ranges[id];
        return _data.AsSpan(r.Offset, r.Length);
    }

    public string Decode(int id) => SymbolTable.Decode(Bytes(id));

    public int Intern(ReadOnlySpan<byte> utf8)
    {
        if (_lookup.TryGetValue(utf8, out var id))
        {
            return id;
        }

        _lookup.Add(utf8); // the comparer's Create appends the bytes: the new id is the last one
        return _count - 1;
    }

    public int Intern(string s)
    {
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max <= 256)
        {
            Span<byte> buf = stackalloc byte[256];
            return Intern(buf[..Encoding.UTF8.GetBytes(s, buf)]);
        }

        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            return Intern(rented.AsSpan(0, Encoding.UTF8.GetBytes(s, rented)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private int Append(ReadOnlySpan<byte> utf8)
    {
        if (_used + utf8.Length > _data.Length)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(_data.Length * 2, _used + utf8.Length));
            _data.AsSpan(0, _used).CopyTo(next);
            ArrayPool<byte>.Shared.Return(_data);
            _data = next;
        }

        if (_count == _ranges.Length)
        {
            Array.Resize(ref _ranges, _ranges.Length * 2);
        }

        utf8.CopyTo(_data.AsSpan(_used));
        _ranges[_count] = new IngestStringRange(_used, utf8.Length);
        _used += utf8.Length;
        return _count++;
    }

    public void Dispose()
    {
        var data = _data;
        _data = [];
        _used = 0;
        if (data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    private static int Hash(ReadOnlySpan<byte> utf8) => (int)XxHash3.HashToUInt64(utf8, s_seed);

    private sealed class Comparer(Utf8Strings owner) : IEqualityComparer<int>, IAlternateEqualityComparer<ReadOnlySpan<byte>, int>
    {
        // Two ids are never equal strings: each string is added once.
        public bool Equals(int x, int y) => x == y;

        public int GetHashCode(int id) => Hash(owner.Bytes(id));

        public bool Equals(ReadOnlySpan<byte> alternate, int other) => alternate.SequenceEqual(owner.Bytes(other));

        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

        public int Create(ReadOnlySpan<byte> alternate) => owner.Append(alternate);
    }
}
