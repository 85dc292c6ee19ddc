using Parca.Symbols.Demangling;

namespace Parca.Server.Debuginfo;

/// <summary>The debuginfo flags of the server, in one place for the store, the debuginfod client and the symbolizer.</summary>
internal sealed record DebuginfoOptions
{
    /// <summary>&lt;--storage-path&gt;/debuginfo: uploads and metadata.</summary>
    public required string BucketDirectory { get; init; }

    /// <summary>--debuginfo-cache-dir: debug files fetched from a non-local bucket are kept here while in use.</summary>
    public required string CacheDirectory { get; init; }

    public long UploadMaxSize { get; init; } = 1_000_000_000;

    public TimeSpan UploadMaxDuration { get; init; } = TimeSpan.FromMinutes(15);

    public IReadOnlyList<string> DebuginfodServers { get; init; } = [];

    public TimeSpan DebuginfodTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long "no upstream has it" is remembered before debuginfod is asked again.</summary>
    public TimeSpan DebuginfodNegativeCacheDuration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long the symbolizer trusts "no debuginfo for this build id" (or "the bucket did not answer") before it looks
    /// in the bucket again: uploads to another server on the same object storage arrive without an event here.
    /// </summary>
    public TimeSpan MissingRecheck { get; init; } = TimeSpan.FromMinutes(10);

    public DemangleMode DemangleMode { get; init; } = DemangleMode.Simple;

    /// <summary>DWARF and symbol tables of open debug files held at once; least recently used files are closed beyond it.</summary>
    public long OpenFilesBudgetBytes { get; init; } = 2L << 30;

    /// <summary>Where answers are persisted per build id (&lt;--storage-path&gt;/debuginfo-symbols); null: memory only.</summary>
    public string? SymbolCacheDirectory { get; init; }

    /// <summary>Symbolized (build id, address) results kept in memory.</summary>
    public int MaxCachedAddresses { get; init; } = 4_000_000;
}
