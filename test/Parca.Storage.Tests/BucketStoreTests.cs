using Parca.Storage.Buckets;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// The store on a bucket (the FILESYSTEM bucket here; the same code runs against radosgw in
/// Parca.Server.Tests.ObjectStorageTests): uploads on cut, discovery by another store, range reads of only the
/// sections a query needs, invisible partial uploads, and no double replay after a crash between upload and
/// segment deletion.
/// </summary>
public sealed class BucketStoreTests : IDisposable
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-bucket-store-");

    private string Sub(string name) => Path.Combine(_dir.FullName, name);

    private StorageOptions Ingest(string name) => new()
    {
        Path = Sub(name),
        WalEnabled = true,
        Bucket = new FilesystemBucket(Sub("bucket")),
        BucketSyncInterval = TimeSpan.FromMilliseconds(200),
        BucketDeleteDelay = TimeSpan.Zero,
        Retention = TimeSpan.Zero,
    };

    private StorageOptions Query() => new()
    {
        QueryOnly = true,
        Bucket = new FilesystemBucket(Sub("bucket")),
        BucketSyncInterval = TimeSpan.FromMilliseconds(200),
        Retention = TimeSpan.Zero,
    };

    [Fact]
    public async Task A_query_store_reads_uploaded_blocks_fetching_samples_only_when_a_merge_needs_them()
    {
        using (var ingest = new ProfileStore(Ingest("a")))
        {
            ingest.Append(Cpu, s_job, CpuProfile(1_000, ("main;work", 3), ("main;idle", 4)));
            ingest.Append(Cpu, s_job, CpuProfile(2_000, ("main;work", 5)));
            await ingest.FlushAsync();
        }

        using var query = new ProfileStore(Query());
        var remote = Assert.Single(query.Partitions.OfType<RemoteBlockPartition>());
        var view = remote.View();
        Assert.Equal(4, view.RowCount); // 2 profiles × 2 sample types
        Assert.Equal(1, query.BlockCache!.Misses); // series and rows only: QueryRange reads no more
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 8, ["main;idle"] = 4 }, ReadStacks(view, 0));
        Assert.Equal(2, query.BlockCache.Misses); // now symbols, stacks and samples
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 8, ["main;idle"] = 4 }, ReadStacks(remote.View(), 0));
        Assert.Equal(2, query.BlockCache.Misses);
        Assert.True(query.BlockCache.Hits >= 2);
        Assert.Throws<StorageBusyException>(() => query.Append(Cpu, s_job, CpuProfile(3_000, ("main", 1))));
    }

    [Fact]
    public async Task A_block_whose_meta_was_never_written_stays_invisible()
    {
        using (var ingest = new ProfileStore(Ingest("a")))
        {
            ingest.Append(Cpu, s_job, CpuProfile(1_000, ("main;work", 3)));
            await ingest.FlushAsync();
        }

        // What an upload cut short leaves: the part file without its meta object.
        var meta = Directory.GetFiles(Path.Combine(Sub("bucket"), "blocks"), "meta.json", SearchOption.AllDirectories).Single();
        File.Delete(meta);
        using var query = new ProfileStore(Query());
        Assert.Empty(query.Partitions.OfType<RemoteBlockPartition>());
    }

    [Fact]
    public async Task A_crash_between_upload_and_segment_deletion_replays_nothing_twice()
    {
        var options = Ingest("a");
        options.FlushOnDispose = false;
        string saved;
        using (var ingest = new ProfileStore(options))
        {
            ingest.Append(Cpu, s_job, CpuProfile(1_000, ("main;work", 3)));
            ingest.Append(Cpu, s_job, CpuProfile(2_000, ("main;idle", 4)));
            saved = Sub("wal-copy");
            CopyDirectory(Path.Combine(Sub("a"), "wal"), saved);
            await ingest.FlushAsync(); // uploads, then deletes the segments
        }

        // The segments are back, as if the process died right after the upload.
        CopyDirectory(saved, Path.Combine(Sub("a"), "wal"));
        options = Ingest("a");
        using var again = new ProfileStore(options);
        Assert.Equal(0, again.ReplayedProfiles);
        var remote = Assert.Single(again.Partitions.OfType<RemoteBlockPartition>());
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 3, ["main;idle"] = 4 }, ReadStacks(remote.View(), 0));
        Assert.True(again.Partitions.Where(p => p is not RemoteBlockPartition).All(p => p.View().RowCount == 0));
    }

    [Fact]
    public async Task The_lease_holder_merges_blocks_in_the_bucket_and_readers_count_them_once()
    {
        var options = Ingest("a");
        options.BlockDuration = TimeSpan.FromSeconds(1);
        using (var ingest = new ProfileStore(options))
        {
            ingest.Append(Cpu, s_job, CpuProfile(1_000, ("main;work", 3)));
            await ingest.FlushAsync();
            ingest.Append(Cpu, s_job, CpuProfile(2_000, ("main;work", 5), ("main;idle", 4)));
            await ingest.FlushAsync();
            var metas = Path.Combine(Sub("bucket"), "blocks");
            for (var i = 0; i < 300 && !(Directory.GetFiles(metas, "meta.json", SearchOption.AllDirectories) is [var only] && only.Contains("compacted", StringComparison.Ordinal)); i++)
            {
                await Task.Delay(100);
            }

            Assert.True(ingest.HoldsCompactorLease);
        }

        var meta = Assert.Single(Directory.GetFiles(Path.Combine(Sub("bucket"), "blocks"), "meta.json", SearchOption.AllDirectories));
        Assert.Contains("compacted", meta, StringComparison.Ordinal);
        using var query = new ProfileStore(Query());
        var remote = Assert.Single(query.Partitions.OfType<RemoteBlockPartition>());
        var view = remote.View();
        Assert.Equal(4, view.RowCount);
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 8, ["main;idle"] = 4 }, ReadStacks(view, 0));
    }

    [Fact]
    public async Task Parts_left_by_an_upload_cut_short_go_after_the_grace_while_younger_ones_and_whole_blocks_stay()
    {
        using (var ingest = new ProfileStore(Ingest("a")))
        {
            ingest.Append(Cpu, s_job, CpuProfile(1_000, ("main;work", 3)));
            await ingest.FlushAsync();
        }

        // A FILESYSTEM bucket's LastModified is the file's mtime: make the whole block old, and leave what crashes leave.
        var bucket = Sub("bucket");
        var old = DateTime.UtcNow.AddHours(-2);
        var whole = Directory.GetFiles(Path.Combine(bucket, "blocks"), "*", SearchOption.AllDirectories);
        foreach (var f in whole)
        {
            File.SetLastWriteTimeUtc(f, old);
        }

        string Put(string key, DateTime modified)
        {
            var path = Path.Combine(bucket, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "left behind");
            File.SetLastWriteTimeUtc(path, modified);
            return path;
        }

        var orphan = new[] { Put("blocks/dead00000000/0000000100000002-0badf00d/00.prcb", old), Put("blocks/dead00000000/0000000100000002-0badf00d/01.prcb", old) };
        var young = Put("blocks/dead00000000/0000000300000004-0badcafe/00.prcb", DateTime.UtcNow);
        var staleTemp = Put("debuginfo/abcd/debuginfo.0123456789abcdef0123456789abcdef.tmp", old);
        var youngTemp = Put("debuginfo/ef01/debuginfo.0123456789abcdef0123456789abcdef.tmp", DateTime.UtcNow);

        var log = new List<string>();
        var options = Ingest("a");
        options.Log = line => { lock (log) { log.Add(line); } };
        using (var keeper = new ProfileStore(options))
        {
            for (var i = 0; i < 300 && (File.Exists(orphan[0]) || File.Exists(staleTemp)); i++)
            {
                await Task.Delay(100);
            }
        }

        Assert.All(orphan, f => Assert.False(File.Exists(f), f));
        Assert.False(File.Exists(staleTemp));
        Assert.True(File.Exists(young));
        Assert.True(File.Exists(youngTemp));
        Assert.All(whole, f => Assert.True(File.Exists(f), f));
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("deleted 2 part file(s) of block dead00000000/0000000100000002-0badf00d", StringComparison.Ordinal));
            Assert.Contains(log, l => l.Contains("removed 1 unfinished write(s)", StringComparison.Ordinal));
        }

        using var query = new ProfileStore(Query());
        var remote = Assert.Single(query.Partitions.OfType<RemoteBlockPartition>());
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 3 }, ReadStacks(remote.View(), 0));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)), overwrite: true);
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
