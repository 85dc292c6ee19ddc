using System.IO.Hashing;
using Parca.Storage.Blocks;
using Parca.Storage.Buckets;
using Parca.Storage.Head;

namespace Parca.Storage;

/// <summary>
/// Object storage: blocks cut from the head are uploaded (part files with Content-MD5 and CRC-32C, then the meta
/// object last, so a cut-short upload is never visible) before the log segments they hold are deleted; a failed
/// upload is a failed compaction, retried with back-off while the head and the log keep the data. A background loop
/// lists the bucket every <see cref="StorageOptions.BucketSyncInterval"/> and swaps in the blocks other servers
/// uploaded (and drops those compaction or retention removed). At start-up the bucket says which log segments are
/// already in blocks, so a server killed between upload and segment deletion replays nothing twice.
/// </summary>
public sealed partial class ProfileStore
{
    private readonly Dictionary<string, BucketBlockMeta> _bucketMetas = new(StringComparer.Ordinal); // guarded by _rotateLock
    private readonly HashSet<string> _uploading = new(StringComparer.Ordinal); // guarded by _rotateLock
    private readonly HashSet<string> _freshUploads = new(StringComparer.Ordinal); // guarded by _rotateLock
    private BlockCache? _blockCache;
    private BucketMetrics? _bucketMetrics;
    private readonly Task? _bucketLoop;
    private string _ingesterId = "";
    private int _bucketDown;
    private string? _bucketError;
    private long _readFailureTicks;
    private string? _readFailure;

    /// <summary>This server's name in bucket block ids and sources (kept in &lt;path&gt;/ingester-id).</summary>
    public string IngesterId => _ingesterId;

    /// <summary>True while the last upload or listing of the bucket failed.</summary>
    public bool BucketDown => Volatile.Read(ref _bucketDown) != 0;

    /// <summary>
    /// What a query answer should warn about: the bucket is unreachable (blocks other servers uploaded since may be
    /// missing) or a cold block could not be read within the last sync interval; null when all is well.
    /// </summary>
    public string? BucketWarning
    {
        get
        {
            if (_options.Bucket is null)
            {
                return null;
            }

            if (BucketDown)
            {
                return $"object storage unreachable ({_bucketError}); the answer holds local data and the blocks read before";
            }

            var failedAt = Interlocked.Read(ref _readFailureTicks);
            return failedAt != 0 && _options.Time.GetUtcNow().UtcTicks - failedAt < Math.Max(_options.BucketSyncInterval.Ticks, TimeSpan.TicksPerSecond * 30)
                ? $"blocks could not be read from object storage ({_readFailure}); the answer leaves them out"
                : null;
        }
    }

    /// <summary>Bytes in the bucket's blocks (part files) known to this server.</summary>
    public long BucketBlockBytes
    {
        get
        {
            lock (_rotateLock)
            {
                return _bucketMetas.Values.Sum(m => m.Parts.Sum(p => p.Size));
            }
        }
    }

    internal BlockCache? BlockCache => _blockCache;

    /// <summary>Start-up with a bucket: the blocks it holds, and which of this server's log segments they cover.</summary>
    private List<Partition> OpenBucket(out Func<long, bool> covered)
    {
        var bucket = _options.Bucket!;
        _ingesterId = ReadIngesterId();
        var meter = _metrics.Meter;
        _blockCache = new BlockCache(_options.BucketCacheBytes, meter);
        _bucketMetrics = new BucketMetrics(this, meter);
        var deadline = _options.Time.GetUtcNow() + _options.BucketStartupTimeout;
        while (true)
        {
            try
            {
                SyncBucketAsync(CancellationToken.None, initial: true).GetAwaiter().GetResult();
                break;
            }
            catch (BucketException e) when (_options.Time.GetUtcNow() < deadline)
            {
                _loadErrors.Add($"{bucket.Description}: not reachable at start-up ({e.Message}); retrying");
                Thread.Sleep(1000);
            }
            catch (BucketException e)
            {
                throw new StorageStartupException(
                    $"{bucket.Description} did not answer within {_options.BucketStartupTimeout.TotalSeconds:0}s of start-up: {e.Message}. " +
                    "The server needs it to know which write-ahead log segments are already in blocks");
            }
        }

        var ranges = new List<(long First, long Last)>();
        var blocks = new List<Partition>();
        lock (_rotateLock)
        {
            foreach (var meta in _bucketMetas.Values)
            {
                foreach (var s in meta.Sources)
                {
                    if (s.Ingester == _ingesterId)
                    {
                        ranges.Add((s.WalFirst, s.WalLast));
                    }
                }
            }

            blocks.AddRange(_pendingRemote);
            _pendingRemote.Clear();
        }

        covered = sequence => ranges.Exists(r => sequence >= r.First && sequence <= r.Last);
        return blocks;
    }

