namespace Parca.Scrape;

/// <summary>
/// Where scraped profiles go: the same ingest path as <c>ProfileStoreService.WriteRaw</c>. The storage ingest
/// implements it in <c>--mode=all</c>; the gRPC forwarder implements it in <c>--mode=scraper-only</c>/<c>forwarder</c>.
/// </summary>
public interface IProfileWriter
{
    /// <summary>
    /// Writes one raw pprof profile (gzipped or not) as one series.
    /// </summary>
    /// <param name="labels">The series labels sorted by name, including <c>__name__</c> (the profile name).</param>
    /// <param name="pprof">The profile bytes exactly as <c>RawSample.raw_profile</c> carries them. The memory is pooled:
    /// it is valid only until the returned task completes, so an implementation that keeps it must copy it.</param>
    /// <param name="executableInfos">From the profile's <c>executableInfo=</c> comments (<c>RawSample.executable_info</c>).</param>
    ValueTask WriteRawAsync(
        IReadOnlyList<KeyValuePair<string, string>> labels,
        ReadOnlyMemory<byte> pprof,
        IReadOnlyList<ExecutableInfo> executableInfos,
        CancellationToken cancellationToken);
}

/// <summary>
/// A writer that also takes the scraper's decoded profile (the storage ingest), so a scraped profile is decoded once.
/// </summary>
internal interface IDecodedProfileWriter
{
    /// <param name="decoded">the decoded form of <paramref name="pprof"/>, borrowed until the returned task completes.</param>
    ValueTask WriteDecodedAsync(
        IReadOnlyList<KeyValuePair<string, string>> labels,
        ReadOnlyMemory<byte> pprof,
        Pprof.FlatProfile decoded,
        IReadOnlyList<ExecutableInfo> executableInfos,
        CancellationToken cancellationToken);
}

/// <summary><c>parca.profilestore.v1alpha1.ExecutableInfo</c>: ELF type and the load segment's offset and vaddr.</summary>
public readonly record struct ExecutableInfo(uint ElfType, ulong Offset, ulong VAddr);
