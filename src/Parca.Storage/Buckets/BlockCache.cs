using System.Diagnostics.Metrics;

namespace Parca.Storage.Buckets;

/// <summary>
/// The local cache of cold-block sections read from the bucket, bounded by --object-storage-cache-size: decoded
/// section groups (a block's index, or its symbols, stacks and samples) charged by their uncompressed size, least
/// recently used evicted first. A hit costs nothing; a miss costs range reads of only the sections of that group.
/// A hand-written LRU because the framework's MemoryCache (Microsoft.Extensions.Caching.Memory) is not referenced by
/// this library and its size-based eviction runs on a timer, so it can overshoot the bound in between.
/// </summary>
internal sealed class BlockCache
{
    private readonly long _capacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Counter<long> _fetched;
    private long _bytes;

    public BlockCache(long capacityBytes, Meter meter)
    {
        _capacity = capacityBytes;
        _hits = meter.CreateCounter<long>("parca_bucket_cache_hits_total", null, "Cold-block section groups found in the local cache.");
        _misses = meter.CreateCounter<long>("parca_bucket_cache_misses_total", null, "Cold-block section groups read from the bucket.");
        _fetched = meter.CreateCounter<long>("parca_bucket_read_bytes_total", null, "Bytes read from the bucket by range reads of cold blocks.");
        meter.CreateObservableGauge("parca_bucket_cache_bytes", () => Interlocked.Read(ref _bytes), null, "Bytes held by the cold-block cache (bounded by --object-storage-cache-size).");
        meter.CreateObservableGauge("parca_bucket_cache_capacity_bytes", () => _capacity, null, "--object-storage-cache-size.");
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Hits { get; private set; }

    public long Misses { get; private set; }

    /// <summary>Counts bytes a miss read from the bucket.</summary>
    public void Fetched(long bytes) => _fetched.Add(bytes);

    /// <summary>The cached value, or the loaded one (kept if it fits the bound). Loads outside the lock.</summary>
    public T GetOrLoad<T>(string key, Func<(T Value, long Bytes)> load)
        where T : class
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                Hits++;
                _hits.Add(1);
                return (T)node.Value.Value;
            }
        }

        var (value, bytes) = load();
        lock (_lock)
        {
            Misses++;
            _misses.Add(1);
            if (bytes > _capacity || _entries.ContainsKey(key))
            {
                return value; // too large to keep, or loaded twice at once: use it, keep the bound
            }

            while (_bytes + bytes > _capacity && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _entries.Remove(last.Value.Key);
                _bytes -= last.Value.Bytes;
            }

            _entries[key] = _lru.AddFirst(new Entry(key, value, bytes));
            _bytes += bytes;
        }

        return value;
    }

    /// <summary>Drops every entry of a block (deleted from the bucket by compaction or retention).</summary>
    public void Evict(string keyPrefix)
    {
        lock (_lock)
        {
            for (var node = _lru.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Key.StartsWith(keyPrefix, StringComparison.Ordinal))
                {
                    _lru.Remove(node);
                    _entries.Remove(node.Value.Key);
                    _bytes -= node.Value.Bytes;
                }

                node = next;
            }
        }
    }

    private sealed record Entry(string Key, object Value, long Bytes);
}
