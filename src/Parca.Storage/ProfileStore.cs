using Parca.Storage.Blocks;
using Parca.Storage.Head;
using Parca.Storage.Ingest;
using Parca.Storage.Internal;
using Parca.Storage.Wal;

namespace Parca.Storage;

/// <summary>
/// The profile store: one mutable head plus immutable blocks, each a time partition with its own symbols, stacks
/// and series. Appends go to the head (serialized by the head's lock); queries read <see cref="Partitions"/>, an
/// immutable array swapped atomically, so they never wait for writers or compaction. Split by concern:
/// ProfileStore.Compaction.cs (sealing, background compaction with retries), ProfileStore.Startup.cs (loading
/// blocks and the log, quarantine), ProfileStore.Retention.cs.
/// </summary>
public sealed partial class ProfileStore : IDisposable
{
    private const int MaxKeptRecordBytes = 4 << 20;
    [ThreadStatic]
    private static ByteWriter? s_walRecord;

    private readonly StorageOptions _options;
    private readonly Lock _rotateLock = new();
    private readonly List<string> _loadErrors = [];
    private readonly ITimer? _retentionTimer;
    private readonly WriteAheadLog? _wal;
    private readonly Lock _walLock = new();
    private readonly StorageMetrics _metrics;
    private HeadPartition _head;
    private Partition[] _partitions;
    private long _ingestedSamples;
    private int _diskFull;
    private bool _disposed;

