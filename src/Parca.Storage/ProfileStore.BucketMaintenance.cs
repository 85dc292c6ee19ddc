using Parca.Storage.Buckets;

namespace Parca.Storage;

/// <summary>
/// Upkeep of the bucket by one server at a time: whoever holds the lease object <c>compactor.lease</c> applies
/// retention (deletes blocks whose newest profile is past it: meta first, so readers stop seeing the block before its
/// parts go), deletes blocks superseded by a compacted block and the leftovers of uploads cut short (see
/// ProfileStore.BucketOrphans.cs). The lease is taken when it is absent, expired or ours, by writing it and reading it
/// back a moment later (S3 has no portable compare-and-swap); should two servers still both act, readers count overlapping blocks once (see VisibleBlocks) and deleting twice is harmless.
/// </summary>
public sealed partial class ProfileStore
{
    private const string LeaseKey = "compactor.lease";

    /// <summary>True while this server holds the compactor lease.</summary>
    public bool HoldsCompactorLease { get; private set; }

    /// <summary>
    /// Superseded blocks and when this lease holder first found them covered (guarded by _rotateLock). In memory only:
    /// a new lease holder or a restart starts the delay again, which only keeps the blocks longer.
    /// </summary>
    private readonly Dictionary<string, DateTimeOffset> _supersededSince = new(StringComparer.Ordinal);

    private TimeSpan LeaseDuration => TimeSpan.FromTicks(Math.Max(_options.BucketSyncInterval.Ticks * 4, TimeSpan.FromSeconds(30).Ticks));

    private async Task MaintainBucketAsync(CancellationToken stop)
    {
        HoldsCompactorLease = await TryTakeLeaseAsync(stop).ConfigureAwait(false);
        if (!HoldsCompactorLease)
        {
            BucketUpkeepIdle = false;
            return;
        }

        List<BucketBlockMeta> delete;
        var cutoff = RetentionCutoffNanos;
        var now = _options.Time.GetUtcNow();
        lock (_rotateLock)
        {
            // A hidden block goes once every input it holds is in a visible block (or retention is past it): a block
            // that two lease holders merged only partly alike keeps what only it holds. A superseded block waits out
            // the delete delay, so servers that listed the bucket before the merge still find what they would read.
            var visible = VisibleBlocks();
            var covered = new HashSet<string>(visible.SelectMany(id => _bucketMetas[id].Inputs), StringComparer.Ordinal);
            var superseded = _bucketMetas.Values
                .Where(m => !visible.Contains(m.Id) && !_freshUploads.Contains(m.Id) && m.MaxTimeNanos >= cutoff && m.Inputs.TrueForAll(covered.Contains))
                .Select(m => m.Id)
                .ToHashSet(StringComparer.Ordinal);
            foreach (var id in _supersededSince.Keys.Where(id => !superseded.Contains(id)).ToList())
            {
                _supersededSince.Remove(id);
            }

            foreach (var id in superseded)
            {
                _supersededSince.TryAdd(id, now);
            }

            delete = [.. _bucketMetas.Values.Where(m => !visible.Contains(m.Id) && !_freshUploads.Contains(m.Id)
                && (m.MaxTimeNanos < cutoff || (superseded.Contains(m.Id) && now - _supersededSince[m.Id] >= _options.BucketDeleteDelay)))];
            foreach (var m in delete)
            {
                _supersededSince.Remove(m.Id);
            }
        }

        foreach (var meta in delete)
        {
            await DeleteBucketBlockAsync(meta, meta.MaxTimeNanos < cutoff ? "retention" : "compacted", stop).ConfigureAwait(false);
        }

        await DeleteOrphansAsync(stop).ConfigureAwait(false);

        var merged = await CompactBucketAsync(stop).ConfigureAwait(false);
        BucketUpkeepIdle = delete.Count == 0 && !merged;
    }

    /// <summary>
    /// True after a pass of the lease holder that found nothing to delete or merge: the bucket holds what compaction
    /// makes of it until new blocks arrive, a window completes or superseded blocks outlive the delete delay.
    /// </summary>
    internal bool BucketUpkeepIdle { get; private set; }

