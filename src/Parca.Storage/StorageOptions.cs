namespace Parca.Storage;

/// <summary>Settings of the profile store (the server fills them from its --storage-* flags).</summary>
public sealed class StorageOptions
{
    /// <summary>Directory for block files (<c>&lt;path&gt;/blocks</c>); null keeps blocks in memory only.</summary>
    public string? Path { get; set; }

    /// <summary>Bound of the mutable head in bytes (--storage-active-memory); when reached the head is compacted.</summary>
    public long ActiveMemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// Bound of the head plus the sealed heads still waiting for compaction (--storage-head-memory-limit); zero means
    /// four times <see cref="ActiveMemoryBytes"/>, at least 256 MiB. Past it ingest is refused (<see cref="StorageBusyException"/>)
    /// instead of memory growing while compaction cannot make progress.
    /// </summary>
    public long HeadMemoryLimitBytes { get; set; }

    /// <summary>Most series the head holds (--ingest-max-active-series); appends creating more are refused. 0: no limit.</summary>
    public int MaxActiveSeries { get; set; }

    /// <summary>Blocks whose newest profile is older than this are deleted (--storage-retention); zero keeps everything.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How far ahead of the server's clock a profile's time may be (--storage-max-future-skew); later ones are
    /// refused. Zero accepts any future time.
    /// </summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A head is sealed and compacted after being open this long (server clock); a block spans at most twice this
    /// in profile time (profiles further apart go to separate blocks, so one odd timestamp cannot pin a block).
    /// </summary>
    public TimeSpan BlockDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>First wait before a failed compaction is retried; doubled per failure up to one minute.</summary>
    public TimeSpan CompactionRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Compact the head into a block on dispose so a restart finds the data (graceful shutdown).</summary>
    public bool FlushOnDispose { get; set; } = true;

    /// <summary>
    /// Log every append to &lt;path&gt;/wal before it is acknowledged and replay the log at start-up
    /// (--storage-enable-wal): a crash or kill then loses nothing that was acknowledged. Needs <see cref="Path"/>.
    /// </summary>
    public bool WalEnabled { get; set; }

    /// <summary>What to do with log segments found at start-up while the log is off (--storage-wal-leftover).</summary>
    public WalLeftoverPolicy WalLeftover { get; set; } = WalLeftoverPolicy.Refuse;

    /// <summary>
    /// Receives one line per storage event an operator must know about while running (disk full and recovered,
    /// a failed compaction, what a shutdown could not write). Start-up problems are in <see cref="ProfileStore.LoadErrors"/>.
    /// </summary>
    public Action<string>? Log { get; set; }

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Where the store's instruments are created (the server's, so /metrics exports them); null: a meter of its own.</summary>
    public System.Diagnostics.Metrics.IMeterFactory? Meters { get; set; }

    /// <summary>
    /// Object storage shared by several servers (parca.yaml <c>object_storage.bucket</c> of type S3): blocks cut from
    /// the head are uploaded there before the log segments they hold are deleted, and blocks of every server are
    /// discovered and read from there. Null keeps blocks under <see cref="Path"/>.
    /// </summary>
    public Buckets.IObjectBucket? Bucket { get; set; }

    /// <summary>How often the bucket is listed for new blocks (--object-storage-sync-interval): the bound on how late a query server sees them.</summary>
    public TimeSpan BucketSyncInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long blocks a compacted block supersedes stay in the bucket after the lease holder first finds them covered
    /// (--object-storage-delete-delay). Every reader counts each input once, so keeping them costs only bucket space,
    /// while a server whose last listing predates the merge can still read them. Zero deletes at the next pass.
    /// </summary>
    public TimeSpan BucketDeleteDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Bytes of decoded cold-block sections kept locally (--object-storage-cache-size).</summary>
    public long BucketCacheBytes { get; set; } = 512L << 20;

    /// <summary>How long start-up waits for the bucket to answer before giving up (the log cannot be replayed safely without it).</summary>
    public TimeSpan BucketStartupTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Take part in bucket compaction and retention (one server at a time, under the lease object).</summary>
    public bool BucketCompaction { get; set; } = true;

    /// <summary>
    /// How old the newest part of a block without a meta must be before the lease holder deletes the block's parts as
    /// the leftover of an upload cut short (and aborts multipart uploads and removes temporaries started this long ago).
    /// Uploads that take half of it start over, so it also tolerates clocks apart by up to half of it.
    /// </summary>
    public TimeSpan BucketOrphanGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Bound on the part files merged into one bucket block (the merge holds its inputs and the result in memory);
    /// blocks this large are final. See Buckets.BucketCompactionPlan for the levels and windows.
    /// </summary>
    public long BucketCompactionMaxBytes { get; set; } = 256L << 20;

    /// <summary>A query server (--mode=query): appends are refused, blocks come from the bucket only.</summary>
    public bool QueryOnly { get; set; }

    internal long EffectiveHeadMemoryLimit => HeadMemoryLimitBytes > 0 ? HeadMemoryLimitBytes : Math.Max(ActiveMemoryBytes * 4, 256L << 20);
}

/// <summary>Log segments present at start-up with the log disabled.</summary>
public enum WalLeftoverPolicy
{
    /// <summary>Refuse to start, saying why and what the choices are.</summary>
    Refuse,

    /// <summary>Replay them into a block, then delete them (and run without the log).</summary>
    Replay,

    /// <summary>Delete them (their profiles are lost; the log line says how many segments).</summary>
    Discard,
}
