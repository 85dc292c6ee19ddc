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

    private TimeSpan LeaseDuration => TimeSpan.FromTicks(Math.Max(_options.BucketSyncInterval.Ticks * 4, TimeSpan.FromSeconds(30).Ticks));

    private async Task MaintainBucketAsync(CancellationToken stop)
    {
        HoldsCompactorLease = await TryTakeLeaseAsync(stop).ConfigureAwait(false);
        if (!HoldsCompactorLease)
        {
            return;
        }

        List<BucketBlockMeta> delete;
        lock (_rotateLock)
        {
            var visible = VisibleBlocks();
            delete = [.. _bucketMetas.Values.Where(m => !visible.Contains(m.Id) && !_freshUploads.Contains(m.Id))];
        }

        foreach (var meta in delete)
        {
            await DeleteBucketBlockAsync(meta, meta.MaxTimeNanos < RetentionCutoffNanos ? "retention" : "compacted", stop).ConfigureAwait(false);
        }

        await DeleteOrphansAsync(stop).ConfigureAwait(false);

        await CompactBucketAsync(stop).ConfigureAwait(false);
    }

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

    /// <summary>Most blocks merged in one pass (bounds the memory of a pass; the rest wait for the next sync).</summary>
    private const int MaxCompactionInputs = 32;

    /// <summary>
    /// Merges small blocks: visible level-0 blocks no newer than two block durations, grouped by a window of twelve
    /// block durations (a day at the default 2 h), two or more per window, become one level-1 block holding their
    /// inputs and sources. It is uploaded like any block (parts, then the meta); readers switch to it at their next
    /// sync and the next pass of the lease holder deletes the inputs.
    /// </summary>
    private async Task CompactBucketAsync(CancellationToken stop)
    {
        var window = _options.BlockDuration.Ticks * 100 * 12;
        var recent = (_options.Time.GetUtcNow() - (2 * _options.BlockDuration)).ToUnixTimeMilliseconds() * 1_000_000;
        List<BucketBlockMeta> group;
        lock (_rotateLock)
        {
            var visible = VisibleBlocks();
            group = _bucketMetas.Values
                .Where(m => m.Level == 0 && visible.Contains(m.Id) && m.MaxTimeNanos < recent && !_freshUploads.Contains(m.Id))
                .GroupBy(m => m.MinTimeNanos / window)
                .Where(g => g.Count() >= 2)
                .Select(g => g.OrderBy(m => m.MinTimeNanos).Take(MaxCompactionInputs).ToList())
                .FirstOrDefault() ?? [];
        }

        if (group.Count < 2)
        {
            return;
        }

        var views = new List<PartitionView>();
        foreach (var meta in group)
        {
            for (var i = 0; i < meta.Parts.Count; i++)
            {
                var part = new RemoteBlockPartition(meta.Id, i, meta.Parts[i], _options.Bucket!, _blockCache!, m => throw new BucketException(m));
                var view = part.View();
                _ = view.Tree; // fetch the details now: a failure aborts the pass before anything is written
                views.Add(view);
            }
        }

        var id = $"compacted/{group[0].MinTimeNanos:x16}-{Guid.NewGuid().ToString("N")[..8]}";
        var merged = BlockMerge.Merge(views, id);
        var result = new BucketBlockMeta
        {
            Id = id,
            Level = group.Max(m => m.Level) + 1,
            Inputs = [.. group.SelectMany(m => m.Inputs).Distinct()],
            Sources = [.. group.SelectMany(m => m.Sources)],
        };
        await PutBucketBlockAsync(result, [merged], stop).ConfigureAwait(false);
        _bucketMetrics!.Compacted();
        _options.Log?.Invoke($"storage: compacted {group.Count} blocks in object storage into {id} ({merged.SampleCount} samples)");
    }
}
