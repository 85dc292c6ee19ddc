using System.Globalization;
using Parca.Storage.Blocks;
using Parca.Storage.Head;
using Parca.Storage.Ingest;
using Parca.Storage.Internal;
using Parca.Storage.Wal;

namespace Parca.Storage;

/// <summary>
/// The profile store: one mutable head plus immutable blocks, each a time partition with its own symbols, stacks
/// and series. Appends go to the head (serialized by the head's lock); queries read <see cref="Partitions"/>, an
/// immutable array swapped atomically, so they never wait for writers or compaction.
/// </summary>
public sealed class ProfileStore : IDisposable
{
    private readonly StorageOptions _options;
    private readonly Lock _rotateLock = new();
    private readonly SemaphoreSlim _compactGate = new(1, 1);
    private readonly List<string> _loadErrors = [];
    private readonly ITimer? _retentionTimer;
    private readonly WriteAheadLog? _wal;
    private readonly Lock _walLock = new();
    private const int MaxKeptRecordBytes = 4 << 20;
    [ThreadStatic]
    private static ByteWriter? s_walRecord;
    private HeadPartition _head = new();
    private Partition[] _partitions;
    private Task _pendingCompaction = Task.CompletedTask;
    private long _ingestedSamples;
    private int _blockSequence;
    private bool _disposed;

    public ProfileStore(StorageOptions? options = null)
    {
        _options = options ?? new StorageOptions();
        var blocks = new List<Partition>();
        if (_options.Path is not null)
        {
            blocks.AddRange(LoadBlocks(BlockDirectory!));
        }

        blocks.Sort((a, b) => a.MinTimeNanos.CompareTo(b.MinTimeNanos));
        if (_options.WalEnabled)
        {
            if (_options.Path is null)
            {
                throw new ArgumentException("the write-ahead log needs a storage path (enable persistence)", nameof(options));
            }

            _wal = OpenWal(System.IO.Path.Combine(_options.Path, "wal"), blocks);
        }

        blocks.Add(_head);
        _partitions = [.. blocks];
        ApplyRetention();
        if (_options.Retention > TimeSpan.Zero)
        {
            _retentionTimer = _options.Time.CreateTimer(_ => ApplyRetention(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
    }

    /// <summary>Immutable snapshot of all partitions (blocks oldest first, then sealed heads, then the head).</summary>
    public IReadOnlyList<Partition> Partitions => Volatile.Read(ref _partitions);

    /// <summary>Problems found while opening block files (corrupt files are skipped, not fatal).</summary>
    public IReadOnlyList<string> LoadErrors => _loadErrors;

    public long IngestedSamples => Interlocked.Read(ref _ingestedSamples);

    private string? BlockDirectory => _options.Path is null ? null : System.IO.Path.Combine(_options.Path, "blocks");

    /// <summary>
    /// Stores a profile: one logical profile per sample type, in series (type + <paramref name="labels"/>).
    /// Returns the number of samples stored (zero values are dropped).
    /// </summary>
    public long Append(string name, LabelSet labels, IngestProfile profile) => Append(name, labels, profile, default);

    /// <summary>
    /// <see cref="Append(string, LabelSet, IngestProfile)"/>, logging <paramref name="source"/> (the bytes the profile
    /// was decoded from) instead of the decoded profile when the write-ahead log is on and
    /// <see cref="StorageOptions.WalSourceDecoder"/> can decode it again (the server passes the pprof it received).
    /// </summary>
    public long Append(string name, LabelSet labels, IngestProfile profile, ReadOnlySpan<byte> source)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ByteWriter? record = null;
        if (_wal is not null)
        {
            record = s_walRecord ??= new ByteWriter(64 * 1024);
            record.Clear();
            if (!source.IsEmpty && _options.WalSourceDecoder is not null)
            {
                WalRecordCodec.EncodeSource(record, name, labels, profile, source);
            }
            else
            {
                WalRecordCodec.Encode(record, name, labels, profile); // encoding outside the lock, like hashing
            }
        }

        var prepared = Symbols.SymbolDb.Prepare(profile); // hashing outside the head's lock
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
                        _wal!.Append(record.Written);
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
                if (head.EstimatedBytes >= _options.ActiveMemoryBytes ||
                    head.MaxTimeNanos - head.MinTimeNanos >= _options.BlockDuration.Ticks * 100)
                {
                    Rotate(head);
                }

                return n;
            }
        }
        finally
        {
            prepared.Release();
        }
    }

    /// <summary>Compacts the current head into a block now and waits for it (and for earlier compactions).</summary>
    public Task FlushAsync()
    {
        Rotate(Volatile.Read(ref _head));
        return Volatile.Read(ref _pendingCompaction);
    }