    private async Task<bool> TryTakeLeaseAsync(CancellationToken stop)
    {
        var bucket = _options.Bucket!;
        var now = _options.Time.GetUtcNow();
        if (await bucket.GetAsync(LeaseKey, stop).ConfigureAwait(false) is { } current
            && System.Text.Json.JsonSerializer.Deserialize(current, BucketJson.Default.BucketLease) is { } lease
            && lease.Owner != _ingesterId && lease.Expires > now)
        {
            return false;
        }

        var mine = new BucketLease { Owner = _ingesterId, Expires = now + LeaseDuration };
        await bucket.PutAsync(LeaseKey, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(mine, BucketJson.Default.BucketLease), stop).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromMilliseconds(500), _options.Time, stop).ConfigureAwait(false); // let a concurrent writer's put land first
        return await bucket.GetAsync(LeaseKey, stop).ConfigureAwait(false) is { } back
            && System.Text.Json.JsonSerializer.Deserialize(back, BucketJson.Default.BucketLease)?.Owner == _ingesterId;
    }

    private async Task DeleteBucketBlockAsync(BucketBlockMeta meta, string reason, CancellationToken stop)
    {
        var bucket = _options.Bucket!;
        await bucket.DeleteAsync(BucketBlockMeta.MetaKey(meta.Id), stop).ConfigureAwait(false);
        for (var i = 0; i < meta.Parts.Count; i++)
        {
            await bucket.DeleteAsync(BucketBlockMeta.PartKey(meta.Id, i), stop).ConfigureAwait(false);
        }

        _bucketMetrics!.Deleted(reason);
        _options.Log?.Invoke($"storage: deleted block {meta.Id} from object storage ({reason})");
    }

    /// <summary>Most blocks merged into one (bounds the work of one merge; a larger window takes several).</summary>
    private const int MaxCompactionInputs = 32;

    /// <summary>
    /// Merges what <see cref="BucketCompactionPlan"/> picks, group after group, for up to half the lease. Each merged
    /// block is uploaded like any block (parts, then the meta) and counted as this server's own at once (queries here
    /// switch to it); other readers switch at their next sync, and the next pass deletes the inputs.
    /// Returns whether anything was merged.
    /// </summary>
    private async Task<bool> CompactBucketAsync(CancellationToken stop)
    {
        var started = _options.Time.GetTimestamp();
        var merged = false;
        while (_options.Time.GetElapsedTime(started) < LeaseDuration / 2)
        {
            List<BucketBlockMeta> group;
            int level;
            lock (_rotateLock)
            {
                var visible = VisibleBlocks();
                var candidates = _bucketMetas.Values.Where(m => visible.Contains(m.Id) && !_freshUploads.Contains(m.Id)).ToList();
                group = BucketCompactionPlan.Next(candidates, _options.BlockDuration, _options.Time.GetUtcNow(), _options.BucketCompactionMaxBytes, MaxCompactionInputs, out level);
            }

            if (group.Count < 2)
            {
                return merged;
            }

            await MergeBucketBlocksAsync(group, level, stop).ConfigureAwait(false);
            merged = true;
        }

        return merged;
    }

    private async Task MergeBucketBlocksAsync(List<BucketBlockMeta> group, int level, CancellationToken stop)
    {
        var views = new List<PartitionView>();
        foreach (var meta in group)
        {
            for (var i = 0; i < meta.Parts.Count; i++)
            {
                var part = new RemoteBlockPartition(meta.Id, i, meta.Parts[i], _options.Bucket!, _blockCache!, m => throw new BucketException(m));
                var view = part.View();
                _ = view.Tree; // fetch the details now: a failure aborts the merge before anything is written
                views.Add(view);
            }
        }

        var id = $"compacted/{group[0].MinTimeNanos:x16}-{Guid.NewGuid().ToString("N")[..8]}";
        var block = BlockMerge.Merge(views, id, stop);
        var result = new BucketBlockMeta
        {
            Id = id,
            Level = level,
            Inputs = [.. group.SelectMany(m => m.Inputs).Distinct(StringComparer.Ordinal)],
            Sources = [.. group.SelectMany(m => m.Sources).DistinctBy(s => (s.Ingester, s.WalFirst, s.WalLast))],
        };
        await PutBucketBlockAsync(result, [block], stop).ConfigureAwait(false);
        lock (_rotateLock)
        {
            _bucketMetas[id] = result;
            _freshUploads.Add(id); // a listing taken before the upload must not remove it
            SwapVisible(VisibleBlocks());
        }

        _bucketMetrics!.Compacted();
        _options.Log?.Invoke($"storage: compacted {group.Count} blocks in object storage into {id} ({block.SampleCount} samples, level {level})");
    }
}
