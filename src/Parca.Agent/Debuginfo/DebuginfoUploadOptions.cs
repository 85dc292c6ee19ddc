namespace Parca.Agent.Debuginfo;

/// <summary>The agent's --debuginfo-* upload flags.</summary>
internal sealed record DebuginfoUploadOptions
{
    /// <summary>--debuginfo-directories: where separate debug files are found by build id and .gnu_debuglink.</summary>
    public IReadOnlyList<string> Directories { get; init; } = ["/usr/lib/debug"];

    /// <summary>--debuginfo-temp-dir: extracts are written here before upload, then deleted.</summary>
    public string TempDirectory { get; init; } = "/tmp";

    /// <summary>--debuginfo-strip: upload only the sections symbolization needs.</summary>
    public bool Strip { get; init; } = true;

    /// <summary>--debuginfo-compress: DWARF sections as SHF_COMPRESSED (zlib).</summary>
    public bool Compress { get; init; }

    /// <summary>--debuginfo-upload-max-parallel.</summary>
    public int MaxParallel { get; init; } = 25;

    /// <summary>--debuginfo-upload-timeout-duration: one whole upload (ask, initiate, stream, finish).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>--debuginfo-upload-cache-duration: how long "the server has it" (or a failure) is remembered per build id.</summary>
    public TimeSpan CacheDuration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>--debuginfo-disable-caching: ask the server again whenever the build id is seen (in-flight work is still deduplicated).</summary>
    public bool DisableCaching { get; init; }

    /// <summary>Files waiting for a worker; more are dropped (counted) and retried when seen again.</summary>
    public int QueueCapacity { get; init; } = 4096;
}