    private void Rotate(HeadPartition head)
    {
        lock (_rotateLock)
        {
            if (!ReferenceEquals(_head, head) || head.IsEmpty)
            {
                return;
            }

            HeadPartition next;
            if (_wal is null)
            {
                head.Seal();
                next = new HeadPartition();
                Volatile.Write(ref _head, next);
            }
            else
            {
                // Appends read the head under this lock: they never see the sealed one.
                lock (_walLock)
                {
                    head.Seal();
                    next = new HeadPartition { WalSequence = _wal.StartSegment() };
                    Volatile.Write(ref _head, next);
                }
            }

            Volatile.Write(ref _partitions, [.. _partitions, next]);
            var previous = _pendingCompaction;
            _pendingCompaction = Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                Compact(head);
            });
        }
    }

    private void Compact(HeadPartition head)
    {
        // With the log on, the id names the last segment the block covers: the block file's atomic rename is then
        // also the record that those segments are no longer needed (see OpenWal).
        var id = head.WalSequence > 0
            ? $"{head.MinTimeNanos:x16}-w{head.WalSequence:x8}-{Interlocked.Increment(ref _blockSequence):x4}-{Guid.NewGuid():N}"[..48]
            : $"{head.MinTimeNanos:x16}-{Environment.ProcessId:x}-{Interlocked.Increment(ref _blockSequence):x4}-{Guid.NewGuid():N}"[..48];
        var block = BlockBuilder.Build(head.View(), id);
        if (BlockDirectory is not null)
        {
            block.FilePath = BlockWriter.WriteFile(block, BlockDirectory);
            _wal?.DeleteThrough(head.WalSequence);
        }

        lock (_rotateLock)
        {
            var list = new List<Partition>(_partitions.Length);
            foreach (var p in _partitions)
            {
                list.Add(ReferenceEquals(p, head) ? block : p);
            }

            Volatile.Write(ref _partitions, [.. list]);
        }

        ApplyRetention();
    }

    /// <summary>How long profiles are kept (zero: forever).</summary>
    public TimeSpan Retention => _options.Retention;

    /// <summary>
    /// Profiles older than this (Unix nanoseconds) fall outside the retention and would be deleted with the first block
    /// they land in; <see cref="long.MinValue"/> when retention is off.
    /// </summary>
    public long RetentionCutoffNanos => _options.Retention <= TimeSpan.Zero
        ? long.MinValue
        : (_options.Time.GetUtcNow() - _options.Retention).ToUnixTimeMilliseconds() * 1_000_000;

    /// <summary>Deletes blocks whose newest profile is older than the retention; returns how many were deleted.</summary>
    public int ApplyRetention()
    {
        if (_options.Retention <= TimeSpan.Zero)
        {
            return 0;
        }

        var cutoff = RetentionCutoffNanos;
        List<BlockPartition> expired = [];
        lock (_rotateLock)
        {
            var keep = new List<Partition>(_partitions.Length);
            foreach (var p in _partitions)
            {
                if (p is BlockPartition b && b.MaxTimeNanos < cutoff)
                {
                    expired.Add(b);
                }
                else
                {
                    keep.Add(p);
                }
            }

            if (expired.Count == 0)
            {
                return 0;
            }

            Volatile.Write(ref _partitions, [.. keep]);
        }

        foreach (var b in expired)
        {
            if (b.FilePath is not null)
            {
                File.Delete(b.FilePath);
            }
        }

        return expired.Count;
    }

    private IEnumerable<Partition> LoadBlocks(string dir)
    {
        if (!Directory.Exists(dir))
        {
            yield break;
        }

        foreach (var tmp in Directory.EnumerateFiles(dir, "*" + BlockFormat.Extension + ".tmp"))
        {
            File.Delete(tmp);
        }

        foreach (var file in Directory.EnumerateFiles(dir, "*" + BlockFormat.Extension))
        {
            BlockPartition? block = null;
            try
            {
                block = BlockReader.ReadFile(file);
            }
            catch (InvalidDataException e)
            {
                _loadErrors.Add(e.Message);
            }

            if (block is not null)
            {
                yield return block;
            }
        }
    }

    /// <summary>
    /// Opens the log: segments covered by a block on disk (its id names the last one) are deleted, the others are
    /// replayed into the head, and the head gets a new segment. The replayed segments stay until that head is on disk.
    /// </summary>
    private WriteAheadLog OpenWal(string directory, List<Partition> blocks)
    {
        long persisted = 0;
        foreach (var b in blocks)
        {
            if (b is BlockPartition block && WalSequenceOf(block.Id) is { } covered)
            {
                persisted = Math.Max(persisted, covered);
            }
        }

        var wal = new WriteAheadLog(directory, _options.Time); // a new segment, numbered after every existing one
        var head = new HeadPartition { WalSequence = wal.CurrentSequence };
        foreach (var (sequence, path) in WriteAheadLog.Segments(directory))
        {
            if (sequence >= wal.CurrentSequence)
            {
                continue;
            }

            if (sequence <= persisted)
            {
                File.Delete(path);
                continue;
            }

            foreach (var bytes in WriteAheadLog.ReadSegment(path, _loadErrors.Add))
            {
                try
                {
                    var (name, labels, profile) = WalRecordCodec.Decode(bytes, _options.WalSourceDecoder);
                    head.Append(name, labels, profile);
                    ReplayedProfiles++;
                }
                catch (InvalidDataException e)
                {
                    _loadErrors.Add($"{path}: skipped a record: {e.Message}");
                }
            }
        }

        _head = head;
        return wal;
    }

    /// <summary>The last log segment a block covers, from ids of the form "&lt;16 hex&gt;-w&lt;8 hex&gt;-..."; null for others.</summary>
    internal static long? WalSequenceOf(string blockId) =>
        blockId.Length >= 26 && blockId[16] == '-' && blockId[17] == 'w'
            && long.TryParse(blockId.AsSpan(18, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : null;

    /// <summary>Profiles replayed from the write-ahead log at start-up.</summary>
    public int ReplayedProfiles { get; private set; }

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

        return s;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _retentionTimer?.Dispose();
        if (_options.FlushOnDispose && _options.Path is not null)
        {
            FlushAsync().GetAwaiter().GetResult();
        }
        else
        {
            Volatile.Read(ref _pendingCompaction).GetAwaiter().GetResult();
        }

        _wal?.Dispose();
        _disposed = true;
        _compactGate.Dispose();
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
}
