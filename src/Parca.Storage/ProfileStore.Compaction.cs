using Parca.Storage.Blocks;
using Parca.Storage.Buckets;
using Parca.Storage.Head;

namespace Parca.Storage;

/// <summary>
/// Sealing and compaction. A sealed head waits in <see cref="_sealed"/> (queries still see it) until one background
/// loop has written it as blocks. A failed compaction (a full disk, an I/O error) is logged, counted and retried with
/// back-off, and never holds up the heads sealed after it: each head's blocks name the log segments they cover, so
/// they can be written and their segments deleted in any order.
/// </summary>
public sealed partial class ProfileStore
{
    private static readonly TimeSpan s_maxRetryDelay = TimeSpan.FromMinutes(1);

    private readonly List<HeadPartition> _sealed = []; // guarded by _rotateLock, oldest first
    private readonly SemaphoreSlim _compactSignal = new(0);
    private readonly CancellationTokenSource _stopCompactor = new();
    private readonly Task _compactor;
    private long _pendingBytes;
    private long _compactionFailures;
    private int _blockSequence;

    /// <summary>Sealed heads waiting to be written as blocks.</summary>
    public int PendingCompactions
    {
        get
        {
            lock (_rotateLock)
            {
                return _sealed.Count;
            }
        }
    }

    /// <summary>Compactions that failed so far (each is retried).</summary>
    public long CompactionFailures => Interlocked.Read(ref _compactionFailures);

    /// <summary>Seals the current head and waits until every sealed head is in blocks (a failing one is retried until it is).</summary>
    public Task FlushAsync()
    {
        Rotate(Volatile.Read(ref _head));
        lock (_rotateLock)
        {
            return Task.WhenAll(_sealed.Select(h => h.Compacted.Task));
        }
    }

    private HeadPartition NewHead(long walSequence) =>
        new() { WalFirstSequence = walSequence, WalSequence = walSequence, OpenedAt = _options.Time.GetUtcNow(), MaxSeries = _options.MaxActiveSeries };

    /// <summary>Refuses an append once the head and the heads waiting for compaction hold the configured bound.</summary>
    private void CheckMemoryLimit()
    {
        var limit = _options.EffectiveHeadMemoryLimit;
        var held = Volatile.Read(ref _pendingBytes) + Volatile.Read(ref _head).EstimatedBytes;
        if (held >= limit)
        {
            _metrics.Refused();
            if (BucketDown)
            {
                throw new StorageBusyException(
                    $"object storage unreachable ({_bucketError}): {held >> 20} MiB of profiles wait in memory and the write-ahead log to be uploaded " +
                    $"(limit {limit >> 20} MiB, --storage-head-memory-limit); ingest resumes once uploads succeed", unavailable: true);
            }

            throw new StorageBusyException(
                $"storage is full in memory: {held >> 20} MiB of profiles wait to be written as blocks (limit {limit >> 20} MiB); " +
                (DiskFull ? "the disk is full on the storage path" : "compaction is failing or behind") + ", ingest resumes once blocks are written");
        }
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
                next = NewHead(0);
                Volatile.Write(ref _head, next);
            }
            else
            {
                // Appends read the head under this lock: they never see the sealed one.
                lock (_walLock)
                {
                    long segment;
                    try
                    {
                        segment = _wal.StartSegment(); // first: if it fails the head simply stays open
                    }
                    catch (StorageWriteException e)
                    {
                        StorageFailed(e, "starting a log segment");
                        return;
                    }

                    head.Seal();
                    head.WalSequence = segment - 1;
                    next = NewHead(segment);
                    Volatile.Write(ref _head, next);
                }
            }