    private readonly List<Partition> _pendingRemote = [];

    private string ReadIngesterId()
    {
        if (_options.Path is null)
        {
            return Guid.NewGuid().ToString("N")[..12]; // nothing to replay: a new name per process is right
        }

        var file = System.IO.Path.Combine(_options.Path, "ingester-id");
        if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: 12 } id && id.All(char.IsAsciiHexDigitLower))
        {
            return id;
        }

        id = Guid.NewGuid().ToString("N")[..12];
        var tmp = file + ".tmp";
        File.WriteAllText(tmp, id + "\n");
        File.Move(tmp, file, overwrite: true);
        return id;
    }

    /// <summary>
    /// Uploads a head's blocks as one bucket block: every part, then the meta. Throws (the compaction is then retried)
    /// when the bucket fails; parts already uploaded are removed on a best-effort basis (without a meta nobody reads them).
    /// </summary>
    private BucketBlockMeta UploadBlocks(HeadPartition head, BlockPartition[] blocks)
    {
        var id = $"{_ingesterId}/{head.WalFirstSequence:x8}{head.WalSequence:x8}-{Guid.NewGuid().ToString("N")[..8]}";
        var meta = new BucketBlockMeta { Id = id, Inputs = [id] };
        if (head.WalSequence > 0)
        {
            meta.Sources.Add(new BucketSource { Ingester = _ingesterId, WalFirst = head.WalFirstSequence, WalLast = head.WalSequence });
        }

        lock (_rotateLock)
        {
            _uploading.Add(id); // the sync loop must not load our own block back as a remote one
        }

        long bytes;
        try
        {
            bytes = PutBucketBlockAsync(meta, blocks, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (BucketException e)
        {
            BucketFailed(e);
            lock (_rotateLock)
            {
                _uploading.Remove(id);
            }

            throw;
        }

        BucketRecovered();
        _bucketMetrics!.Uploaded(bytes);
        foreach (var b in blocks)
        {
            b.BucketId = id;
        }

        return meta;
    }

    /// <summary>Under <see cref="_rotateLock"/>, with the partition swap: the uploaded block becomes known as this server's own.</summary>
    private void UploadPublished(BucketBlockMeta meta)
    {
        _uploading.Remove(meta.Id);
        _bucketMetas[meta.Id] = meta;
        _freshUploads.Add(meta.Id); // a listing taken before the upload must not remove it
    }

    /// <summary>
    /// Puts a block's parts, then its meta (which makes it visible); returns the bytes put. On failure the parts
    /// already put are deleted if the bucket lets us (without a meta nobody reads them anyway).
    /// </summary>
    private async Task<long> PutBucketBlockAsync(BucketBlockMeta meta, BlockPartition[] blocks, CancellationToken stop)
    {
        var bucket = _options.Bucket!;
        var started = _options.Time.GetTimestamp();
        var uploaded = 0;
        long bytes = 0;
        try
        {
            for (var i = 0; i < blocks.Length; i++)
            {
                var file = BlockWriter.Encode(blocks[i]);
                meta.Parts.Add(PartOf(blocks[i], file));
                await bucket.PutAsync(BucketBlockMeta.PartKey(meta.Id, i), file, stop).ConfigureAwait(false);
                uploaded++;
                bytes += file.Length;
            }

            // Parts older than the orphan grace without a meta are deleted by the lease holder: a meta must never
            // follow parts that may be gone, so an upload that took half the grace starts over as a new block.
            var took = _options.Time.GetElapsedTime(started);
            if (took > _options.BucketOrphanGrace / 2)
            {
                throw new BucketException($"{bucket.Description}: upload of block {meta.Id} took {took.TotalSeconds:0}s, more than half of the orphan grace ({_options.BucketOrphanGrace.TotalSeconds:0}s); it starts over as a new block");
            }

            meta.MinTimeNanos = meta.Parts.Min(p => p.MinTimeNanos);
            meta.MaxTimeNanos = meta.Parts.Max(p => p.MaxTimeNanos);
            var json = meta.Serialize();
            await bucket.PutAsync(BucketBlockMeta.MetaKey(meta.Id), json, stop).ConfigureAwait(false);
            return bytes + json.Length;
        }
        catch (BucketException)
        {
            for (var i = 0; i < uploaded; i++)
            {
                try
                {
                    await bucket.DeleteAsync(BucketBlockMeta.PartKey(meta.Id, i), CancellationToken.None).ConfigureAwait(false);
                }
                catch (BucketException)
                {
                    // Unreachable still: the part has no meta, so it is never read.
                }
            }

            throw;
        }
    }

    private static BucketPart PartOf(BlockPartition block, byte[] file)
    {
        var part = new BucketPart
        {
            Size = file.Length,
            Crc32C = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, file),
            MinTimeNanos = block.MinTimeNanos,
            MaxTimeNanos = block.MaxTimeNanos,
            Profiles = block.View().RowCount,
            Samples = block.SampleCount,
        };
        foreach (var s in BlockSections.ReadTable(file))
        {
            part.Sections.Add(new BucketSection { Id = (uint)s.Id, Codec = s.Codec, Offset = s.Offset, Stored = s.Stored, Raw = s.Raw, Crc = s.Crc });
        }

        return part;
    }

    private void BucketFailed(BucketException e)
    {
        _bucketError = e.Message;
        _bucketMetrics?.Failed();
        if (Interlocked.Exchange(ref _bucketDown, 1) == 0)
        {
            _options.Log?.Invoke($"storage: object storage unreachable: {e.Message}; blocks stay in the head and the write-ahead log and uploads are retried");
        }
    }

    private void BucketRecovered()
    {
        if (Interlocked.Exchange(ref _bucketDown, 0) != 0)
        {
            _options.Log?.Invoke($"storage: object storage reachable again ({_options.Bucket!.Description}); waiting uploads resume");
            lock (_rotateLock)
            {
                foreach (var head in _sealed)
                {
                    head.RetryAt = default; // retry now, not at the end of a back-off that grew during the outage
                }
            }

            SignalCompactor();
        }
    }

    private void ReadFailed(string message)
    {
        _readFailure = message;
        Interlocked.Exchange(ref _readFailureTicks, _options.Time.GetUtcNow().UtcTicks);
        _bucketMetrics?.ReadFailed();
    }

    private async Task BucketLoopAsync()
    {
        var stop = _stopCompactor.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.BucketSyncInterval, _options.Time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // An idle head is cut on age here too (appends check it only when they come), so its blocks reach the bucket.
            var head = Volatile.Read(ref _head);
            if (!_options.QueryOnly && !head.IsEmpty && _options.Time.GetUtcNow() - head.OpenedAt >= _options.BlockDuration)
            {
                Rotate(head);
            }

            try
            {
                await SyncBucketAsync(stop, initial: false).ConfigureAwait(false);
                if (_options.BucketCompaction && !_options.QueryOnly)
                {
                    await MaintainBucketAsync(stop).ConfigureAwait(false);
                }
            }
            catch (BucketException e)
            {
                BucketFailed(e);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Anything else (a damaged block met by a merge, a bug): an exception escaping here would end the loop,
                // and with it discovery, uploads of idle heads and every later compaction, without a word.
                _options.Log?.Invoke($"storage: object storage sync or upkeep failed: {e.GetType().Name}: {e.Message}; retried at the next sync");
            }
        }
    }

    /// <summary>
    /// Lists the bucket's block metas, reads the new ones, and swaps the visible set into the partitions: new blocks
    /// in, deleted ones out, and a block hidden while a compacted block that includes it exists (between the
    /// compactor's upload and its deletion of the inputs), so nothing is counted twice.
    /// </summary>
    private async Task SyncBucketAsync(CancellationToken stop, bool initial)
    {
        var bucket = _options.Bucket!;
        var objects = await bucket.ListAsync(BucketBlockMeta.BlocksPrefix, stop).ConfigureAwait(false);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in objects)
        {
            if (BucketBlockMeta.IdOfMetaKey(o.Key) is { } id)
            {
                listed.Add(id);
            }
        }

        FindOrphans(objects, listed);

        List<string> unknown;
        lock (_rotateLock)
        {
            unknown = [.. listed.Where(id => !_bucketMetas.ContainsKey(id) && !_uploading.Contains(id))];
        }

        var loaded = new List<BucketBlockMeta>();
        foreach (var id in unknown)
        {
            var json = await bucket.GetAsync(BucketBlockMeta.MetaKey(id), stop).ConfigureAwait(false);
            if (json is null)
            {
                continue; // deleted since the listing
            }

            try
            {
                loaded.Add(BucketBlockMeta.Parse(json, BucketBlockMeta.MetaKey(id)));
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
            {
                _loadErrors.Add($"{bucket.Description}: {BucketBlockMeta.MetaKey(id)} is not a valid block meta ({e.Message}); skipped");
            }
        }

        BucketRecovered();
        _bucketMetrics!.Synced(_options.Time.GetUtcNow());
        lock (_rotateLock)
        {
            foreach (var meta in loaded)
            {
                _bucketMetas[meta.Id] = meta;
            }

            _freshUploads.RemoveWhere(listed.Contains);
            foreach (var gone in _bucketMetas.Keys.Where(id => !listed.Contains(id) && !_freshUploads.Contains(id)).ToList())
            {
                _bucketMetas.Remove(gone);
                _blockCache!.Evict(BucketBlockMeta.BlocksPrefix + gone + "/");
            }

            var visible = VisibleBlocks();
            if (initial)
            {
                foreach (var id in visible)
                {
                    _pendingRemote.AddRange(RemoteParts(_bucketMetas[id]));
                }

                return;
            }

            SwapVisible(visible);
        }
    }

    /// <summary>
    /// Ids of the blocks queries should read, so that every level-0 block (input) is counted exactly once: blocks are
    /// taken greedily, most inputs first (a merged block before the blocks it holds, a window merged again after a late
    /// block before the window's earlier merge), then higher level, then smaller id (two compactors that merged the
    /// same blocks despite the lease); a block sharing an input with one already taken is left out. Between a merge's
    /// upload and the deletion of its inputs, or with two lease holders, nothing is counted twice. Blocks past
    /// retention are left out.
    /// </summary>
    private HashSet<string> VisibleBlocks()
    {
        var cutoff = RetentionCutoffNanos;
        var metas = new List<BucketBlockMeta>(_bucketMetas.Count);
        foreach (var meta in _bucketMetas.Values)
        {
            if (meta.MaxTimeNanos >= cutoff)
            {
                metas.Add(meta);
            }
        }

        metas.Sort((a, b) =>
            a.Inputs.Count != b.Inputs.Count ? b.Inputs.Count.CompareTo(a.Inputs.Count)
            : a.Level != b.Level ? b.Level.CompareTo(a.Level)
            : string.CompareOrdinal(a.Id, b.Id));
        var visible = new HashSet<string>(StringComparer.Ordinal);
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var meta in metas)
        {
            if (!meta.Inputs.Exists(covered.Contains))
            {
                visible.Add(meta.Id);
                covered.UnionWith(meta.Inputs);
            }
        }

        return visible;
    }

    private List<Partition> RemoteParts(BucketBlockMeta meta)
    {
        var parts = new List<Partition>(meta.Parts.Count);
        for (var i = 0; i < meta.Parts.Count; i++)
        {
            parts.Add(new RemoteBlockPartition(meta.Id, i, meta.Parts[i], _options.Bucket!, _blockCache!, ReadFailed));
        }

        return parts;
    }

    /// <summary>Rebuilds the partition array (under <see cref="_rotateLock"/>): bucket blocks per the visible set, everything else kept.</summary>
    private void SwapVisible(HashSet<string> visible)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        var blocks = new List<Partition>();
        var heads = new List<Partition>();
        foreach (var p in _partitions)
        {
            var id = p switch
            {
                BlockPartition b => b.BucketId,
                RemoteBlockPartition r => r.BucketId,
                _ => null,
            };
            if (p is HeadPartition)
            {
                heads.Add(p);
            }
            else if (id is null)
            {
                blocks.Add(p);
            }
            else if (visible.Contains(id))
            {
                blocks.Add(p);
                present.Add(id);
            }
        }

        foreach (var id in visible)
        {
            if (!present.Contains(id))
            {
                blocks.AddRange(RemoteParts(_bucketMetas[id]));
            }
        }

        blocks.Sort((a, b) => a.MinTimeNanos.CompareTo(b.MinTimeNanos));
        blocks.AddRange(heads);
        Volatile.Write(ref _partitions, [.. blocks]);
    }
}
