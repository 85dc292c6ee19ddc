using Parca.Storage.Buckets;

namespace Parca.Storage;

/// <summary>
/// Leftovers of uploads cut short (a server killed between a block's parts and its meta, or a failed upload whose
/// parts could not be deleted because the bucket was down): part files in a block folder without <c>meta.json</c>.
/// Nobody reads them, but they take space. Each listing notes the folders whose newest object is older than
/// <see cref="StorageOptions.BucketOrphanGrace"/> by the bucket's own LastModified (S3 listings carry it; a
/// FILESYSTEM bucket gives the file's mtime), and the lease holder deletes them. That is safe because an upload that
/// took half of the grace starts over as a new block instead of writing its meta (PutBucketBlockAsync), so no meta
/// ever follows parts old enough to be collected, with clocks apart by up to half the grace. The same pass aborts
/// multipart uploads and removes temporaries that a crash left behind (<see cref="IObjectBucket.RemoveAbandonedWritesAsync"/>).
/// </summary>
public sealed partial class ProfileStore
{
    private List<(string Id, List<string> Keys)> _orphans = []; // guarded by _rotateLock: from the last listing

    /// <summary>Block folders of the listing without a meta, untouched for longer than the grace and not being uploaded by us.</summary>
    private void FindOrphans(IReadOnlyList<BucketObject> objects, HashSet<string> withMeta)
    {
        var cutoff = _options.Time.GetUtcNow() - _options.BucketOrphanGrace;
        var folders = new Dictionary<string, (List<string> Keys, DateTimeOffset Newest)>(StringComparer.Ordinal);
        foreach (var o in objects)
        {
            var slash = o.Key.LastIndexOf('/');
            if (slash <= BucketBlockMeta.BlocksPrefix.Length || BucketBlockMeta.IdOfMetaKey(o.Key) is not null)
            {
                continue;
            }

            var id = o.Key[BucketBlockMeta.BlocksPrefix.Length..slash];
            if (withMeta.Contains(id))
            {
                continue;
            }

            if (!folders.TryGetValue(id, out var folder))
            {
                folder = ([], DateTimeOffset.MinValue);
            }

            folder.Keys.Add(o.Key);
            folders[id] = (folder.Keys, o.LastModified > folder.Newest ? o.LastModified : folder.Newest);
        }

        lock (_rotateLock)
        {
            _orphans = [.. folders.Where(f => f.Value.Newest < cutoff && !_uploading.Contains(f.Key)).Select(f => (f.Key, f.Value.Keys))];
        }
    }

    private async Task DeleteOrphansAsync(CancellationToken stop)
    {
        var bucket = _options.Bucket!;
        List<(string Id, List<string> Keys)> orphans;
        lock (_rotateLock)
        {
            orphans = _orphans;
            _orphans = [];
        }

        foreach (var (id, keys) in orphans)
        {
            foreach (var key in keys)
            {
                await bucket.DeleteAsync(key, stop).ConfigureAwait(false);
            }

            _bucketMetrics!.Deleted("orphan");
            _options.Log?.Invoke($"storage: deleted {keys.Count} part file(s) of block {id} from object storage: an upload cut short left them without a meta more than {_options.BucketOrphanGrace} ago");
        }

        var abandoned = await bucket.RemoveAbandonedWritesAsync(_options.Time.GetUtcNow() - _options.BucketOrphanGrace, stop).ConfigureAwait(false);
        if (abandoned > 0)
        {
            _bucketMetrics!.Deleted("abandoned", abandoned);
            _options.Log?.Invoke($"storage: removed {abandoned} unfinished write(s) from object storage started more than {_options.BucketOrphanGrace} ago (multipart uploads or temporaries of a crashed put)");
        }
    }
}