            _sealed.Add(head);
            Interlocked.Add(ref _pendingBytes, head.EstimatedBytes);
            Volatile.Write(ref _partitions, [.. _partitions, next]);
        }

        SignalCompactor();
    }

    /// <summary>Seals a head that <see cref="Rotate"/> left open; at shutdown no new segment is needed.</summary>
    private void SealForShutdown()
    {
        lock (_rotateLock)
        {
            var head = _head;
            if (head.IsEmpty || _sealed.Contains(head))
            {
                return;
            }

            lock (_walLock)
            {
                head.Seal();
                if (_wal is not null)
                {
                    head.WalSequence = _wal.CurrentSequence; // its blocks then cover the current segment too
                }
            }

            _sealed.Add(head);
            Interlocked.Add(ref _pendingBytes, head.EstimatedBytes);
        }
    }

    private void SignalCompactor()
    {
        try
        {
            _compactSignal.Release();
        }
        catch (ObjectDisposedException)
        {
            // Stopped: the shutdown pass handles what is left.
        }
    }

    private async Task CompactLoopAsync()
    {
        var stop = _stopCompactor.Token;
        while (!stop.IsCancellationRequested)
        {
            var wait = CompactDue(stop);
            try
            {
                await _compactSignal.WaitAsync(wait, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Compacts every sealed head whose (re)try is due; returns how long until the next retry.</summary>
    private TimeSpan CompactDue(CancellationToken stop)
    {
        HeadPartition[] pending;
        lock (_rotateLock)
        {
            pending = [.. _sealed];
        }

        var next = Timeout.InfiniteTimeSpan;
        foreach (var head in pending)
        {
            if (stop.IsCancellationRequested)
            {
                break;
            }

            var now = _options.Time.GetUtcNow();
            if (head.RetryAt > now)
            {
                next = Shorter(next, head.RetryAt - now);
                continue;
            }

            if (!TryCompact(head, out var error))
            {
                var delay = RetryDelay(head.CompactionFailures);
                head.RetryAt = _options.Time.GetUtcNow() + delay;
                _options.Log?.Invoke($"storage: compaction of a head with {head.ProfileCount} profiles failed (attempt {head.CompactionFailures}): {error}; retrying in {delay.TotalSeconds:0.#}s");
                next = Shorter(next, delay);
            }
        }

        return next;
    }

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a == Timeout.InfiniteTimeSpan || b < a ? b : a;

    private TimeSpan RetryDelay(int failures)
    {
        var delay = _options.CompactionRetryDelay * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < s_maxRetryDelay ? delay : s_maxRetryDelay;
    }

    /// <summary>One compaction attempt; a failure is counted and leaves the head waiting (nothing of it on disk).</summary>
    private bool TryCompact(HeadPartition head, out string error)
    {
        try
        {
            Compact(head);
            error = "";
            return true;
        }
        catch (Exception e)
        {
            // Any failure, not only I/O: an exception escaping here would end the compaction loop, and with it every
            // later compaction (the failure this loop exists to prevent). The head stays queryable and is retried.
            head.CompactionFailures++;
            Interlocked.Increment(ref _compactionFailures);
            _metrics.CompactionFailed();
            error = e switch
            {
                StorageWriteException { DiskFull: true } => "disk full on the storage path",
                BucketException => "upload to object storage failed: " + e.Message,
                _ => e.Message,
            };
            return false;
        }
    }

    private void Compact(HeadPartition head)
    {
        var view = head.View();
        var cuts = TimeCuts(view, _options.BlockDuration.Ticks * 200); // a block spans at most 2 × BlockDuration
        var token = Guid.NewGuid().ToString("N")[..8];
        var blocks = new BlockPartition[cuts.Count];
        for (var i = 0; i < cuts.Count; i++)
        {
            // With the log on, the id names the segments the head covers and which part of how many this block is:
            // the last part's atomic rename is then also the record that those segments are no longer needed.
            var id = head.WalSequence > 0
                ? $"{cuts[i].Min:x16}-r{head.WalFirstSequence:x8}{head.WalSequence:x8}-{i:x2}{cuts.Count:x2}-{token}"
                : $"{cuts[i].Min:x16}-{Environment.ProcessId:x}-{Interlocked.Increment(ref _blockSequence):x4}-{Guid.NewGuid():N}"[..48];
            blocks[i] = BlockBuilder.Build(view, id, cuts[i].Min, cuts[i].Max);
        }

        var uploaded = _options.Bucket is not null ? UploadBlocks(head, blocks) : null; // before the segments go
        if (uploaded is not null)
        {
            _wal?.DeleteRange(head.WalFirstSequence, head.WalSequence);
        }
        else if (BlockDirectory is not null)
        {
            WriteBlocks(blocks);
            _wal?.DeleteRange(head.WalFirstSequence, head.WalSequence);
            foreach (var leftover in head.LeftoverSegments ?? [])
            {
                File.Delete(leftover);
            }
        }

        lock (_rotateLock)
        {
            if (uploaded is not null)
            {
                UploadPublished(uploaded);
            }

            var list = new List<Partition>(_partitions.Length + blocks.Length);
            foreach (var p in _partitions)
            {
                if (ReferenceEquals(p, head))
                {
                    list.AddRange(blocks);
                }
                else
                {
                    list.Add(p);
                }
            }

            Volatile.Write(ref _partitions, [.. list]);
            _sealed.Remove(head);
            Interlocked.Add(ref _pendingBytes, -head.EstimatedBytes);
        }

        ApplyRetention();
        head.Compacted.TrySetResult();
    }

    /// <summary>Writes all parts or none: a failure removes the parts already written, so a retry cannot duplicate them.</summary>
    private void WriteBlocks(BlockPartition[] blocks)
    {
        var written = 0;
        try
        {
            for (; written < blocks.Length; written++)
            {
                blocks[written].FilePath = BlockWriter.WriteFile(blocks[written], BlockDirectory!);
            }
        }
        catch (IOException e)
        {
            for (var i = 0; i < written; i++)
            {
                File.Delete(blocks[i].FilePath!);
            }

            var failure = e as StorageWriteException ?? new StorageWriteException(e);
            StorageFailed(failure, "writing a block");
            throw failure;
        }

        StorageWritable();
    }

    /// <summary>
    /// Time ranges [Min, Max] that split the head's profiles into blocks spanning less than <paramref name="span"/>
    /// each: profiles sorted by time, a new block whenever the next profile is that far from the block's first.
    /// One block in the usual case; an agent hours ahead or behind gets its own, which retention drops on time.
    /// </summary>
    internal static List<(long Min, long Max)> TimeCuts(PartitionView view, long span)
    {
        var rows = view.Rows;
        var times = new long[rows.Length];
        for (var i = 0; i < times.Length; i++)
        {
            times[i] = rows[i].TimeNanos;
        }

        Array.Sort(times);
        var cuts = new List<(long, long)>();
        var start = 0;
        for (var i = 1; i <= times.Length; i++)
        {
            if (i == times.Length || times[i] - times[start] >= span)
            {
                cuts.Add((times[start], times[i - 1]));
                start = i;
            }
        }

        if (cuts.Count == 0)
        {
            cuts.Add((long.MinValue, long.MaxValue));
        }

        return cuts;
    }

    /// <summary>
    /// Stops the background loop, then (graceful shutdown) seals the head and makes one attempt at every sealed head;
    /// what cannot be written is logged, with where it survives (the log) or that it is lost.
    /// </summary>
    private void StopCompactor(bool flush)
    {
        _stopCompactor.Cancel();
        _compactor.GetAwaiter().GetResult();
        _bucketLoop?.GetAwaiter().GetResult();
        if (flush)
        {
            Rotate(_head);
            SealForShutdown(); // if the log could not start a segment (disk full), the head is still open
        }

        HeadPartition[] pending;
        lock (_rotateLock)
        {
            pending = [.. _sealed];
        }

        foreach (var head in pending)
        {
            if (!TryCompact(head, out var error))
            {
                _options.Log?.Invoke(
                    $"storage: shutdown could not write {head.ProfileCount} profiles as a block: {error}; " +
                    (_wal is not null || head.LeftoverSegments is not null ? "they stay in the write-ahead log and are replayed at the next start" : "they are lost (run with --storage-enable-wal to keep them)"));
            }
        }

        _compactSignal.Dispose();
        _stopCompactor.Dispose();
    }
}