    public ProfileStore(StorageOptions? options = null)
    {
        _options = options ?? new StorageOptions();
        _metrics = new StorageMetrics(this, _options.Meters);
        _head = NewHead(0);
        var blocks = new List<Partition>();
        if (_options.Path is not null)
        {
            Directory.CreateDirectory(_options.Path);
            blocks.AddRange(LoadBlocks(EnsureDirectory("blocks")));
        }

        Func<long, bool>? inBucket = null;
        if (_options.Bucket is not null)
        {
            blocks.AddRange(OpenBucket(out inBucket));
        }

        blocks.Sort((a, b) => a.MinTimeNanos.CompareTo(b.MinTimeNanos));
        if (_options.WalEnabled)
        {
            if (_options.Path is null)
            {
                throw new ArgumentException("the write-ahead log needs a storage path (enable persistence)", nameof(options));
            }

            _wal = OpenWal(EnsureDirectory("wal"), blocks, inBucket);
        }
        else if (_options.Path is not null)
        {
            HandleLeftoverWal(blocks);
        }

        blocks.Add(_head);
        _partitions = [.. blocks];
        ApplyRetention();
        if (_options.Retention > TimeSpan.Zero)
        {
            _retentionTimer = _options.Time.CreateTimer(_ => ApplyRetention(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }

        _compactor = Task.Run(CompactLoopAsync);
        if (_options.Bucket is not null)
        {
            _bucketLoop = Task.Run(BucketLoopAsync);
        }

        if (_replayedHeadToFlush)
        {
            Rotate(_head); // replay-then-disable: the replayed profiles go to a block, then the segments go
        }
    }

    /// <summary>Immutable snapshot of all partitions (blocks oldest first, then sealed heads, then the head).</summary>
    public IReadOnlyList<Partition> Partitions => Volatile.Read(ref _partitions);

    /// <summary>Problems found while opening block files and log segments (bad files are quarantined, not fatal).</summary>
    public IReadOnlyList<string> LoadErrors => _loadErrors;

    public long IngestedSamples => Interlocked.Read(ref _ingestedSamples);

    /// <summary>True while the last write to the storage path failed for lack of space (cleared by the next good write).</summary>
    public bool DiskFull => Volatile.Read(ref _diskFull) != 0;

    /// <summary>Profiles replayed from the write-ahead log at start-up.</summary>
    public int ReplayedProfiles { get; private set; }

    private string? BlockDirectory => _options.Path is null ? null : System.IO.Path.Combine(_options.Path, "blocks");

    /// <summary>
    /// Stores a profile: one logical profile per sample type, in series (type + <paramref name="labels"/>).
    /// Returns the number of samples stored (zero values are dropped).
    /// </summary>
    public long Append(string name, LabelSet labels, IngestProfile profile) => Append(name, labels, profile, default);

    /// <summary>
    /// <see cref="Append(string, LabelSet, IngestProfile)"/>, logging <paramref name="source"/> (the bytes the profile
    /// was decoded from) instead of the decoded profile when the write-ahead log is on and
    /// <paramref name="source"/> is the pprof it was decoded from (the server passes the pprof it received; the log
    /// decodes it again at replay).
    /// Throws <see cref="StorageWriteException"/> when the log cannot be written (nothing is stored then) and
    /// <see cref="StorageBusyException"/> when compaction is so far behind that the head reached its memory limit.
    /// </summary>
    public long Append(string name, LabelSet labels, IngestProfile profile, ReadOnlySpan<byte> source) =>
        Append(name, labels, profile, source, null);

    private long Append(string name, LabelSet labels, IngestProfile profile, ReadOnlySpan<byte> source, Hash128[]? locationHashes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_options.QueryOnly)
        {
            throw new StorageBusyException("this server runs --mode=query: it answers queries from object storage and stores nothing; send profiles to an ingest server (--mode=all)", unavailable: true);
        }

        CheckMemoryLimit();
        ByteWriter? record = null;
        if (_wal is not null)
        {
            record = s_walRecord ??= new ByteWriter(64 * 1024);
            record.Clear();
            record.Skip(WriteAheadLog.HeaderBytes); // room for the frame, so a record is one write
            if (!source.IsEmpty)
            {
                WalRecordCodec.EncodeSource(record, name, labels, profile, source);
            }
            else
            {
                WalRecordCodec.Encode(record, name, labels, profile); // encoding outside the lock, like hashing
            }
        }

        var prepared = Symbols.SymbolDb.Prepare(profile, locationHashes); // hashing outside the head's lock
        try
        {
            while (true)
            {
                var head = Volatile.Read(ref _head);
                long n;
                if (record is null)
                {
                    n = head.Append(name, labels, prepared);
                }
                else
                {
                    // The head and its log segment change together under this lock (see Rotate), so the head read
                    // here is open and the record lands in its segment. Log first: a failed write (disk full) then
                    // stores nothing and the client's retry cannot duplicate the profile.
                    lock (_walLock)
                    {
                        head = _head;
                        head.CheckSeriesLimit(name, labels, profile); // before the log: a refused profile leaves no record
                        WriteLog(record.WrittenMutable);
                        n = head.Append(name, labels, prepared);
                        if (n < 0)
                        {
                            throw new InvalidOperationException("the open head was sealed outside the log's lock");
                        }
                    }
                }

                if (n < 0)
                {
                    continue;
                }

                if (record is { Length: > MaxKeptRecordBytes })
                {
                    s_walRecord = null; // an unusually large profile: do not keep its buffer for this thread
                }

                Interlocked.Add(ref _ingestedSamples, n);
                if (head.EstimatedBytes >= _options.ActiveMemoryBytes || _options.Time.GetUtcNow() - head.OpenedAt >= _options.BlockDuration)
                {
                    Rotate(head);
                }

                return n;
            }
        }
        catch (SeriesLimitException)
        {
            _metrics.SeriesRefused();
            throw;
        }
        finally
        {
            prepared.Release();
        }
    }

    /// <summary>Series in the open head (what --ingest-max-active-series bounds).</summary>
    public int ActiveSeries => Volatile.Read(ref _head).SeriesCount;

    private void WriteLog(Span<byte> frame)
    {
        try
        {
            _wal!.AppendFramed(frame);
        }
        catch (StorageWriteException e)
        {
            StorageFailed(e, "write-ahead log append");
            throw;
        }

        StorageWritable();
    }

    /// <summary>Records a failed write to the storage path: metric, and one log line when the disk becomes full.</summary>
    private void StorageFailed(StorageWriteException e, string what)
    {
        _metrics.WriteFailed(e.DiskFull);
        if (e.DiskFull)
        {
            if (Interlocked.Exchange(ref _diskFull, 1) == 0)
            {
                _options.Log?.Invoke($"storage: disk full on {_options.Path} ({what}); ingest is refused until space returns, reads keep working");
            }
        }
        else
        {
            _options.Log?.Invoke($"storage: {what} failed on {_options.Path}: {e.InnerException?.Message}");
        }
    }

    /// <summary>A write succeeded: if the disk was full, say that it recovered.</summary>
    private void StorageWritable()
    {
        if (Volatile.Read(ref _diskFull) != 0 && Interlocked.Exchange(ref _diskFull, 0) != 0)
        {
            _options.Log?.Invoke($"storage: space is back on {_options.Path}; ingest resumed");
            SignalCompactor(); // waiting compactions need not wait for their back-off
        }
    }

    /// <summary>Statistics for metrics and benchmarks.</summary>
    public StoreStats Stats()
    {
        var s = new StoreStats();
        foreach (var p in Partitions)
        {
            switch (p)
            {
                case HeadPartition h:
                    s.HeadSamples += h.SampleCount;
                    s.HeadBytes += h.EstimatedBytes;
                    s.HeadProfiles += h.ProfileCount;
                    break;
                case BlockPartition b:
                    s.Blocks++;
                    s.BlockSamples += b.SampleCount;
                    s.BlockSampleBytes += b.Samples.Length;
                    s.BlockFileBytes += b.FilePath is not null ? new FileInfo(b.FilePath).Length : BlockWriter.Encode(b).Length;
                    break;
                default:
                    break;
            }
        }

        s.PendingCompactions = PendingCompactions;
        s.CompactionFailures = CompactionFailures;
        return s;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _retentionTimer?.Dispose();
        StopCompactor(flush: _options.FlushOnDispose && _options.Path is not null);
        _wal?.Dispose();
        _metrics.Dispose();
    }
}

/// <summary>Storage statistics.</summary>
public sealed class StoreStats
{
    public long HeadSamples { get; set; }
    public long HeadBytes { get; set; }
    public long HeadProfiles { get; set; }
    public int Blocks { get; set; }
    public long BlockSamples { get; set; }
    public long BlockSampleBytes { get; set; }
    public long BlockFileBytes { get; set; }
    public int PendingCompactions { get; set; }
    public long CompactionFailures { get; set; }
}
