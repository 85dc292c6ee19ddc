using Parca.Storage.Buckets;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// The other half of orphan collection: an upload whose parts took longer than half of the orphan grace must not
/// write its meta (the lease holder may already be deleting those parts); it starts over as a new block.
/// </summary>
public sealed class BucketUploadGuardTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-bucket-guard-");

    [Fact]
    public async Task An_upload_slower_than_half_the_grace_starts_over_as_a_new_block_and_leaves_no_parts()
    {
        var bucketDir = Path.Combine(_dir.FullName, "bucket");
        var log = new List<string>();
        var options = new StorageOptions
        {
            Path = Path.Combine(_dir.FullName, "a"),
            WalEnabled = true,
            Bucket = new StallingBucket(new FilesystemBucket(bucketDir), TimeSpan.FromSeconds(3)),
            BucketSyncInterval = TimeSpan.FromMilliseconds(200),
            BucketOrphanGrace = TimeSpan.FromSeconds(4),
            Retention = TimeSpan.Zero,
            Log = line => { lock (log) { log.Add(line); } },
        };
        using (var ingest = new ProfileStore(options))
        {
            ingest.Append(Cpu, LabelSet.From(("job", "api")), CpuProfile(1_000, ("main;work", 3), ("main;idle", 4)));
            await ingest.FlushAsync(); // completes once an upload got through
        }

        var meta = Assert.Single(Directory.GetFiles(bucketDir, "meta.json", SearchOption.AllDirectories));
        var folder = Path.GetDirectoryName(meta)!;
        Assert.All(Directory.GetFiles(Path.Combine(bucketDir, "blocks"), "*", SearchOption.AllDirectories), f => Assert.Equal(folder, Path.GetDirectoryName(f)));
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("more than half of the orphan grace (4s); it starts over as a new block", StringComparison.Ordinal));
        }

        using var query = new ProfileStore(new StorageOptions { QueryOnly = true, Bucket = new FilesystemBucket(bucketDir), Retention = TimeSpan.Zero });
        var remote = Assert.Single(query.Partitions.OfType<RemoteBlockPartition>());
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 3, ["main;idle"] = 4 }, ReadStacks(remote.View(), 0));
    }

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>The real FILESYSTEM bucket, except that the first put of a part file stalls (a slow link, as a test double).</summary>
    private sealed class StallingBucket(FilesystemBucket inner, TimeSpan stall) : IObjectBucket
    {
        private int _stalled;

        public string Description => inner.Description;

        public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (key.EndsWith(".prcb", StringComparison.Ordinal) && Interlocked.Exchange(ref _stalled, 1) == 0)
            {
                await Task.Delay(stall, cancellationToken);
            }

            await inner.PutAsync(key, data, cancellationToken);
        }

        public Task<long> PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamAsync(key, content, cancellationToken);

        public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

        public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) => inner.GetRangeAsync(key, offset, length, cancellationToken);

        public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => inner.ExistsAsync(key, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

        public Task<IReadOnlyList<BucketObject>> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task<int> RemoveAbandonedWritesAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken = default) => inner.RemoveAbandonedWritesAsync(startedBefore, cancellationToken);
    }
}
