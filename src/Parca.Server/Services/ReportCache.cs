using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Reports;
using Parca.Storage;

namespace Parca.Server.Services;

/// <summary>
/// Recently merged results by request, so the reports the UI asks for one after the other over one selection (the
/// flame graph, then the table, the sandwich's halves, a download) merge and walk the tree once. An entry is found
/// only by a request equal in everything but report type and trim threshold, while the store holds exactly the data
/// it was merged from (no sample ingested, the same partitions), and for <c>ttl</c> at most (query-time symbols from
/// debuginfo uploaded since then show up after that). The entries' working sets are bounded by
/// <c>capacityBytes</c>; the least recently used go first.
/// </summary>
internal sealed class ReportCache(long capacityBytes, TimeSpan ttl, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, Entry> _entries = [];
    private long _clock;

    /// <summary>A request without its report type and trim threshold, and the state of the store it was answered from.</summary>
    internal readonly record struct Key(ByteString Request, long Ingested, object Partitions);

    public long Hits { get; private set; }

    public long Misses { get; private set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public static Key KeyOf(QueryRequest request, ProfileStore store)
    {
        var selection = request.Clone();
        if (selection.ReportType != QueryRequest.Types.ReportType.Flamechart) // merged differently (by timestamp)
        {
            selection.ReportType = default;
        }

        selection.ClearNodeTrimThreshold();
        // Read before merging: data arriving during the merge makes the key older than the result, never newer.
        return new Key(selection.ToByteString(), store.IngestedSamples, store.Partitions);
    }

    public bool TryGet(Key key, [NotNullWhen(true)] out ReportData? data)
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (_entries.TryGetValue(key, out var entry) && now < entry.Expires)
            {
                entry.LastUse = ++_clock;
                Hits++;
                data = entry.Data;
                return true;
            }

            Misses++;
            data = null;
            return false;
        }
    }

    public void Add(Key key, ReportData data)
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            _entries[key] = new Entry(data, now + (long)(ttl.TotalSeconds * time.TimestampFrequency)) { LastUse = ++_clock };
            Shrink(now);
        }
    }

    /// <summary>Drops expired entries, then the least recently used until the rest fit (graphs grow after adding).</summary>
    private void Shrink(long now)
    {
        long bytes = 0;
        foreach (var (key, entry) in _entries)
        {
            if (now >= entry.Expires)
            {
                _entries.Remove(key);
            }
            else
            {
                bytes += entry.Data.RetainedBytes;
            }
        }

        while (bytes > capacityBytes && _entries.Count > 0)
        {
            var oldest = default(KeyValuePair<Key, Entry>);
            foreach (var e in _entries)
            {
                if (oldest.Value is null || e.Value.LastUse < oldest.Value.LastUse)
                {
                    oldest = e;
                }
            }

            _entries.Remove(oldest.Key);
            bytes -= oldest.Value.Data.RetainedBytes;
        }
    }

    private sealed class Entry(ReportData data, long expires)
    {
        public ReportData Data { get; } = data;
        public long Expires { get; } = expires;
        public long LastUse { get; set; }
    }
}
