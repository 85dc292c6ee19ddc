namespace Parca.Storage;

/// <summary>Settings of the profile store (the server fills them from its --storage-* flags).</summary>
public sealed class StorageOptions
{
    /// <summary>Directory for block files (<c>&lt;path&gt;/blocks</c>); null keeps blocks in memory only.</summary>
    public string? Path { get; set; }

    /// <summary>Bound of the mutable head in bytes (--storage-active-memory); when reached the head is compacted.</summary>
    public long ActiveMemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Blocks whose newest profile is older than this are deleted (--storage-retention); zero keeps everything.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Largest time span of one head/block; a head spanning more is compacted.</summary>
    public TimeSpan BlockDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Compact the head into a block on dispose so a restart finds the data (graceful shutdown).</summary>
    public bool FlushOnDispose { get; set; } = true;

    /// <summary>
    /// Log every append to &lt;path&gt;/wal before it is acknowledged and replay the log at start-up
    /// (--storage-enable-wal): a crash or kill then loses nothing that was acknowledged. Needs <see cref="Path"/>.
    /// </summary>
    public bool WalEnabled { get; set; }

    /// <summary>
    /// Turns the source bytes given to <see cref="ProfileStore.Append(string, LabelSet, Ingest.IngestProfile, ReadOnlySpan{byte})"/>
    /// (with the profile's executable infos) back into the profile, at replay. The server logs the pprof bytes it
    /// received (smaller than the decoded profile, and nothing to encode) and decodes them again here. Without it the
    /// log holds decoded profiles.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, IReadOnlyList<Ingest.ExecutableInfo>?, Ingest.IngestProfile>? WalSourceDecoder { get; set; }

    public TimeProvider Time { get; set; } = TimeProvider.System;
}
